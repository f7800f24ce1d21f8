"""Streaming episode writer: steps are appended while an episode runs, committed only when it ends.

Crash safety comes from three facts:
  * zarr 3's LocalStore replaces every chunk and metadata file atomically (temporary file + rename), so a file
    is always either its old or its new version, and committed rows in a shared chunk are rewritten unchanged;
  * within each flush `timestamp` is written last, so a finite timestamp marks a step fully written in every
    array (what EpisodeStore.open(mode="a") recovers);
  * meta/episode_ends is extended last of all: until that write the episode does not exist for readers.
A recorder killed at any point therefore leaves every committed episode intact; what it was writing is
recovered as an "incomplete" episode or truncated when the store is next opened for writing.
"""

import asyncio
import os
import socket
import time

import numpy as np

from srpo.errors import StoreError
from srpo.store.layout import append_episode_meta, store_errors
from srpo.store.schema import PENDING_ATTR

FLUSH_EVERY = 30  # steps buffered in memory between writes to disk


async def _write_frames(arr, start: int, frames: list[np.ndarray]) -> None:
    """Store frames start, start+1, ... of an image array whose chunks hold one frame each.

    Each frame is encoded with the array's own compressor and put under the array's own chunk key through zarr's
    store (atomic, like any zarr write): byte-for-byte what `arr[start:stop] = frames` writes for a zarr format 2
    array without filters, minus zarr's indexing machinery, the stacking copy and its all-equal scan per chunk,
    which together took two thirds of the recorder's CPU time (benchmarks/store_write.py).
    """
    from zarr.core.buffer import default_buffer_prototype

    meta = arr.metadata
    if meta.filters or meta.chunks[0] != 1 or meta.order != "C":
        raise StoreError(f"{arr.path}: image arrays must have one frame per chunk, C order and no filters")
    dtype = meta.dtype.to_native_dtype()  # with the byte order the .zarray declares
    zeros = (0,) * (arr.ndim - 1)
    buffer = default_buffer_prototype().buffer
    writes = []
    for i, frame in enumerate(frames):
        raw = np.ascontiguousarray(frame, dtype=dtype)
        payload = meta.compressor.encode(raw) if meta.compressor is not None else raw.tobytes()
        key = f"{arr.path}/{meta.encode_chunk_key((start + i, *zeros))}"
        writes.append(arr.store.set(key, buffer.from_bytes(payload)))
    await asyncio.gather(*writes)


class EpisodeWriter:
    """Records one episode into an open store. Use as a context manager or call commit()/abort() explicitly.

        with store.recorder(task="put the cube in the bowl", source="sim") as ep:
            for obs, action in loop:
                ep.add_step({**obs, "action": action, "timestamp": t})
            ep.success = True          # or leave None and label later
    Leaving the block normally commits; an exception aborts the episode (steps so far are kept, marked aborted).
    """

    def __init__(self, store, task: str, source: str, flush_every: int = FLUSH_EVERY,
                 start_time: float | None = None):
        """`store` is an EpisodeStore opened with mode "a"; `EpisodeStore.recorder` is the usual way in."""
        store.require_writable("recording")
        if store.uncommitted_steps():
            raise StoreError(f"{store.path} has uncommitted steps; reopen it with mode='a' to recover them first")
        self.store = store
        self.task = task
        self.source = source
        self.flush_every = flush_every
        self.start_time = time.time() if start_time is None else start_time
        self.success: bool | None = None
        self._buffer: dict[str, list[np.ndarray]] = {k: [] for k in store.keys}
        self._arrays = {k: store.data[k] for k in store.keys}  # opened once: each open re-reads .zarray
        self._first = store.num_steps  # global index of this episode's first step
        self._written = 0  # steps of this episode already flushed to disk
        self._buffered = 0
        self._done = False
        with store_errors("recording into", store.path):
            store.meta.attrs[PENDING_ATTR] = {"task": task, "source": source, "start_time": self.start_time,
                                              "pid": os.getpid(), "host": socket.gethostname()}

    @property
    def num_steps(self) -> int:
        return self._written + self._buffered

    def add_step(self, step: dict[str, np.ndarray | float]) -> None:
        """Append one control step: every data key of the store (cameras, robot state, action, timestamp)."""
        if self._done:
            raise StoreError("this episode is already committed or aborted; start a new one")
        missing = [k for k in self.store.keys if k not in step]
        if missing:
            raise StoreError(f"step is missing keys {missing}; the store records {sorted(self.store.keys)}")
        for key, spec in self.store.keys.items():
            value = np.asarray(step[key])
            if value.shape != spec.shape:
                raise StoreError(f"{key}: expected shape {spec.shape}, got {value.shape}")
            if spec.image and value.dtype != spec.dtype:
                raise StoreError(f"{key}: expected {spec.dtype} pixels, got {value.dtype}; convert before recording")
            if key == "action" and not np.all(np.isfinite(value)):
                raise StoreError("action contains NaN or inf; the safety filter must reject it before recording")
            self._buffer[key].append(value.astype(spec.dtype, copy=False))
        self._buffered += 1
        if self._buffered >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write buffered steps to disk (still uncommitted). timestamp goes last: it marks the steps complete."""
        if not self._buffered:
            return
        from zarr.core.sync import sync

        start = self._first + self._written
        with store_errors("recording into", self.store.path):
            sync(self._flush(start, start + self._buffered))
        for rows in self._buffer.values():
            rows.clear()
        self._written += self._buffered
        self._buffered = 0

    async def _flush(self, start: int, stop: int) -> None:
        """Grow every array, write all but `timestamp` concurrently, then `timestamp` (the completeness mark)."""
        arrays = {k: a.async_array for k, a in self._arrays.items()}
        others = [k for k in self.store.keys if k != "timestamp"]

        async def write(key: str) -> None:
            if self.store.keys[key].image:
                await _write_frames(arrays[key], start, self._buffer[key])
            else:
                await arrays[key].setitem(slice(start, stop), np.stack(self._buffer[key]))

        await asyncio.gather(*(arrays[k].resize((stop, *self.store.keys[k].shape)) for k in others))
        await asyncio.gather(*(write(k) for k in others))
        await arrays["timestamp"].resize((stop,))
        await write("timestamp")

    def commit(self, status: str = "complete", note: str | None = None) -> int:
        """Flush and commit the episode; returns its index. An empty episode is discarded (returns -1)."""
        if self._done:
            raise StoreError("this episode is already committed or aborted")
        self._done = True
        self.flush()
        if self._written == 0:
            with store_errors("recording into", self.store.path):
                del self.store.meta.attrs[PENDING_ATTR]
            return -1
        with store_errors("committing an episode to", self.store.path):
            index = append_episode_meta(
                self.store.meta,
                task=self.task,
                source=self.source,
                start_time=self.start_time,
                success=self.success,
                status=status,
                end=self._first + self._written,
                note=note,
            )
            del self.store.meta.attrs[PENDING_ATTR]
        return index

    def abort(self, reason: str) -> int:
        """Keep the steps recorded so far as an episode marked aborted (camera loss, arm error, operator)."""
        self.success = None
        return self.commit(status="aborted", note=reason)

    def __enter__(self) -> "EpisodeWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._done:
            return False
        if exc is None:
            self.commit()
        elif isinstance(exc, OSError | StoreError):
            pass  # the disk failed: leave the uncommitted steps for recovery on the next open
        else:
            self.abort(f"{exc_type.__name__}: {exc}")
        return False

