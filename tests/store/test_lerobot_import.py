"""`srpo data from-lerobot`: a store survives store -> LeRobotDataset -> store exactly (images within codec loss),
a dataset written by LeRobot's own `LeRobotDataset.create` imports, the imported store is scored and trained,
and datasets it cannot map get errors that say what to pass."""

import json

import numpy as np
import pytest

from srpo.cli import main
from srpo.errors import UserFacingError
from srpo.store import CameraSpec, EpisodeStore, StoreConfig
from srpo.store.lerobot_export import export_to_lerobot
from srpo.store.lerobot_import import LeRobotImportConfig, import_lerobot
from srpo_offline.awr.config import option_strings
from srpo_offline.awr.tiny import TINY_ACT

SIZE = (64, 64)  # LeRobot's AV1 encoder (SVT-AV1) dies with SIGFPE on 16x16 frames; 64x64 encodes


def _smooth(t: int, shift: int) -> np.ndarray:
    """A frame a video codec keeps close (random noise would not survive any lossy codec)."""
    yy, xx = np.mgrid[0 : SIZE[0], 0 : SIZE[1]]
    return np.stack([(xx * 3 + t * 5 + shift) % 256, (yy * 3 + shift) % 256, (xx + yy + t) % 256], -1).astype(np.uint8)


@pytest.fixture(scope="module")
def source(tmp_path_factory, random_step):
    """3 episodes (5, 7, 4 steps), labels success / failure / unlabelled, two tasks, jittered clocks, depth on
    camera0 and the simulator's extra state vector."""
    path = tmp_path_factory.mktemp("import") / "src.zarr"
    cameras = (CameraSpec("camera0", *SIZE, depth=True), CameraSpec("camera1", *SIZE))
    store = EpisodeStore.create(path, StoreConfig(cameras=cameras, control_rate_hz=30.0, extra_keys={"object0_pos": 3}))
    rng = np.random.default_rng(3)
    for e, (length, success, task) in enumerate(zip((5, 7, 4), (True, False, None), ("pick", "open", "pick"))):
        with store.recorder(task=task, source="teleop", start_time=1000.0 + e) as ep:
            for t in range(length):
                step = random_step(store, rng, 1000.0 + e + t / 30.0 + rng.uniform(0, 0.004))
                step["camera0_rgb"], step["camera1_rgb"] = _smooth(t, 40 * e), _smooth(t, 40 * e + 100)
                step["camera0_timestamp"] = step["camera1_timestamp"] = step["timestamp"] - 0.011
                ep.add_step(step)
            ep.success = success
    return store


def _assert_same(src: EpisodeStore, back: EpisodeStore, image_tol: float) -> None:
    assert back.num_episodes == src.num_episodes and back.num_steps == src.num_steps
    for a, b in zip(src.episodes(), back.episodes()):
        assert (b.task, b.success, b.length, b.source) == (a.task, a.success, a.length, "lerobot")
    for e in range(src.num_episodes):
        want, got = src.episode(e), back.episode(e)
        for key in ("robot0_joint_pos", "robot0_eef_pos", "robot0_eef_rot_axis_angle", "robot0_gripper_width",
                    "object0_pos", "action", "timestamp", "camera0_timestamp", "camera1_timestamp"):
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{key} episode {e}")
        for key in ("camera0_rgb", "camera1_rgb"):
            err = np.abs(got[key].astype(int) - want[key]).mean()
            assert err <= image_tol, f"{key} episode {e}: mean error {err}"


def test_round_trip_lossless_images_is_identical(source, tmp_path, capsys):
    export_to_lerobot(source.path, tmp_path / "lr", repo_id="tester/rt")
    assert main(["data", "from-lerobot", str(tmp_path / "lr"), str(tmp_path / "back.zarr")]) == 0
    out = capsys.readouterr().out
    assert "3 episodes" in out and "unlabelled episodes [2]" in out and "srpo.success" in out
    back = EpisodeStore.open(tmp_path / "back.zarr")
    _assert_same(source, back, image_tol=0)
    assert back.config.action_space == source.config.action_space and back.config.robot == source.config.robot
    assert "camera0_depth" not in back.keys  # LeRobot 0.6 has no lossless depth: the export leaves it out
    assert main(["data", "validate", str(tmp_path / "back.zarr")]) == 0


def test_round_trip_video_decodes_with_torchcodec(source, tmp_path, monkeypatch):
    from lerobot.datasets import video_utils

    calls = []
    real = video_utils.decode_video_frames_torchcodec
    monkeypatch.setattr(video_utils, "decode_video_frames_torchcodec", lambda *a, **k: calls.append(a) or real(*a, **k))
    export_to_lerobot(source.path, tmp_path / "v", repo_id="tester/v", video=True)
    lines = import_lerobot(LeRobotImportConfig(source=str(tmp_path / "v"), out=str(tmp_path / "v.zarr")))
    assert "(decoded with torchcodec)" in lines[0]
    assert len(calls) == 2 * 3  # one call per camera per episode (episodes are shorter than a read block)
    back = EpisodeStore.open(tmp_path / "v.zarr")
    assert back.root.attrs["import"]["video_backend"] == "torchcodec"
    _assert_same(source, back, image_tol=6)  # AV1 is lossy: the same picture within a few grey levels


def test_imported_store_is_scored_and_trained(source, tmp_path):
    export_to_lerobot(source.path, tmp_path / "lr", repo_id="tester/rt")
    store = tmp_path / "scored.zarr"
    assert main(["data", "from-lerobot", str(tmp_path / "lr"), str(store)]) == 0
    assert main(["reward", "compute", str(store), "--encoder", "pixel"]) == 0
    derived, attrs = EpisodeStore.open(store).read_derived("srpo_pixel")
    refs = attrs["provenance"]["references"]
    assert refs["pick"]["episodes"] == [0] and "open" not in refs  # episode 2 (unlabelled) is never a reference
    assert attrs["provenance"]["unlabelled"] == [2] and len(derived["weight"]) == 16
    act = option_strings(TINY_ACT)  # a LeRobot ACT that trains in milliseconds, nothing to download
    assert main(["train", "awr", str(store), "--policy", "act", "--reward-run", "srpo_pixel", "--steps", "2",
                 "--batch-size", "4", "--num-workers", "0", "--val-fraction", "0", "--progress", "false", "--out", str(tmp_path / "awr"),
                 "--policy-option", *act]) == 0
    assert (tmp_path / "awr" / "checkpoints" / "last" / "pretrained_model").is_dir()


@pytest.fixture(scope="module")
def so100(tmp_path_factory):
    """A dataset written by LeRobot's own writer the way `lerobot-record` writes an SO-100 follower's: motor names,
    a camera called `front` as mp4, per-frame next.success. Two episodes: 6 frames (success), 5 (failure)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    motors = ["shoulder_pan.pos", "shoulder_lift.pos", "elbow_flex.pos", "wrist_flex.pos", "wrist_roll.pos",
              "gripper.pos"]
    features = {
        "observation.state": {"dtype": "float32", "shape": (6,), "names": motors},
        "action": {"dtype": "float32", "shape": (6,), "names": motors},
        "observation.images.front": {"dtype": "video", "shape": (*SIZE, 3), "names": ["height", "width", "channels"]},
        "next.success": {"dtype": "bool", "shape": (1,), "names": None},
    }
    root = tmp_path_factory.mktemp("so100") / "ds"
    ds = LeRobotDataset.create(repo_id="someone/so100_pick", fps=15, features=features, root=root, robot_type="so100",
                               use_videos=True)
    rng = np.random.default_rng(0)
    expected = []
    for e, (length, success) in enumerate(((6, True), (5, False))):
        states = rng.normal(size=(length, 6)).astype(np.float32)
        actions = rng.normal(size=(length, 6)).astype(np.float32)
        for t in range(length):
            ds.add_frame({"observation.state": states[t], "action": actions[t], "task": "pick the block",
                          "observation.images.front": _smooth(t, 60 * e),
                          "next.success": np.array([success and t == length - 1])})
        ds.save_episode()
        expected.append((states, actions, success))
    ds.finalize()
    return root, expected


def test_dataset_written_by_lerobot_imports(so100, tmp_path):
    root, expected = so100
    out = tmp_path / "so.zarr"
    lines = import_lerobot(LeRobotImportConfig(source=str(root), out=str(out), success_column="next.success"))
    assert "robot0_eef_pos" in lines[1]  # stated: no entry fills the end-effector pose
    store = EpisodeStore.open(out)
    assert store.config.robot == "so100" and store.config.control_rate_hz == 15 and store.config.joint_dim == 5
    assert store.config.action_space == "+".join(f"{m}(1)" for m in  # LeRobot's motor suffix .pos left out
                                                 ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex",
                                                  "wrist_roll", "gripper"))
    assert store.root.attrs["import"]["cameras"] == {"front": "observation.images.front"}  # the robot's camera key
    for e, (states, actions, success) in enumerate(expected):
        info, steps = store.episodes()[e], store.episode(e)
        assert (info.task, info.success, info.length) == ("pick the block", success, len(states))
        np.testing.assert_array_equal(steps["robot0_joint_pos"], states[:, :5])
        np.testing.assert_array_equal(steps["robot0_gripper_width"], states[:, 5:])
        np.testing.assert_array_equal(steps["action"], actions)
        np.testing.assert_array_equal(steps["robot0_eef_pos"], np.zeros((len(states), 3)))
        np.testing.assert_allclose(steps["timestamp"], np.arange(len(states)) / 15, atol=1e-6)
        assert np.abs(steps["front_rgb"].astype(int) - np.stack([_smooth(t, 60 * e) for t in
                                                                   range(len(states))])).mean() < 6
    assert main(["reward", "compute", str(out), "--encoder", "pixel"]) == 0  # pixel's own camera is camera1 (wrist)
    provenance = store.read_derived("srpo_pixel")[1]["provenance"]
    assert provenance["camera"] == "front" and "the store has no camera1 camera" in provenance["why"]


def test_labels_file_overrides_and_unmappable_state_says_what_to_pass(so100, tmp_path):
    root, _ = so100
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"0": False, "1": None}))
    import_lerobot(LeRobotImportConfig(source=str(root), out=str(tmp_path / "l.zarr"), labels=str(labels),
                                       state_map=("robot0_joint_pos=0:4", "robot0_gripper_width=5:6")))
    store = EpisodeStore.open(tmp_path / "l.zarr")
    assert [e.success for e in store.episodes()] == [False, None] and store.config.joint_dim == 4
    with pytest.raises(UserFacingError, match="KEY=START:STOP"):
        import_lerobot(LeRobotImportConfig(source=str(root), out=str(tmp_path / "x.zarr"), state_map=("joints=0:9",)))
    with pytest.raises(UserFacingError, match="no such column"):
        import_lerobot(LeRobotImportConfig(source=str(root), out=str(tmp_path / "y.zarr"), success_column="done"))
    with pytest.raises(UserFacingError, match="not a LeRobotDataset root"):
        import_lerobot(LeRobotImportConfig(source=str(tmp_path), out=str(tmp_path / "z.zarr")))
    with pytest.raises(UserFacingError, match="already exists"):
        import_lerobot(LeRobotImportConfig(source=str(root), out=str(tmp_path / "l.zarr")))
    with pytest.raises(UserFacingError, match="could not load nobody/nothing from the Hugging Face hub"):
        import_lerobot(LeRobotImportConfig(source="nobody/nothing", out=str(tmp_path / "h.zarr")))  # tests: offline
    assert main(["data", "label", str(tmp_path / "l.zarr"), "--episode", "1", "--success", "true"]) == 0
    assert [e.success for e in EpisodeStore.open(tmp_path / "l.zarr").episodes()] == [False, True]


def test_two_gripper_names_need_a_state_map(tmp_path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    names = ["left_gripper", "right_gripper", "j0"]
    features = {"observation.state": {"dtype": "float32", "shape": (3,), "names": names},
                "action": {"dtype": "float32", "shape": (3,), "names": names},
                "observation.images.top": {"dtype": "image", "shape": (8, 8, 3), "names": ["height", "width", "channels"]}}
    ds = LeRobotDataset.create(repo_id="a/bimanual", fps=10, features=features, root=tmp_path / "bi")
    ds.add_frame({"observation.state": np.zeros(3, np.float32), "action": np.zeros(3, np.float32), "task": "t",
                  "observation.images.top": np.zeros((8, 8, 3), np.uint8)})
    ds.save_episode()
    ds.finalize()
    code = main(["data", "from-lerobot", str(tmp_path / "bi"), str(tmp_path / "bi.zarr")])
    assert code == 2
    with pytest.raises(UserFacingError, match="--state-map robot0_joint_pos=0:2 robot0_gripper_width=2:3"):
        import_lerobot(LeRobotImportConfig(source=str(tmp_path / "bi"), out=str(tmp_path / "bi.zarr")))


KILL_MID_IMPORT = """
import os, signal, sys
from srpo.store.writer import EpisodeWriter
from srpo.store.lerobot_import import LeRobotImportConfig, import_lerobot

add_step = EpisodeWriter.add_step
def add_step_then_die(self, step):  # in episode 1, flush three steps to disk, then die as `kill -9` would
    add_step(self, step)
    if self.store.num_episodes == 1 and self.num_steps == 3:
        self.flush()
        os.kill(os.getpid(), signal.SIGKILL)
EpisodeWriter.add_step = add_step_then_die
import_lerobot(LeRobotImportConfig(source=sys.argv[1], out=sys.argv[2]))
"""


def test_killed_import_keeps_committed_episodes_and_resumes(source, tmp_path):
    import subprocess
    import sys

    export_to_lerobot(source.path, tmp_path / "lr", repo_id="tester/rt")
    out = tmp_path / "killed.zarr"
    run = subprocess.run([sys.executable, "-c", KILL_MID_IMPORT, str(tmp_path / "lr"), str(out)], capture_output=True)
    assert run.returncode == -9
    killed = EpisodeStore.open(out)
    assert killed.num_episodes == 1 and killed.uncommitted_steps() == 3  # episode 0 committed, 3 steps left over
    lines = import_lerobot(LeRobotImportConfig(source=str(tmp_path / "lr"), out=str(out)))
    assert "3 episodes (2 imported now)" in lines[0]
    _assert_same(source, EpisodeStore.open(out), image_tol=0)
