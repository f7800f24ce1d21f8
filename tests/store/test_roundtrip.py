"""Every key written through the recorder reads back identical, through every accessor."""

import numpy as np
import pytest

from srpo.store import CameraSpec, EpisodeStore, StoreConfig, data_keys


def _steps(keys, rng, n, t0):
    out = []
    for t in range(n):
        step = {}
        for key, spec in keys.items():
            if spec.image:
                hi = 256 if spec.dtype == np.uint8 else 65535
                step[key] = rng.integers(0, hi, spec.shape, endpoint=False).astype(spec.dtype)
            else:
                step[key] = rng.normal(size=spec.shape).astype(spec.dtype)
        step["timestamp"] = t0 + t / 15.0
        out.append(step)
    return out


def test_every_key_round_trips(tmp_path):
    intr = {"fx": 600.5, "fy": 601.0, "cx": 319.5, "cy": 239.5, "distortion": [0.1, 0, 0, 0, 0], "model": "plumb_bob"}
    ext = {"frame": "ee", "T": np.eye(4).tolist()}
    cfg = StoreConfig(cameras=(CameraSpec("camera0", 12, 16, depth=True, serial="123", intrinsics=intr, extrinsics=ext),
                               CameraSpec("camera1", 8, 10), CameraSpec("camera2", 6, 6, depth=True)),
                      action_dim=8, control_rate_hz=15.0, calibration={"hand_eye": "calib/he.yaml"})
    store = EpisodeStore.create(tmp_path / "rt.zarr", cfg)
    keys = data_keys(cfg)
    assert {"camera2_depth", "camera2_timestamp", "camera1_rgb"} <= set(keys) and "camera1_depth" not in keys
    rng = np.random.default_rng(7)
    episodes = [_steps(keys, rng, n, 100.0 * i) for i, n in enumerate((5, 33, 1))]
    for i, steps in enumerate(episodes):
        with store.recorder(task=f"task {i % 2}", source=("teleop", "policy", "rosbag")[i], flush_every=7) as ep:
            for s in steps:
                ep.add_step(s)
            ep.success = (True, False, None)[i]

    store = EpisodeStore.open(tmp_path / "rt.zarr")
    assert store.config == cfg  # cameras, calibration, rates all survive the attrs round trip
    assert store.episode_ends.tolist() == [5, 38, 39]
    assert [(e.task, e.source, e.success) for e in store.episodes()] == [
        ("task 0", "teleop", True), ("task 1", "policy", False), ("task 0", "rosbag", None)]
    for i, steps in enumerate(episodes):
        got = store.episode(i)
        assert set(got) == set(keys)
        for key in keys:
            assert got[key].dtype == keys[key].dtype
            np.testing.assert_array_equal(got[key], np.stack([s[key] for s in steps]), err_msg=key)
    part = store.steps(1, 10, 20, keys=["camera2_depth", "action"])
    np.testing.assert_array_equal(part["camera2_depth"], np.stack([s["camera2_depth"] for s in episodes[1][10:20]]))
    win, pad = store.window(1, 30, 5, keys=["action"])
    np.testing.assert_array_equal(win["action"][:3], np.stack([s["action"] for s in episodes[1][30:33]]))
    np.testing.assert_array_equal(win["action"][3:], np.stack([episodes[1][32]["action"]] * 2))
    assert pad.tolist() == [False, False, False, True, True]


def test_label_and_derived_round_trip(make_store):
    store = make_store(lengths=(3, 4), successes=(None, None))
    store.set_success(1, False)
    store.set_success(0, True)
    store.set_success(1, None)
    assert EpisodeStore.open(store.path).success_labels().tolist() == [1, -1]
    adv = np.linspace(-1, 1, 7, dtype=np.float32)
    store.write_derived("srpo_pixel", {"advantage": adv}, {"encoder": "pixel", "alpha": 0.8})
    arrays, attrs = EpisodeStore.open(store.path).read_derived("srpo_pixel")
    np.testing.assert_array_equal(arrays["advantage"], adv)
    assert attrs["provenance"] == {"encoder": "pixel", "alpha": 0.8} and attrs["episode_ends"] == [3, 7]


def test_recorder_aborts_on_exception_and_keeps_steps(make_store, random_step):
    store = make_store(lengths=(3,), successes=(True,))
    rng = np.random.default_rng(0)
    with pytest.raises(RuntimeError):
        with store.recorder(task="x", source="teleop") as ep:
            ep.add_step(random_step(store, rng, 0.0))
            ep.add_step(random_step(store, rng, 0.1))
            raise RuntimeError("camera unplugged")
    info = EpisodeStore.open(store.path).episodes()[-1]
    assert (info.status, info.length, info.success) == ("aborted", 2, None)
    assert "camera unplugged" in info.note
