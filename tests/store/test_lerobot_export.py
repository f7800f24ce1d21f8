"""The LeRobot export loads with LeRobot's own LeRobotDataset, offline, with identical frames and actions."""

import json

import numpy as np
import pytest

from srpo.cli import main
from srpo.errors import StoreError
from srpo.policy_io import action_names
from srpo.store import CameraSpec, EpisodeStore, StoreConfig


@pytest.fixture(scope="module")
def source(tmp_path_factory, record_random_store, random_step):
    """3 episodes (4, 6, 3 steps), two tasks, the last one aborted."""
    path = tmp_path_factory.mktemp("lerobot") / "src.zarr"
    store = record_random_store(path, (4, 6), (None, None), ("pick the cube", "open the drawer"), seed=5,
                                cameras=(CameraSpec("camera0", 24, 32, depth=True), CameraSpec("wrist", 16, 16)),
                                source="teleop")
    rng = np.random.default_rng(6)
    ep = store.recorder(task="pick the cube", source="teleop")
    for t in range(3):
        ep.add_step(random_step(store, rng, t / 30.0))
    ep.abort("operator stop")
    return path


def _load(repo_id, root):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset(repo_id, root=root)


def test_export_round_trip_is_identical(source, tmp_path):
    from srpo.store.lerobot_export import export_to_lerobot

    out = tmp_path / "lr"
    summary = export_to_lerobot(source, out, repo_id="tester/xarm_pick")
    assert summary == {"episodes": 2, "frames": 10, "skipped": [2], "source_episodes": [0, 1]}
    ds = _load("tester/xarm_pick", out)
    assert (ds.num_episodes, ds.num_frames, ds.fps) == (2, 10, 30)
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["codebase_version"].startswith("v3")
    assert info["features"]["observation.state"]["names"][:2] == ["robot0_joint_pos_0", "robot0_joint_pos_1"]
    assert info["features"]["observation.state"]["shape"] == [11]  # joints 7 + eef position 3 + gripper 1
    assert info["features"]["action"]["names"] == action_names("eef_delta_pos(3)+axis_angle(3)+gripper(1)", 7)

    store = EpisodeStore.open(source)
    for ep, first in ((0, 0), (1, 4)):
        want = store.episode(ep)
        for j in range(store.episodes()[ep].length):
            item = ds[first + j]
            assert int(item["episode_index"]) == ep and int(item["frame_index"]) == j
            assert item["task"] == store.episodes()[ep].task
            np.testing.assert_array_equal(item["action"].numpy(), want["action"][j])
            state = np.concatenate([want[k][j] for k in ("robot0_joint_pos", "robot0_eef_pos", "robot0_gripper_width")])
            np.testing.assert_array_equal(item["observation.state"].numpy(), state)
            for cam, key in (("camera0", "camera0_rgb"), ("wrist", "wrist_rgb")):
                img = item[f"observation.images.{cam}"].numpy()  # float CHW in [0, 1]
                pixels = np.round(img.transpose(1, 2, 0) * 255).astype(np.uint8)
                np.testing.assert_array_equal(pixels, want[key][j], err_msg=f"{cam} ep {ep} frame {j}")


def test_export_video_loads_and_is_close(source, tmp_path, random_step):
    from srpo.store.lerobot_export import export_to_lerobot

    path = tmp_path / "smooth.zarr"
    store = EpisodeStore.create(path, StoreConfig(cameras=(CameraSpec("camera0", 64, 64),), control_rate_hz=30.0))
    yy, xx = np.mgrid[0:64, 0:64]
    with store.recorder(task="t", source="sim") as ep:
        for t in range(8):  # smooth frames: what a video codec is meant for
            step = random_step(store, np.random.default_rng(t), t / 30.0)
            step["camera0_rgb"] = np.stack([(xx * 4 + t) % 256, yy * 4, (xx + yy) * 2], -1).astype(np.uint8)
            ep.add_step(step)
    export_to_lerobot(path, tmp_path / "v", repo_id="tester/video", video=True)
    ds = _load("tester/video", tmp_path / "v")
    assert ds.meta.video_keys == ["observation.images.camera0"] and ds.num_frames == 8
    want = store.episode(0)
    for j in (0, 7):
        img = ds[j]["observation.images.camera0"].numpy().transpose(1, 2, 0) * 255
        assert np.abs(img - want["camera0_rgb"][j]).mean() < 6  # lossy, but the same picture
        np.testing.assert_array_equal(ds[j]["action"].numpy(), want["action"][j])


@pytest.mark.parametrize(("height", "width", "ok"), [(4, 25, True), (16, 24, False), (3, 32, False)])
def test_video_export_checks_the_size_the_av1_encoder_takes(tmp_path, random_step, height, width, ok):
    """The smallest frames SVT-AV1 encodes (4 x 25) export; one column or row fewer is refused with what to do
    instead of the encoder killing the process (SIGFPE at 24 columns)."""
    from srpo.store.lerobot_export import export_to_lerobot

    path = tmp_path / "tiny.zarr"
    store = EpisodeStore.create(path, StoreConfig(cameras=(CameraSpec("camera0", height, width),), control_rate_hz=10.0))
    with store.recorder(task="t", source="sim") as ep:
        for t in range(3):
            ep.add_step(random_step(store, np.random.default_rng(t), t / 10.0))
    if not ok:
        with pytest.raises(StoreError, match=rf"crashes on frames under 4 rows or 25 columns, and camera0 \({height}x{width}\)"):
            export_to_lerobot(path, tmp_path / "v", repo_id="tester/tiny", video=True)
        return
    export_to_lerobot(path, tmp_path / "v", repo_id="tester/tiny", video=True)
    ds = _load("tester/tiny", tmp_path / "v")
    assert ds.num_frames == 3 and ds[2]["observation.images.camera0"].shape == (3, height, width)


def test_export_refuses_existing_out_and_bad_selection(source, tmp_path):
    from srpo.store.lerobot_export import export_to_lerobot

    (tmp_path / "taken").mkdir()
    with pytest.raises(StoreError, match="already exists"):
        export_to_lerobot(source, tmp_path / "taken", repo_id="a/b")
    with pytest.raises(StoreError, match="no episodes to export"):
        export_to_lerobot(source, tmp_path / "x", repo_id="a/b", episodes=[2])
    with pytest.raises(StoreError, match="episode 9 does not exist"):
        export_to_lerobot(source, tmp_path / "y", repo_id="a/b", episodes=[9])


def test_cli_to_lerobot(source, tmp_path, capsys):
    assert main(["data", "to-lerobot", str(source), str(tmp_path / "cli"), "--repo-id", "tester/cli",
                 "--episodes", "1", "2", "--include-incomplete"]) == 0
    assert "2 episodes, 9 frames" in capsys.readouterr().out
    assert _load("tester/cli", tmp_path / "cli").num_frames == 9
