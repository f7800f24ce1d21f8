"""ROS 2 node tests: run where rclpy imports (ROS 2 Jazzy), skipped with that reason elsewhere."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "robot_ws" / "src" / "srpo_ros"

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip("rclpy", reason="rclpy (ROS 2 Jazzy) is not installed here; node tests need it")
sys.path.insert(0, str(PKG))


def test_message_round_trips():
    from builtin_interfaces.msg import Time
    from srpo_ros import msgs

    from srpo.ros_bridge import convert

    stamp = Time(sec=12, nanosec=500_000_000)
    rgb = np.random.default_rng(0).integers(0, 255, (6, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(convert.image_to_rgb(msgs.image(rgb, stamp, "c")), rgb)
    pose = msgs.pose([0.4, 0.1, 0.2], [np.pi - 0.1, 0, 0], stamp)
    pos, rotvec = convert.pose_to_arrays(pose.pose)
    np.testing.assert_allclose(pos, [0.4, 0.1, 0.2], atol=1e-6)
    np.testing.assert_allclose(rotvec, [np.pi - 0.1, 0, 0], atol=1e-5)
    js = msgs.joint_state(np.arange(7), stamp)
    js.name, js.position = list(reversed(js.name)), list(reversed(js.position))
    np.testing.assert_allclose(convert.joint_positions(js.name, js.position), np.arange(7))


def test_launch_descriptions_build():
    import importlib.util

    for launch_file in ("teleop_record.launch.py", "deploy_policy.launch.py"):
        spec = importlib.util.spec_from_file_location("lf", PKG / "launch" / launch_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert len(module.generate_launch_description().entities) > 3


def test_recorder_node_sim_expert_services(tmp_path):
    from srpo_ros.recorder_node import RecorderNode
    from std_srvs.srv import SetBool, Trigger

    from srpo.store import EpisodeStore

    os.environ.setdefault("MUJOCO_GL", "egl")
    rclpy.init(args=["--ros-args", "-p", "backend:=sim", "-p", "source:=expert", "-p", f"out:={tmp_path / 'r.zarr'}",
                     "-p", "control_rate_hz:=50.0", "-p", "max_steps:=30", "-p", "source_name:=sim"])
    try:
        node = RecorderNode()
        assert node._start(Trigger.Request(), Trigger.Response()).success
        for _ in range(200):
            rclpy.spin_once(node, timeout_sec=0.05)
            if not node.recorder.active:
                break
        resp = node._label(SetBool.Request(data=False), SetBool.Response())
        assert resp.success
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
    store = EpisodeStore.open(tmp_path / "r.zarr")
    assert store.num_episodes == 1 and store.episodes()[0].success is False


def test_typed_parameters_and_an_empty_yaml_list(tmp_path):
    """Issue 16 items 6 and 12 on real rclpy: -p values of another type than the default, and `[]` in a
    parameter file (rcl leaves it unset), are read as the defaults' types."""
    from rclpy.node import Node
    from srpo_ros.spin import declare

    from srpo.ros_bridge import params

    (tmp_path / "p.yaml").write_text("recorder_node:\n  ros__parameters:\n    depth_topics: []\n    max_steps: 300\n")
    rclpy.init(args=["--ros-args", "--params-file", str(tmp_path / "p.yaml"), "-p", "control_rate_hz:=100",
                     "-p", "xarm_control_port:=5020", "-p", "xarm_ip:=127.0.0.1"])
    try:
        node = Node("recorder_node")
        p = declare(node, params.ROBOT)
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
    assert (p["control_rate_hz"], p["max_steps"], p["depth_topics"]) == (100.0, 300, [])
    assert (p["xarm_control_port"], p["xarm_ip"]) == (5020, "127.0.0.1")
