"""Check an episode store for every inconsistency, explaining each one.

The checks read the store with plain zarr (never through EpisodeStore, which refuses broken stores), so a store
that is half written, hand edited or produced by another tool is still diagnosed. Images are never decoded: image
arrays are checked by metadata and by which chunk files exist; every other array is read in full (a few floats
per step).
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import zarr

from srpo.store.episode_store import EpisodeStore
from srpo.store.layout import committed_episodes
from srpo.store.schema import (
    META_ARRAYS,
    PENDING_ATTR,
    SCHEMA_VERSION,
    SOURCES,
    STATUSES,
    UNLABELLED,
    StoreConfig,
    data_keys,
)


@dataclass(frozen=True)
class Problem:
    """One inconsistency found in a store."""

    severity: str  # "error": readers get wrong or no data; "warning": worth fixing, data still readable
    code: str  # short machine-readable kind, e.g. "length_mismatch"
    where: str  # the array, group or episode concerned
    message: str  # what is wrong and what to do about it

    def __str__(self) -> str:
        return f"{self.severity.upper():7s} [{self.code}] {self.where}: {self.message}"


@dataclass
class Report:
    """Everything `validate` found; `ok` is False when any error was found."""

    path: str  # the store checked
    problems: list[Problem]  # in the order found
    num_episodes: int = 0  # committed episodes (per meta/episode_ends)
    num_steps: int = 0  # committed steps

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {"path": self.path, "ok": self.ok, "num_episodes": self.num_episodes, "num_steps": self.num_steps,
                "problems": [asdict(p) for p in self.problems]}


def _runs(mask: np.ndarray, limit: int = 5) -> str:
    """'3, 7, 12 (and 40 more)' for the indices where mask is True."""
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    return shown + (f" (and {len(idx) - limit} more)" if len(idx) > limit else "")


def _episode_of(steps: np.ndarray, ends: np.ndarray) -> str:
    """'episode 2 step 5, ...' for global step indices."""
    out = []
    for s in steps[:5]:
        ep = int(np.searchsorted(ends, s, side="right"))
        start = int(ends[ep - 1]) if ep > 0 else 0
        out.append(f"episode {ep} step {int(s) - start}")
    more = f" (and {len(steps) - 5} more)" if len(steps) > 5 else ""
    return ", ".join(out) + more


def validate_store(path: str | Path) -> Report:
    """Every inconsistency of the store at `path`, as a Report (never raises for a broken store)."""
    path = Path(path)
    problems: list[Problem] = []
    report = Report(str(path), problems)

    def add(severity: str, code: str, where: str, message: str) -> None:
        problems.append(Problem(severity, code, where, message))

    if not path.is_dir():
        add("error", "not_a_store", str(path),
            "does not exist or is not a directory" if not path.exists() else "is a file, not a store directory")
        return report
    if not (path / ".zgroup").exists():
        add("error", "not_a_store", str(path), "no .zgroup: not a zarr format 2 group (is this the store root?)")
        return report
    try:
        root = zarr.open_group(str(path), mode="r", zarr_format=2)
    except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
        add("error", "unreadable", str(path), f"zarr cannot open it: {exc}")
        return report

    _check_partial_files(path, add)
    attrs = dict(root.attrs)
    if attrs.get("schema_version") != SCHEMA_VERSION:
        add("error", "schema_version", "attrs", f"schema_version is {attrs.get('schema_version')!r}, expected "
            f"{SCHEMA_VERSION}")
    try:
        config = StoreConfig.from_attrs(attrs)
    except Exception as exc:  # noqa: BLE001
        add("error", "bad_attrs", "attrs", f"root attrs do not describe the store's cameras/dims ({exc!r})")
        return report
    _check_calibration(config, add)

    for group in ("data", "meta"):
        if group not in root or not isinstance(root[group], zarr.Group):
            add("error", "missing_group", group, f"the store has no {group}/ group")
    if problems and any(p.code == "missing_group" for p in problems):
        return report
    data, meta = root["data"], root["meta"]

    ends = _check_episode_ends(meta, add)
    if ends is None:
        return report
    n_ep = len(ends)
    n_steps = int(ends[-1]) if n_ep else 0
    report.num_episodes, report.num_steps = n_ep, n_steps

    _check_meta(meta, n_ep, add)
    lowdim = _check_data(path, data, config, n_steps, ends, add)
    _check_values(lowdim, ends, n_steps, add)
    _check_derived(root, ends, n_steps, add)
    return report


def _check_partial_files(path: Path, add) -> None:
    partial = []
    for dirpath, _dirs, files in os.walk(path):
        partial += [os.path.join(dirpath, f) for f in files if f.endswith(".partial")]
    if partial:
        rel = ", ".join(os.path.relpath(p, path) for p in partial[:3])
        add("warning", "partial_files", str(path),
            f"{len(partial)} leftover temporary *.partial files ({rel}{', ...' if len(partial) > 3 else ''}) from a "
            "writer killed mid-write; the data never used them. Remove them with "
            "`srpo data validate PATH --repair recover`.")


def _check_calibration(config: StoreConfig, add) -> None:
    for cam in config.cameras:
        if cam.intrinsics is None:
            add("warning", "no_intrinsics", cam.name, "no intrinsics recorded (run `srpo calib intrinsics`)")
        elif not {"fx", "fy", "cx", "cy"} <= set(cam.intrinsics):
            add("error", "bad_intrinsics", cam.name, f"intrinsics lack fx/fy/cx/cy: {sorted(cam.intrinsics)}")
        if cam.extrinsics is not None:
            T = np.asarray(cam.extrinsics.get("T", []), dtype=float)
            if T.shape != (4, 4) or not np.allclose(T[3], [0, 0, 0, 1]):
                add("error", "bad_extrinsics", cam.name, "extrinsics T is not a 4x4 homogeneous transform")
            elif not np.allclose(T[:3, :3] @ T[:3, :3].T, np.eye(3), atol=1e-4):
                add("error", "bad_extrinsics", cam.name, "extrinsics rotation is not orthonormal")


def _check_episode_ends(meta: zarr.Group, add) -> np.ndarray | None:
    if "episode_ends" not in meta:
        add("error", "missing_array", "meta/episode_ends", "missing: the store has no committed-episode index")
        return None
    arr = meta["episode_ends"]
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        add("error", "bad_dtype", "meta/episode_ends", f"must be 1-D int64, is {arr.dtype} with shape {arr.shape}")
        return None
    if arr.dtype != np.int64:
        add("warning", "bad_dtype", "meta/episode_ends", f"is {arr.dtype}; the schema says int64")
    ends = arr[:].astype(np.int64)
    committed = committed_episodes(ends)
    if committed < len(ends):
        add("warning", "cut_commit", "meta/episode_ends",
            f"episode {committed} was being committed when its writer died; it does not count. "
            "`srpo data validate PATH --repair recover` keeps its steps as an incomplete episode.")
    ends = ends[:committed]
    diffs = np.diff(np.concatenate([[0], ends]))
    if (diffs < 0).any():
        add("error", "non_monotonic", "meta/episode_ends",
            f"decreases at episodes {_runs(diffs < 0)}: cumulative ends must never go down (ends={ends.tolist()[:10]})")
        return None
    if (diffs == 0).any():
        add("warning", "empty_episode", "meta/episode_ends", f"episodes {_runs(diffs == 0)} have no steps")
    return ends


def _check_meta(meta: zarr.Group, n_ep: int, add) -> None:
    for name, dtype in META_ARRAYS.items():
        where = f"meta/{name}"
        if name not in meta:
            add("error", "missing_array", where, f"missing (the schema keeps one {dtype} per episode)")
            continue
        arr = meta[name]
        if arr.dtype != dtype:
            add("error", "bad_dtype", where, f"dtype {arr.dtype}, the schema says {dtype}")
        if arr.shape[0] < n_ep:
            add("error", "meta_length", where, f"{arr.shape[0]} rows for {n_ep} episodes: episodes "
                f"{arr.shape[0]}..{n_ep - 1} have no {name}")
        elif arr.shape[0] > n_ep:
            add("warning", "meta_length", where, f"{arr.shape[0]} rows for {n_ep} episodes: the rest of an "
                "episode whose commit never finished; opening the store with mode 'a' drops it")
    tasks = meta.attrs.get("tasks")
    if not isinstance(tasks, list):
        add("error", "bad_attrs", "meta/attrs", "no task list ('tasks') in meta attrs")
        tasks = []
    ranges = {"success": (UNLABELLED, 1), "task_index": (0, len(tasks) - 1), "source": (0, len(SOURCES) - 1),
              "status": (0, len(STATUSES) - 1)}
    for name, (lo, hi) in ranges.items():
        if name not in meta:
            continue
        values = meta[name][:n_ep]
        bad = (values < lo) | (values > hi)
        if bad.any():
            add("error", "bad_value", f"meta/{name}", f"episodes {_runs(bad)} hold values outside {lo}..{hi}")
    if "success" in meta and "status" in meta:
        success, status = meta["success"][:n_ep], meta["status"][:n_ep]
        n = min(len(success), len(status))
        unlabelled = (success[:n] == UNLABELLED) & (status[:n] == STATUSES.index("complete"))
        if unlabelled.any():
            add("warning", "unlabelled", "meta/success",
                f"{int(unlabelled.sum())} complete episodes have no success label ({_runs(unlabelled)}); the "
                "reward needs them: `srpo data label PATH --episode N --success true|false`")
    if "start_time" in meta:
        st = meta["start_time"][:n_ep]
        if not np.isfinite(st).all():
            add("error", "bad_value", "meta/start_time", f"NaN/inf start time at episodes {_runs(~np.isfinite(st))}")
    notes = meta.attrs.get("notes", {})
    stale = [i for i in notes if not str(i).isdigit() or int(i) >= n_ep]
    if stale:
        add("warning", "stale_notes", "meta/attrs", f"notes for episodes that do not exist: {stale}")
    if PENDING_ATTR in meta.attrs:
        add("warning", "pending_episode", "meta/attrs",
            f"a recording was started ({meta.attrs[PENDING_ATTR]}) and never committed: either one is running "
            "now, or it was interrupted (open with mode 'a' / `validate --repair recover` to clear it)")


def _check_data(path: Path, data: zarr.Group, config: StoreConfig, n_steps: int, ends: np.ndarray,
                add) -> dict[str, np.ndarray]:
    """Keys, dtypes, shapes, lengths and image chunk files; returns the committed low-dim arrays."""
    expected = data_keys(config)
    present = set(data.array_keys())
    lowdim: dict[str, np.ndarray] = {}
    for key in sorted(present - set(expected)):
        add("warning", "unknown_key", f"data/{key}", "not in the schema of this store's config (ignored by readers)")
    for key, spec in expected.items():
        where = f"data/{key}"
        if key not in present:
            add("error", "missing_array", where, f"missing: the config implies a {spec.dtype} array of per-step "
                f"shape {spec.shape}")
            continue
        arr = data[key]
        if arr.dtype != spec.dtype:
            add("error", "bad_dtype", where, f"dtype {arr.dtype}, the schema says {spec.dtype}")
        if tuple(arr.shape[1:]) != spec.shape:
            add("error", "bad_shape", where, f"per-step shape {tuple(arr.shape[1:])}, the schema says {spec.shape}")
            continue
        length = arr.shape[0]
        if length < n_steps:
            add("error", "length_mismatch", where, f"{length} rows but meta/episode_ends commits {n_steps} steps: "
                f"episodes from step {length} on are missing data")
        elif length > n_steps:
            add("error", "uncommitted_steps", where,
                f"{length - n_steps} rows after the last committed episode (an interrupted recording). Open the "
                "store with mode 'a' or run `srpo data validate PATH --repair recover` to recover them as an "
                "incomplete episode (or `--repair truncate` to drop them)")
        if spec.image:
            if arr.chunks[0] != 1:
                add("warning", "chunking", where, f"chunks {arr.chunks}: images should be one frame per chunk")
            else:
                _check_image_chunks(path / "data" / key, arr, min(length, n_steps), add, where)
        else:
            lowdim[key] = arr[: min(length, n_steps)]
    return lowdim


def _check_image_chunks(folder: Path, arr: zarr.Array, n: int, add, where: str) -> None:
    """Frames with no chunk file read back as all zeros: legitimate for an all-black frame, suspicious en masse."""
    meta = json.loads((folder / ".zarray").read_text())
    sep = meta.get("dimension_separator", ".")
    tail = sep.join("0" for _ in arr.shape[1:])
    names = set(os.listdir(folder)) if folder.is_dir() else set()
    missing = [i for i in range(n) if f"{i}{sep}{tail}" not in names and not (folder / f"{i}/{tail}").exists()]
    if missing:
        add("warning", "missing_frames", where,
            f"{len(missing)} of {n} frames have no chunk on disk and read as all zeros (frames "
            f"{', '.join(map(str, missing[:5]))}{', ...' if len(missing) > 5 else ''})")


def _check_values(lowdim: dict[str, np.ndarray], ends: np.ndarray, n_steps: int, add) -> None:
    for key, values in lowdim.items():
        where = f"data/{key}"
        if len(values) < n_steps:
            continue  # already reported as length_mismatch
        flat = values.reshape(len(values), -1)
        bad = ~np.isfinite(flat).all(axis=1)
        if bad.any():
            what = "NaN/inf" if key == "action" else "NaN/inf (a step never fully written, or a sensor fault)"
            add("error", "non_finite", where, f"{what} at {_episode_of(np.flatnonzero(bad), ends)}")
        if key.endswith("timestamp") and len(values) > 1:
            back = np.diff(values) <= 0 if key == "timestamp" else np.diff(values) < 0
            cross = ends[(ends > 0) & (ends < n_steps)] - 1  # step pairs spanning two episodes may jump back
            back[cross] = False
            back &= np.isfinite(values[1:]) & np.isfinite(values[:-1])
            if back.any():
                msg = "does not increase" if key == "timestamp" else "goes backwards"
                add("error" if key == "timestamp" else "warning", "non_monotonic", where,
                    f"{msg} within an episode at {_episode_of(np.flatnonzero(back) + 1, ends)}")


def _check_derived(root: zarr.Group, ends: np.ndarray, n_steps: int, add) -> None:
    if "derived" not in root:
        return
    for name in sorted(root["derived"].group_keys()):
        group = root["derived"][name]
        where = f"derived/{name}"
        attrs = dict(group.attrs)
        if "provenance" not in attrs:
            add("warning", "no_provenance", where, "no provenance: nobody can tell what computed these values")
        if attrs.get("episode_ends") != ends.tolist():
            add("warning", "stale_derived", where,
                f"computed for {len(attrs.get('episode_ends') or [])} episodes / "
                f"{(attrs.get('episode_ends') or [0])[-1] if attrs.get('episode_ends') else 0} steps, the store "
                f"now holds {len(ends)} / {n_steps}: recompute it (`srpo reward compute`)")
            continue
        for key in group.array_keys():
            arr = group[key]
            if arr.shape[0] != n_steps:
                add("error", "length_mismatch", f"{where}/{key}", f"{arr.shape[0]} rows for {n_steps} steps")
            elif np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr[:]).all():
                add("warning", "non_finite", f"{where}/{key}", "holds NaN/inf values")


def repair_store(path: str | Path, uncommitted: str = "recover") -> list[str]:
    """Fix what an interrupted recording leaves: uncommitted steps (recovered as an incomplete episode, or
    truncated), half-committed meta rows, and temporary *.partial files. Returns what was done."""
    done = []
    path = Path(path)
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            if name.endswith(".partial"):
                os.remove(os.path.join(dirpath, name))
                done.append(f"removed {os.path.relpath(os.path.join(dirpath, name), path)}")
    before = EpisodeStore.open(path, mode="r")
    n_ep, pending = before.num_episodes, before.uncommitted_steps()
    after = EpisodeStore.open(path, mode="a", on_uncommitted=uncommitted)
    if after.num_episodes > n_ep:
        done.append(f"recovered {after.episode_bounds(-1)[1] - after.episode_bounds(-1)[0]} uncommitted steps as "
                    f"incomplete episode {after.num_episodes - 1}")
    elif pending:
        done.append(f"dropped {pending} uncommitted steps")
    return done
