"""Operations on a store's directories that both the reader (episode_store.py) and the writer (writer.py) need.

They work on plain zarr groups and paths, so the writer does not depend on EpisodeStore and imports run one way:
schema <- layout <- writer <- episode_store.
"""

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

import zarr

from srpo.errors import StoreError
from srpo.store.schema import SOURCES, STATUSES, UNLABELLED


def is_store(path: Path) -> bool:
    """A directory holding a zarr format 2 group with meta/episode_ends."""
    return (path / ".zgroup").exists() and (path / "meta" / "episode_ends" / ".zarray").exists()


@contextlib.contextmanager
def store_errors(op: str, path: Path) -> Iterator[None]:
    """Turn OS errors (read-only, full disk, a file in the way) into StoreErrors that say what to do."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise StoreError(
                f"{op} {path}: the disk is full. Committed episodes are intact; free space and record again."
            ) from exc
        if exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
            raise StoreError(
                f"{op} {path}: a file is in the way of the store's directories ({exc.filename}). "
                "Choose another path or move that file."
            ) from exc
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise StoreError(
                f"{op} {path}: not writable ({exc.strerror}). Choose a writable location or fix permissions."
            ) from exc
        raise


def committed_episodes(ends) -> int:
    """How many entries of meta/episode_ends (the zarr array, or its values already read) are commits.

    Zarr grows an array's shape (its .zarray) before it writes the new value, so a writer killed between the two
    leaves a last entry that reads as the fill value 0. A real end is always above the one before it (empty
    episodes are never committed), so a last end that is not is a cut commit: that episode does not exist.
    """
    n = ends.shape[0]
    tail = [0, *(int(e) for e in ends[max(n - 2, 0) : n])]  # one read of the last two ends
    return n - 1 if n and tail[-1] <= tail[-2] else n


def append_episode_meta(meta: zarr.Group, *, task: str, source: str, start_time: float, success: bool | None,
                        status: str, end: int, note: str | None = None) -> int:
    """Append one episode's rows to `meta/`, extending meta/episode_ends last (that write is the commit).

    Returns the new episode's index.
    """
    if source not in SOURCES:
        raise StoreError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    tasks = list(meta.attrs["tasks"])
    if task not in tasks:
        tasks.append(task)
        meta.attrs["tasks"] = tasks
    ends = meta["episode_ends"]
    index = ends.shape[0]
    if note:
        meta.attrs["notes"] = {**meta.attrs["notes"], str(index): note}
    values = {
        "success": UNLABELLED if success is None else int(bool(success)),
        "task_index": tasks.index(task),
        "source": SOURCES.index(source),
        "start_time": start_time,
        "status": STATUSES.index(status),
    }
    for name, value in values.items():
        arr = meta[name]
        arr.resize((index + 1,))
        arr[index] = value
    ends.resize((index + 1,))
    ends[index] = end
    return index
