"""Bad input and a failing disk give errors that say what to do, and committed data survive."""

import errno

import numpy as np
import pytest
import zarr
import zarr.storage._local as zarr_local

from srpo.errors import StoreError
from srpo.store import CameraSpec, EpisodeStore, StoreConfig
from srpo.store.validate import validate_store


@pytest.fixture
def store(make_store, random_step):
    store = EpisodeStore.open(make_store(lengths=(5, 6), successes=(True, False)).path, mode="a")
    store.random_step = random_step  # the tests below build steps with it
    return store


def _step(store, **changes):
    step = store.random_step(store, np.random.default_rng(3), 1.0)
    step.update(changes)
    return {k: v for k, v in step.items() if v is not None}


@pytest.mark.parametrize(("changes", "message"), [
    ({"action": None}, "step is missing keys ['action']"),
    ({"robot0_joint_pos": np.zeros(6, np.float32)}, "robot0_joint_pos: expected shape (7,), got (6,)"),
    ({"camera0_rgb": np.zeros((24, 32, 3), np.float32)}, "camera0_rgb: expected uint8 pixels, got float32"),
    ({"camera1_rgb": np.zeros((32, 24, 3), np.uint8)}, "camera1_rgb: expected shape (24, 32, 3), got (32, 24, 3)"),
    ({"action": np.array([0, 0, np.nan, 0, 0, 0, 0], np.float32)}, "action contains NaN or inf"),
])
def test_bad_steps_are_rejected_before_anything_is_written(store, changes, message):
    with store.recorder(task="t", source="teleop") as ep:
        with pytest.raises(StoreError) as err:
            ep.add_step(_step(store, **changes))
        assert message in str(err.value)
        ep.add_step(_step(store))
    assert [e.length for e in EpisodeStore.open(store.path).episodes()] == [5, 6, 1]


def test_paths_that_are_not_stores(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        EpisodeStore.open(tmp_path / "missing")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.png").write_bytes(b"x")
    with pytest.raises(StoreError, match="is not an episode store"):
        EpisodeStore.open(tmp_path / "photos")
    cfg = StoreConfig(cameras=(CameraSpec("camera0", 4, 4),), control_rate_hz=30.0)
    with pytest.raises(StoreError, match="already exists"):
        EpisodeStore.create(tmp_path / "photos", cfg)
    (tmp_path / "blocker").write_text("a file where a directory should be")
    with pytest.raises(StoreError, match="a file is in the way"):
        EpisodeStore.create(tmp_path / "blocker" / "store.zarr", cfg)
    with pytest.raises(StoreError, match="at least one camera"):
        EpisodeStore.create(tmp_path / "nocam", StoreConfig(cameras=(), control_rate_hz=30.0))


def test_unknown_keys_episode_and_source(store):
    with pytest.raises(StoreError, match=r"has no data keys \['camera7_rgb'\]"):
        store.episode(0, keys=["camera7_rgb"])
    with pytest.raises(StoreError, match=r"episode 2 does not exist: .* holds 2 episodes \(0..1\)"):
        store.set_success(2, True)
    with pytest.raises(StoreError, match="unknown source 'youtube'"):
        with store.recorder(task="t", source="youtube") as ep:
            ep.add_step(_step(store))


def test_read_only_open_refuses_writes(store):
    ro = EpisodeStore.open(store.path, mode="r")
    with pytest.raises(StoreError, match="mode='a'"):
        ro.set_success(0, False)
    with pytest.raises(StoreError, match="mode='a'"):
        ro.recorder(task="t", source="sim")


def _failing_disk(monkeypatch, err: int, after: int):
    """Let `after` more file writes/deletes through, then fail every one with `err` (full or read-only disk)."""
    calls = {"n": 0}
    text = {errno.ENOSPC: "No space left on device", errno.EROFS: "Read-only file system"}[err]

    def failing(real):
        def op(path, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] > after:
                raise OSError(err, text, str(path))
            return real(path, *args, **kwargs)

        return op

    monkeypatch.setattr(zarr_local, "_put", failing(zarr_local._put))
    monkeypatch.setattr(zarr_local, "_delete", failing(zarr_local._delete))


@pytest.mark.parametrize("after", [0, 7, 40])
def test_full_disk_mid_recording_keeps_committed_episodes(store, monkeypatch, after):
    before = {k: v.copy() for k, v in store.episode(1).items()}
    _failing_disk(monkeypatch, errno.ENOSPC, after)
    with pytest.raises(StoreError, match="the disk is full. Committed episodes are intact; free space"):
        with store.recorder(task="t", source="teleop", flush_every=3) as ep:
            for t in range(30):
                ep.add_step(_step(store, timestamp=float(t)))
    monkeypatch.undo()  # space freed
    reopened = EpisodeStore.open(store.path, mode="a", on_uncommitted="truncate")
    assert reopened.episode_ends.tolist() == [5, 11]
    for key, value in reopened.episode(1).items():
        np.testing.assert_array_equal(value, before[key])
    assert validate_store(store.path).ok


@pytest.mark.parametrize("repair", ["recover", "truncate"])
def test_commit_cut_between_growing_and_writing_episode_ends(store, monkeypatch, repair):
    """The disk dies (or the writer is killed) after zarr grew meta/episode_ends but before it wrote the new end:
    the new last entry reads as 0. That episode does not exist; the repair keeps or drops its steps."""
    real = zarr_local._put

    def put(path, *args, **kwargs):
        if path.parent.name == "episode_ends" and path.name != ".zarray":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(zarr_local, "_put", put)
    with pytest.raises(StoreError, match="the disk is full"):
        with store.recorder(task="cut", source="teleop") as ep:
            for t in range(4):
                ep.add_step(_step(store, timestamp=float(t)))
    monkeypatch.undo()
    assert zarr.open_group(str(store.path), mode="r")["meta/episode_ends"][:].tolist() == [5, 11, 0]
    cut = EpisodeStore.open(store.path, mode="r")
    assert cut.num_episodes == 2 and cut.episode_ends.tolist() == [5, 11] and cut.uncommitted_steps() == 4
    report = validate_store(store.path)
    cut_warning = [p for p in report.warnings if p.code == "cut_commit"]
    assert len(cut_warning) == 1 and "episode 2" in cut_warning[0].message
    repaired = EpisodeStore.open(store.path, mode="a", on_uncommitted=repair)
    infos = repaired.episodes()
    if repair == "recover":
        assert [(e.length, e.status, e.task) for e in infos[2:]] == [(4, "incomplete", "cut")]
    else:
        assert len(infos) == 2 and repaired.uncommitted_steps() == 0
    report = validate_store(store.path)
    assert report.ok and not {"cut_commit", "meta_length"} & {p.code for p in report.warnings}


def test_read_only_filesystem_error_on_label(store, monkeypatch):
    _failing_disk(monkeypatch, errno.EROFS, 0)
    with pytest.raises(StoreError, match="not writable .Read-only file system.. Choose a writable location"):
        store.set_success(1, True)
    with pytest.raises(StoreError, match="not writable"):
        store.set_success(0, False)  # the chunk becomes all fill value: zarr deletes it instead of writing
    monkeypatch.undo()
    assert EpisodeStore.open(store.path).success_labels().tolist() == [1, 0]


def test_live_recording_is_not_recovered_from_under_the_recorder(store):
    import socket
    import subprocess

    import zarr

    other = subprocess.Popen(["sleep", "30"])  # stands in for a recorder process that is still running
    try:
        meta = zarr.open_group(str(store.path / "meta"), mode="r+", zarr_format=2)
        meta.attrs["pending_episode"] = {"task": "t", "source": "teleop", "start_time": 0.0, "pid": other.pid,
                                         "host": socket.gethostname()}
        with pytest.raises(StoreError, match=f"being recorded into right now .pid {other.pid}"):
            EpisodeStore.open(store.path, mode="a")
        assert EpisodeStore.open(store.path, mode="r").num_episodes == 2  # reading is fine
    finally:
        other.kill()
        other.wait()
    assert EpisodeStore.open(store.path, mode="a").num_episodes == 2  # recorder gone: the stale record is cleared
    assert "pending_episode" not in zarr.open_group(str(store.path / "meta"), mode="r", zarr_format=2).attrs
