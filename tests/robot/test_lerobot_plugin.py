"""The xArm 7 as a LeRobot robot: LeRobot's own `lerobot-record` (its `main`, which imports the installed
lerobot_robot_* plugins as the console script does) records with --robot.type=xarm7 against the fake xArm
controller and with --robot.type=xarm7_sim; `srpo data from-lerobot` imports what it wrote, and the import is
scored and AWR-trained."""

import io
import json
import sys

import numpy as np
import pytest

from srpo.cli import main
from srpo.policy_io import STATE_KEYS, state_names
from srpo.store import EpisodeStore
from srpo_offline.awr.config import option_strings
from srpo_offline.awr.tiny import TINY_ACT

pytest.importorskip("xarm")


def _lerobot_record(monkeypatch, root, *args):
    from lerobot.scripts import lerobot_record

    argv = ["lerobot-record", *args, f"--dataset.root={root}", "--dataset.push_to_hub=false", "--play_sounds=false",
            "--dataset.reset_time_s=0", "--dataset.single_task=lift the cube"]
    monkeypatch.setattr(sys, "argv", argv)
    lerobot_record.main()
    return json.loads((root / "meta" / "info.json").read_text())


def test_plugin_is_installed_and_registers_its_types():
    from lerobot.cameras import CameraConfig
    from lerobot.robots import RobotConfig
    from lerobot.teleoperators import TeleoperatorConfig
    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()  # what every LeRobot script does first: finds the distribution by its name
    assert {"xarm7", "xarm7_sim"} <= set(RobotConfig.get_known_choices())
    assert {"xarm7_keyboard", "xarm7_spacemouse", "xarm7_sim_expert"} <= set(TeleoperatorConfig.get_known_choices())
    assert {"srpo_realsense", "srpo_opencv"} <= set(CameraConfig.get_known_choices())


def test_lerobot_record_drives_the_xarm7_through_the_sdk(fake, video, monkeypatch, tmp_path):
    """Keyboard teleop: 5 presses of `w` arrive at once (one +5 cm x command); the safety filter lets one step
    of min(max_linear_step, max_linear_speed / fps) = min(20 mm, 25 mm) through, which the servo thread streams
    to the fake controller's arm in 100 Hz sub-steps."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("wwwww"))
    start = fake.controller.pose_mm_rotvec()[:3].copy()
    info = _lerobot_record(
        monkeypatch, tmp_path / "xarm", "--robot.type=xarm7", f"--robot.ip={fake.config.host}",
        f"--robot.control_port={fake.ports['control']}", "--robot.control_rate_hz=10",
        f"--robot.cameras={{front: {{type: srpo_opencv, index_or_path: {video}, width: 128, height: 96, fps: 30}}}}",
        "--teleop.type=xarm7_keyboard", "--dataset.repo_id=tester/xarm7", "--dataset.fps=10",
        "--dataset.num_episodes=2", "--dataset.episode_time_s=1.5", "--dataset.video=false")
    assert info["robot_type"] == "xarm7" and info["total_episodes"] == 2
    assert info["features"]["observation.state"]["names"] == [n + ".pos" for n in state_names(STATE_KEYS)]
    moved_mm = fake.controller.pose_mm_rotvec()[:3] - start
    assert 5.0 < moved_mm[0] <= 20.0 + 0.5 and abs(moved_mm[1]) < 2  # one filtered step of at most 20 mm

    out = tmp_path / "xarm.zarr"
    assert main(["data", "from-lerobot", str(tmp_path / "xarm"), str(out)]) == 0
    store = EpisodeStore.open(out)
    first, last = store.episode(0), store.episode(1)
    assert store.config.robot == "xarm7" and store.config.action_space == "eef_delta_pos(3)+axis_angle(3)+gripper(1)"
    commands = np.concatenate([first["action"], last["action"]])
    assert commands[:, 0].sum() == pytest.approx(0.05) and commands[:, 0].max() == pytest.approx(0.05)
    # ^ LeRobot records the teleoperator's command (one 5 cm step, then holds), not the filtered 20 mm
    recorded = last["robot0_eef_pos"][-1] - first["robot0_eef_pos"][0]
    np.testing.assert_allclose(recorded * 1000, moved_mm, atol=3.0)  # the observations saw the arm move
    assert first["front_rgb"].shape[1:] == (96, 128, 3) and np.ptp(first["front_rgb"][:, 0, 0, 0]) > 0


def test_lerobot_record_on_the_sim_imports_scores_and_trains(monkeypatch, tmp_path):
    info = _lerobot_record(
        monkeypatch, tmp_path / "sim", "--robot.type=xarm7_sim", "--robot.control_rate_hz=20",
        "--teleop.type=xarm7_sim_expert", "--teleop.noise=0.3", "--dataset.repo_id=tester/xarm7_sim",
        "--dataset.fps=20", "--dataset.num_episodes=2", "--dataset.episode_time_s=2")
    assert info["robot_type"] == "xarm7_sim" and info["total_episodes"] == 2
    assert set(info["features"]) >= {"observation.images.front", "observation.images.wrist", "action"}

    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"0": True, "1": False}))
    store = tmp_path / "sim.zarr"
    assert main(["data", "from-lerobot", str(tmp_path / "sim"), str(store), "--labels", str(labels)]) == 0
    imported = EpisodeStore.open(store)
    assert [c.name for c in imported.config.cameras] == ["front", "wrist"]
    steps = imported.episode(0)
    # the expert moves the tool: the imported eef positions are the sim's, in metres, inside the safety box
    assert np.ptp(steps["robot0_eef_pos"], axis=0).max() > 0.005
    assert np.all(steps["robot0_eef_pos"][:, 2] > 0) and np.all(np.abs(steps["robot0_eef_pos"][:, :2]) < 1)

    assert main(["reward", "compute", str(store), "--encoder", "pixel"]) == 0
    act = option_strings(TINY_ACT)  # a LeRobot ACT that trains in milliseconds, nothing to download
    assert main(["train", "awr", str(store), "--policy", "act", "--reward-run", "srpo_pixel", "--steps", "2",
                 "--batch-size", "4", "--num-workers", "0", "--val-fraction", "0", "--progress", "false",
                 "--out", str(tmp_path / "awr"), "--policy-option", *act]) == 0
    checkpoint = tmp_path / "awr" / "checkpoints" / "last" / "pretrained_model"
    assert (checkpoint / "model.safetensors").is_file()

    # deployment with LeRobot's own tool: lerobot-rollout runs the checkpoint on the robot type it was recorded
    # with (it feeds a policy only <motor>.pos/.vel features: without those names it fails on observation.state)
    from lerobot.scripts import lerobot_rollout

    monkeypatch.setattr(sys, "argv", ["lerobot-rollout", "--strategy.type=base", f"--policy.path={checkpoint}",
                                      "--robot.type=xarm7_sim", "--robot.control_rate_hz=20", "--fps=20",
                                      "--task=lift the cube", "--duration=1"])
    lerobot_rollout.main()
