"""Open, create, read and repair an episode store (layout in schema.py).

Reading never loads whole arrays: every accessor slices the Zarr arrays, so only the chunks of the requested
steps are read. Writing new episodes goes through `EpisodeStore.recorder()` (writer.py).
"""

import json
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zarr

from srpo.errors import StoreError
from srpo.store.layout import append_episode_meta, committed_episodes, is_store, store_errors
from srpo.store.schema import (
    IMAGE_COMPRESSOR,
    LOWDIM_CHUNK,
    LOWDIM_COMPRESSOR,
    META_ARRAYS,
    PENDING_ATTR,
    SCHEMA_VERSION,
    SOURCES,
    STATUSES,
    UNLABELLED,
    KeySpec,
    StoreConfig,
    data_keys,
)
from srpo.store.writer import FLUSH_EVERY, EpisodeWriter

log = logging.getLogger(__name__)


EPISODE_META_ATTR = "episode_meta"  # meta attrs: {episode index: {key: value}} (EpisodeInfo.meta)


@dataclass(frozen=True)
class EpisodeInfo:
    """Per-episode metadata."""

    index: int  # episode number in the store
    start: int  # first step (global index into data/)
    end: int  # one past the last step
    success: bool | None  # None: not labelled
    task: str  # task instruction
    source: str  # teleop | policy | sim | rosbag
    start_time: float  # UNIX seconds
    status: str  # complete | incomplete | aborted
    note: str | None = None  # why an episode is incomplete or aborted
    meta: dict = field(default_factory=dict)  # free per-episode facts, e.g. {"operator": "early_close"} (sim recordings)

    @property
    def length(self) -> int:
        return self.end - self.start


class EpisodeStore:
    """An episode store on disk. Use `create` for a new one and `open` for an existing one."""

    def __init__(self, root: zarr.Group, path: Path, mode: str):
        self.root = root
        self.path = path
        self.mode = mode
        self.config = StoreConfig.from_attrs(dict(root.attrs))
        self.keys: dict[str, KeySpec] = data_keys(self.config)
        self.data = root["data"]
        self.meta = root["meta"]

    # ---------------------------------------------------------------- create / open
    @classmethod
    def create(cls, path: str | Path, config: StoreConfig, exist_ok: bool = False,
               image_compressor=None) -> "EpisodeStore":
        """Create an empty store for `config`. With exist_ok, an existing store with the same keys is opened.

        image_compressor (a numcodecs codec) overrides schema.IMAGE_COMPRESSOR; benchmarks/store_write.py uses it
        to compare codecs. Readers need nothing: the codec is recorded in each array's .zarray.
        """
        path = Path(path)
        image_compressor = IMAGE_COMPRESSOR if image_compressor is None else image_compressor
        occupied = path.is_file() or (path.is_dir() and any(path.iterdir()))
        if occupied:
            if exist_ok and is_store(path):
                store = cls.open(path, mode="a")
                if set(store.keys) != set(data_keys(config)):
                    raise StoreError(
                        f"{path} already holds a store with keys {sorted(store.keys)}, which differ from the "
                        f"requested {sorted(data_keys(config))}. Record into a new path."
                    )
                return store
            raise StoreError(f"{path} already exists. Choose a new path, or open it to append episodes.")
        if not config.cameras:
            raise StoreError("a store needs at least one camera (StoreConfig.cameras is empty)")
        with store_errors("creating", path):
            root = zarr.open_group(str(path), mode="w", zarr_format=2)
            root.attrs.update(config.to_attrs())
            data = root.create_group("data")
            for key, spec in data_keys(config).items():
                chunks = (1, *spec.shape) if spec.image else (LOWDIM_CHUNK, *spec.shape)
                data.create_array(
                    key,
                    shape=(0, *spec.shape),
                    chunks=chunks,
                    dtype=spec.dtype,
                    compressors=image_compressor if spec.image else LOWDIM_COMPRESSOR,
                    fill_value=np.nan if key.endswith("timestamp") else 0,
                )
            meta = root.create_group("meta")
            meta.attrs.update({"tasks": [], "sources": list(SOURCES), "statuses": list(STATUSES), "notes": {}})
            meta.create_array("episode_ends", shape=(0,), chunks=(LOWDIM_CHUNK,), dtype=np.int64)
            for name, dtype in META_ARRAYS.items():
                meta.create_array(name, shape=(0,), chunks=(LOWDIM_CHUNK,), dtype=dtype)
            root.create_group("derived")
        return cls(root, path, "a")

    @classmethod
    def open(cls, path: str | Path, mode: str = "r", on_uncommitted: str = "recover") -> "EpisodeStore":
        """Open a store. mode "r" reads; "a" also appends, labels and repairs.

        on_uncommitted (mode "a" only) decides what happens to steps written after the last committed episode
        (a recorder that crashed or was killed): "recover" commits the fully written steps as one episode with
        status "incomplete" and no success label; "truncate" drops them; "error" refuses to open.
        In mode "r" such steps are ignored (reported by `uncommitted_steps`), never merged into an episode.
        """
        path = Path(path)
        if mode not in ("r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', not {mode!r}")
        if not path.exists():
            raise StoreError(f"{path} does not exist. Record episodes first (`srpo robot record --out {path}`).")
        if not is_store(path):
            raise StoreError(
                f"{path} is not an episode store (no .zgroup with meta/episode_ends). "
                "Point at the directory `srpo robot record --out` created."
            )
        root = zarr.open_group(str(path), mode="r" if mode == "r" else "r+", zarr_format=2)
        if root.attrs.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(
                f"{path} has schema version {root.attrs.get('schema_version')!r}; this code reads version "
                f"{SCHEMA_VERSION}. Convert it or use a matching release."
            )
        store = cls(root, path, mode)
        if mode == "a":
            with store_errors("repairing", path):
                store._reconcile(on_uncommitted)
        elif store.uncommitted_steps():
            log.warning(
                "%s: %d steps after the last committed episode are ignored (open with mode='a' to recover them)",
                path,
                store.uncommitted_steps(),
            )
        return store

    def recorder(self, task: str, source: str, flush_every: int = FLUSH_EVERY,
                 start_time: float | None = None) -> EpisodeWriter:
        """Start recording a new episode: returns an EpisodeWriter (see writer.py)."""
        return EpisodeWriter(self, task=task, source=source, flush_every=flush_every, start_time=start_time)

    # ---------------------------------------------------------------- crash recovery
    def _complete_pending_steps(self) -> int:
        """Steps after the last committed end that every data array holds in full."""
        end = self.num_steps
        lengths = [self.data[k].shape[0] for k in self.keys]
        upto = min(lengths)
        if upto <= end:
            return 0
        ts = self.data["timestamp"][end:upto]  # timestamp is written last: finite = step complete everywhere
        finite = np.isfinite(ts)
        return int(np.argmin(finite)) if not finite.all() else len(ts)

    def uncommitted_steps(self) -> int:
        """Rows past the last committed episode in any data array (left behind by a crash)."""
        return max(self.data[k].shape[0] for k in self.keys) - self.num_steps

    def recording_in_progress(self) -> dict | None:
        """The pending-episode record of a recorder that is still alive on this machine, else None."""
        info = self.meta.attrs.get(PENDING_ATTR)
        if not info or info.get("host") != socket.gethostname() or info.get("pid") in (None, os.getpid()):
            return None
        try:
            os.kill(int(info["pid"]), 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, owned by another user
        return info

    def _reconcile(self, on_uncommitted: str) -> None:
        live = self.recording_in_progress()
        if live:
            raise StoreError(
                f"{self.path} is being recorded into right now (pid {live['pid']}, task {live.get('task')!r}). "
                "Open it read-only, or wait until that recording ends, to label, repair or write to it."
            )
        n = self.num_episodes
        if self.meta["episode_ends"].shape[0] > n:  # a commit cut between growing episode_ends and writing it
            self.meta["episode_ends"].resize((n,))
        for name in META_ARRAYS:  # per-episode rows written before the commit of an episode that never came
            if self.meta[name].shape[0] > n:
                self.meta[name].resize((n,))
        notes = self.meta.attrs.get("notes", {})
        if any(int(i) >= n for i in notes):  # a note written for that episode
            self.meta.attrs["notes"] = {i: v for i, v in notes.items() if int(i) < n}
        extra = self.meta.attrs.get(EPISODE_META_ATTR, {})
        if any(int(i) >= n for i in extra):
            self.meta.attrs[EPISODE_META_ATTR] = {i: v for i, v in extra.items() if int(i) < n}
        pending = self.uncommitted_steps()
        if pending == 0:
            if PENDING_ATTR in self.meta.attrs:
                del self.meta.attrs[PENDING_ATTR]
            return
        complete = self._complete_pending_steps()
        if on_uncommitted == "error":
            raise StoreError(
                f"{self.path}: {pending} steps after the last committed episode ({complete} complete) were left by "
                "an interrupted recording. Open with on_uncommitted='recover' or 'truncate' to decide."
            )
        end = self.num_steps
        if on_uncommitted == "recover" and complete > 0:
            info = dict(self.meta.attrs.get(PENDING_ATTR) or {})
            new_end = end + complete
            self._truncate_data(new_end)
            append_episode_meta(
                self.meta,
                task=info.get("task", "unknown"),
                source=info.get("source", "teleop"),
                start_time=float(info.get("start_time", time.time())),
                success=None,
                status="incomplete",
                end=new_end,
                note="recovered after an interrupted recording",
            )
            log.warning("%s: recovered %d steps of an interrupted recording as incomplete episode %d",
                        self.path, complete, self.num_episodes - 1)
        else:
            if on_uncommitted not in ("recover", "truncate"):
                raise ValueError(f"on_uncommitted must be recover, truncate or error, not {on_uncommitted!r}")
            self._truncate_data(end)
            log.warning("%s: dropped %d uncommitted steps of an interrupted recording", self.path, pending)
        if PENDING_ATTR in self.meta.attrs:
            del self.meta.attrs[PENDING_ATTR]

    def _truncate_data(self, length: int) -> None:
        """Shrink every data array to `length` rows.

        Zarr keeps the rows past the new end inside a partially cut chunk, and they would reappear when the array
        grows again; a stale finite timestamp there would then pass for a fully written step. So the dropped rows
        of the (multi-row) low-dimensional chunks are overwritten with the fill value first; image chunks hold one
        frame each and are deleted whole by the resize.
        """
        for key, spec in self.keys.items():
            arr = self.data[key]
            old = arr.shape[0]
            if old == length:
                continue
            if old > length and not spec.image:
                arr[length:old] = arr.fill_value
            arr.resize((length, *spec.shape))

    # ---------------------------------------------------------------- episodes
    @property
    def episode_ends(self) -> np.ndarray:
        ends = self.meta["episode_ends"][:]
        return ends[: committed_episodes(ends)]

    @property
    def num_episodes(self) -> int:
        return committed_episodes(self.meta["episode_ends"])

    @property
    def num_steps(self) -> int:
        n = self.num_episodes
        return int(self.meta["episode_ends"][n - 1]) if n else 0

    @property
    def tasks(self) -> list[str]:
        return list(self.meta.attrs["tasks"])

    def episode_index(self, episode: int) -> int:
        """The index of an existing episode (negative counts from the end); raises StoreError otherwise."""
        n = self.num_episodes
        if not -n <= episode < n:
            raise StoreError(f"episode {episode} does not exist: {self.path} holds {n} episodes (0..{n - 1})")
        return episode % n

    def episode_bounds(self, episode: int) -> tuple[int, int]:
        """(start, end) of an episode as global step indices into data/."""
        episode = self.episode_index(episode)
        ends = self.meta["episode_ends"]
        start = int(ends[episode - 1]) if episode > 0 else 0
        return start, int(ends[episode])

    def episodes(self) -> list[EpisodeInfo]:
        """Metadata of every committed episode (reads only meta/)."""
        n = self.num_episodes
        ends = self.episode_ends
        starts = np.concatenate([[0], ends[:-1]]).astype(int)
        cols = {name: self.meta[name][:n] for name in META_ARRAYS}
        tasks = self.tasks
        notes = self.meta.attrs.get("notes", {})
        extra = self.meta.attrs.get(EPISODE_META_ATTR, {})
        return [
            EpisodeInfo(
                index=i,
                start=int(starts[i]),
                end=int(ends[i]),
                success=None if cols["success"][i] == UNLABELLED else bool(cols["success"][i]),
                task=tasks[int(cols["task_index"][i])],
                source=SOURCES[int(cols["source"][i])],
                start_time=float(cols["start_time"][i]),
                status=STATUSES[int(cols["status"][i])],
                note=notes.get(str(i)),
                meta=dict(extra.get(str(i), {})),
            )
            for i in range(n)
        ]

    def _resolve_keys(self, keys: list[str] | None) -> list[str]:
        if keys is None:
            return list(self.keys)
        unknown = [k for k in keys if k not in self.data]
        if unknown:
            raise StoreError(f"{self.path} has no data keys {unknown}; it holds {sorted(self.data.array_keys())}")
        return list(keys)

    def steps(self, episode: int, start: int = 0, stop: int | None = None,
              keys: list[str] | None = None) -> dict[str, np.ndarray]:
        """Steps [start, stop) of one episode (episode-relative indices), reading only those chunks."""
        first, end = self.episode_bounds(episode)
        length = end - first
        stop = length if stop is None else min(stop, length)
        if not 0 <= start <= stop:
            raise StoreError(f"step range [{start}, {stop}) is outside episode {episode} of length {length}")
        return {k: self.data[k][first + start : first + stop] for k in self._resolve_keys(keys)}

    def episode(self, episode: int, keys: list[str] | None = None) -> dict[str, np.ndarray]:
        """All steps of one episode."""
        return self.steps(episode, keys=keys)

    def window(self, episode: int, start: int, length: int,
               keys: list[str] | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """A fixed-length window from `start`; past the episode's end the last step repeats.

        Returns (arrays, is_pad) with is_pad[j] True where step j is padding (the convention LeRobot uses for
        action chunks that run past an episode's end).
        """
        first, end = self.episode_bounds(episode)
        ep_len = end - first
        if not 0 <= start < ep_len:
            raise StoreError(f"window start {start} is outside episode {episode} of length {ep_len}")
        stop = min(start + length, ep_len)
        out = {}
        for k in self._resolve_keys(keys):
            block = self.data[k][first + start : first + stop]
            if stop - start < length:
                pad = np.repeat(block[-1:], length - (stop - start), axis=0)
                block = np.concatenate([block, pad], axis=0)
            out[k] = block
        is_pad = np.arange(length) >= stop - start
        return out, is_pad

    def window_index(self, length: int, stride: int = 1, full_only: bool = False) -> np.ndarray:
        """(episode, start) pairs of every window, shape [N, 2]; full_only drops windows that need padding."""
        rows = []
        for i, (start, end) in enumerate(zip(np.concatenate([[0], self.episode_ends[:-1]]), self.episode_ends)):
            ep_len = int(end - start)
            last = ep_len - length if full_only else ep_len - 1
            starts = np.arange(0, max(last + 1, 0), stride)
            rows.append(np.stack([np.full_like(starts, i), starts], axis=1))
        return np.concatenate(rows) if rows else np.zeros((0, 2), dtype=int)

    # ---------------------------------------------------------------- labels and derived values
    def require_writable(self, what: str) -> None:
        """Raise a StoreError saying how to reopen unless the store was opened for writing."""
        if self.mode != "a":
            raise StoreError(f"{what} needs the store opened for writing: EpisodeStore.open(path, mode='a')")

    def set_success(self, episode: int, success: bool | None) -> None:
        """Label an episode a success (True), a failure (False) or unlabelled (None)."""
        self.require_writable("labelling")
        episode = self.episode_index(episode)
        with store_errors("labelling", self.path):
            self.meta["success"][episode] = UNLABELLED if success is None else int(bool(success))

    def set_episode_meta(self, episode: int, **values) -> None:
        """Attach JSON-serialisable facts to an episode (EpisodeInfo.meta), e.g. which scripted operator drove it."""
        self.require_writable("writing episode meta")
        episode = self.episode_index(episode)
        with store_errors("writing episode meta", self.path):
            extra = dict(self.meta.attrs.get(EPISODE_META_ATTR, {}))
            extra[str(episode)] = {**extra.get(str(episode), {}), **values}
            self.meta.attrs[EPISODE_META_ATTR] = extra

    def success_labels(self) -> np.ndarray:
        """int8 per episode: 1 success, 0 failure, -1 unlabelled."""
        return self.meta["success"][: self.num_episodes]

    def write_derived(self, name: str, arrays: dict[str, np.ndarray], provenance: dict,
                      overwrite: bool = False) -> None:
        """Store per-step values computed from the recording under derived/<name>, with their provenance.

        Every array must have one row per committed step. The provenance records what produced them and the
        episode_ends they were computed for, so stale results are detected after more episodes are recorded.
        Recorded observations are never touched.
        """
        self.require_writable("writing derived values")
        derived = self.root.require_group("derived")
        if name in derived and not overwrite:
            raise StoreError(f"derived/{name} already exists in {self.path}; pick another name or overwrite it")
        for key, arr in arrays.items():
            if len(arr) != self.num_steps:
                raise StoreError(f"derived array {key!r} has {len(arr)} rows; the store has {self.num_steps} steps")
        with store_errors("writing derived values to", self.path):
            group = derived.create_group(name, overwrite=True)
            for key, arr in arrays.items():
                arr = np.asarray(arr)
                group.create_array(key, data=arr, chunks=(LOWDIM_CHUNK, *arr.shape[1:]),
                                   compressors=LOWDIM_COMPRESSOR)
            group.attrs.update(
                {
                    "provenance": json.loads(json.dumps(provenance, default=str)),
                    "episode_ends": self.episode_ends.tolist(),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                }
            )

    def derived_runs(self) -> list[str]:
        return sorted(self.root["derived"].group_keys()) if "derived" in self.root else []

    def read_derived(self, name: str) -> tuple[dict[str, np.ndarray], dict]:
        """Arrays and attrs of derived/<name>; raises if missing or computed for other episodes."""
        runs = self.derived_runs()
        if name not in runs:
            hint = f"available: {', '.join(runs)}" if runs else "run `srpo reward compute` first"
            raise StoreError(f"{self.path} has no derived/{name} ({hint})")
        group = self.root["derived"][name]
        attrs = dict(group.attrs)
        if attrs.get("episode_ends") != self.episode_ends.tolist():
            raise StoreError(
                f"derived/{name} was computed for other episodes than {self.path} now holds "
                "(episodes were recorded or recovered since); recompute it with `srpo reward compute`."
            )
        return {k: group[k][:] for k in group.array_keys()}, attrs
