"""Message-fed components under the ROS nodes: the same recorder runs on topic data."""

import time

import numpy as np
import pytest

from srpo.robot.arm import ArmError
from srpo.robot.bridge import StreamArm, StreamCamera, StreamTeleop
from srpo.robot.cameras import CameraError
from srpo.robot.recorder import EpisodeRecorder, LoopConfig
from srpo.robot.runner import open_store
from srpo.robot.safety import SafetyFilter
from srpo.store import EpisodeStore


def _feed(arm, cam, t):
    arm.update("robot0_joint_pos", np.zeros(7), t)
    arm.update("robot0_eef_pos", [0.4, 0.0, 0.2], t)
    arm.update("robot0_eef_rot_axis_angle", [np.pi, 0, 0], t)
    arm.update("robot0_gripper_width", [0.085], t)
    cam.update(np.full((48, 64, 3), 7, np.uint8), t - 0.01)


def test_topic_fed_recorder_with_service_label(tmp_path):
    sent = []
    arm, cam, teleop = StreamArm(sent.append, stale_after_s=5), StreamCamera(24, 32), StreamTeleop(deadman_s=5)
    with pytest.raises(ArmError, match="no arm state"):
        arm.get_observation()
    with pytest.raises(CameraError, match="no image"):
        cam.latest()
    _feed(arm, cam, 1.0)
    store = open_store(tmp_path / "ros.zarr", {"camera0": cam}, 30.0)
    rec = EpisodeRecorder(arm, {"camera0": cam}, SafetyFilter(control_rate_hz=30), store, LoopConfig(max_steps=100))
    rec.start("wipe the table", teleop, "teleop")
    teleop.update([0.5, 0, 0, 0, 0, 0, 1.0])  # too fast: clamped by the filter
    assert rec.tick()
    assert rec.tick()  # no new message: hold
    teleop.event("stop")
    _feed(arm, cam, 1.1)
    assert not rec.tick()
    result = rec.finish(success=True)  # the label service
    assert result.steps == 3 and result.success is True
    np.testing.assert_allclose(sent[0][:3], [SafetyFilter(control_rate_hz=30).max_step, 0, 0], atol=1e-6)
    np.testing.assert_allclose(sent[1], [0, 0, 0, 0, 0, 0, 1.0])
    ep = EpisodeStore.open(tmp_path / "ros.zarr").episode(0)
    assert ep["camera0_rgb"].shape == (3, 24, 32, 3)  # resized to the store's size
    np.testing.assert_allclose(ep["camera0_timestamp"], [0.99, 0.99, 1.09])


def test_stale_state_and_deadman():
    arm = StreamArm(lambda a: None, stale_after_s=0.05)
    _feed(arm, StreamCamera(48, 64), 0.0)
    time.sleep(0.08)
    with pytest.raises(ArmError, match="older than"):
        arm.get_observation()
    teleop = StreamTeleop(deadman_s=0.05)
    teleop.update(np.ones(7))
    time.sleep(0.08)
    assert teleop.act({}) is None
