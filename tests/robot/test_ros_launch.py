"""The launch files: launch/launch_ros through their double (not installable here, tests/robot/launch_double.py),
the nodes they start on the real rclpy with exactly the --params-file arguments launch_ros would give them."""

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from srpo.store import EpisodeStore

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = ROOT / "launch"
CONFIG = ROOT / "robot_ws" / "src" / "srpo_ros" / "config"


def _launch(double, name: str, **arguments) -> list:
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), LAUNCH / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return double.run_launch(module.generate_launch_description(), **arguments)


def _node(actions, executable):
    return next(a for a in actions if getattr(a, "executable", None) == executable)


def _merged(action) -> dict:
    """The one parameter dict the launch file handed the node (in its one file)."""
    (path,) = action.parameters
    return yaml.safe_load(Path(path).read_text())["/**"]["ros__parameters"]


def _declared(ros, action, spec_name: str, backend_fields: bool = False) -> dict:
    """The parameters a real node named as `action` reads, started with what launch_ros passes it."""
    import launch_double
    from rclpy.node import Node
    from srpo_ros.spin import declare

    from srpo.ros_bridge import params

    ros.init(*launch_double.launch_ros_args(action))
    return declare(ros.node(lambda: Node(action.name)), getattr(params, spec_name), backend_fields)


def test_merge_decided_then_yaml_then_typed_and_a_missing_file_is_an_error(launch_double, tmp_path):
    from srpo_ros.launch_args import merge

    path = tmp_path / "p.yaml"
    path.write_text("/**:\n  ros__parameters: {task: wild, out: a.zarr}\n"
                    "recorder_node:\n  ros__parameters:\n    task: from yaml\n    backend: {ip: 10.0.0.2}\n"
                    "teleop_node:\n  ros__parameters: {task: not mine}\n")
    merged = merge("recorder_node", {"source": "topic", "out": "decided.zarr", "task": "decided"}, str(path),
                   {"control_rate_hz": "100"})
    assert merged == {"source": "topic", "out": "a.zarr", "task": "from yaml", "backend.ip": "10.0.0.2",
                      "control_rate_hz": "100"}
    assert merge("recorder_node", {"task": "decided"}, str(path), {"task": "typed"})["task"] == "typed"
    with pytest.raises(RuntimeError, match="params:=.*missing.yaml is not a file"):
        merge("recorder_node", {}, str(tmp_path / "missing.yaml"), {})


def test_typed_arguments_beat_the_yaml_and_digit_text_stays_text_on_a_real_node(launch_double, ros):
    """params:=config/xarm.yaml plus typed arguments, into a real node: the YAML's instruction and rate stand,
    what was typed wins (launch_ros's own ordering let the YAML's `recorder_node:` section win), and serials
    typed as digits stay text (launch_ros's yaml.dump of a dict gives rcl 036522072967 unquoted: a float)."""
    actions = _launch(launch_double, "teleop_record.launch.py", params=str(CONFIG / "xarm.yaml"), teleop="spacemouse",
                      xarm_ip="127.0.0.9", max_steps="300", realsense_serials="036522072967,123")
    p = _declared(ros, _node(actions, "recorder_node"), "ROBOT", backend_fields=True)
    assert (p["task"], p["control_rate_hz"], p["out"]) == ("put the red cube in the bowl", 100.0, "datasets/xarm.zarr")
    assert (p["backend.ip"], p["max_steps"], p["source"]) == ("127.0.0.9", 300, "topic")
    cameras = p["backend.cameras"]  # the typed serials replace the YAML's cameras (no YAML serial survives)
    assert {n: (c.type, c.serial_number_or_name) for n, c in cameras.items()} == {
        "camera0": ("srpo_realsense", "036522072967"), "camera1": ("srpo_realsense", "123")}
    assert p["depth_topics"] == []
    assert (p["backend.type"], p["backend.control_port"], p["camera_height"]) == ("xarm", 502, 240)
    assert _declared(ros, _node(actions, "teleop_node"), "TELEOP")["source"] == "spacemouse"  # the YAML says keyboard
    # why the launch files write the file themselves: the same value in a dict that launch_ros dumps
    plain = launch_double.LaunchNode(package="srpo_ros", executable="x", name="recorder_node", parameters=[{
        "backend.type": "xarm", "backend.cameras.camera0.type": "srpo_realsense",
        "backend.cameras.camera0.serial_number_or_name": "036522072967"}])
    from srpo.errors import UserFacingError

    with pytest.raises(UserFacingError, match="36522072967.0.*quote text made of digits"):  # refused, not mangled
        _declared(ros, plain, "ROBOT", True)


def test_realsense_cameras_match_the_robot_nodes_topics(launch_double):
    actions = _launch(launch_double, "teleop_record.launch.py", cameras="realsense", realsense_serials="111,222",
                      teleop="spacemouse", backend="xarm")
    cams = [a for a in actions if a.package == "realsense2_camera"]
    assert [(c.namespace, c.name, c.parameters[0]["serial_no"]) for c in cams] == [
        ("camera0", "camera0", "_111"), ("camera1", "camera1", "_222")]  # realsense-ros strips the "_"
    assert _merged(_node(actions, "recorder_node"))["image_topics"] == ["/camera0/camera0/color/image_raw",
                                                                       "/camera1/camera1/color/image_raw"]
    with pytest.raises(RuntimeError, match="realsense_serials"):
        _launch(launch_double, "teleop_record.launch.py", cameras="realsense")
    with pytest.raises(ValueError, match="not one of"):
        _launch(launch_double, "teleop_record.launch.py", teleop="joystick")


def test_deploy_launch_in_the_robot_node_and_as_a_node_of_its_own(launch_double, ros):
    with pytest.raises(RuntimeError, match="policy:=CHECKPOINT"):
        _launch(launch_double, "deploy_policy.launch.py")
    (robot,) = _launch(launch_double, "deploy_policy.launch.py", policy="outputs/act", params=str(CONFIG / "sim.yaml"))
    assert _merged(robot) == {"source": "policy", "backend.type": "sim", "task": "lift", "out": "datasets/ros_sim.zarr",
                              "control_rate_hz": 20.0, "max_steps": 200, "policy": "outputs/act", "episodes": "10"}
    assert isinstance(robot.on_exit, launch_double.Shutdown)
    arm, policy, note = _launch(launch_double, "deploy_policy.launch.py", policy="p", policy_in="node", rate="100",
                                task="place", backend="sim", params=str(CONFIG / "sim.yaml"))
    assert "wall-clock" in note.msg and arm.executable == "arm_node"
    assert _merged(arm)["source_name"] == "policy" and _merged(arm)["control_rate_hz"] == "100"
    p = _declared(ros, policy, "POLICY")
    from srpo.robot.rig import backend_config

    assert backend_config(p["backend.type"]).instruction(p["task"]) == "put the red cube on the green pad"
    assert p["image_topics"] == ["camera0/color/image_raw", "camera1/color/image_raw"]


def test_dry_run_launch_node_sdk_fake_controller(launch_double, ros, fake_process, video, tmp_path):
    """The dry run as docs/robot.md types it: teleop_record.launch.py with config/xarm.yaml, the fake controller's
    address and two video files typed; the real robot node it starts drives the unmodified xArm SDK against the
    fake controller (its own process) at 100 Hz, records what it executed and republishes state and images."""
    pytest.importorskip("xarm")
    from geometry_msgs.msg import PoseStamped
    from sensor_msgs.msg import Image
    from srpo_ros import msgs
    from srpo_ros.recorder_node import RecorderNode
    from std_msgs.msg import Float32MultiArray
    from std_srvs.srv import SetBool, Trigger

    host, port = fake_process
    out = tmp_path / "dry.zarr"
    actions = _launch(launch_double, "teleop_record.launch.py", params=str(CONFIG / "xarm.yaml"), teleop="spacemouse",
                      xarm_ip=host, xarm_control_port=str(port), opencv_devices=f"{video},{video}", out=str(out))
    ros.init(*launch_double.launch_ros_args(_node(actions, "recorder_node")))
    client = ros.client()
    executed = ros.collect(client, Float32MultiArray, "arm/action")
    poses = ros.collect(client, PoseStamped, "arm/eef_pose")
    images = ros.collect(client, Image, "camera1/color/image_raw", msgs.IMAGE_QOS)
    command = client.create_publisher(Float32MultiArray, "arm/command", 10)
    node = ros.node(RecorderNode)
    for _ in range(100):  # the camera threads deliver their first frames
        if ros.call(client, Trigger, "recorder/start").success:
            break
        time.sleep(0.05)
    assert ros.spin_until(lambda: command.get_subscription_count() and poses, 10)
    start = poses[-1].pose.position.x
    end = time.monotonic() + 20
    while sum(m.data[0] > 0 for m in executed) < 15 and time.monotonic() < end:  # a loaded box: however long it takes
        command.publish(Float32MultiArray(data=[0.01, 0, 0, 0, 0, 0, 0]))  # +x: 2.5 mm a tick after the safety filter
        ros.spin_until(lambda: False, 0.01)
    ros.spin_until(lambda: False, 0.5)  # the deadman releases, the arm holds and settles
    assert ros.call(client, SetBool, "recorder/label", SetBool.Request(data=True)).success
    ros.spin_until(lambda: False, 0.2)
    moved = (poses[-1].pose.position.x - start) * 1000  # mm, read back from the fake arm through the SDK
    store = EpisodeStore.open(out)
    episode = store.episode(0)
    sent = np.array([m.data for m in executed])
    assert store.num_episodes == 1 and store.episodes()[0].success is True, store.episodes()[0].note
    assert store.episodes()[0].task == "put the red cube in the bowl"  # the YAML's instruction
    np.testing.assert_allclose(episode["action"][:], sent[:len(episode["action"])], atol=1e-6)  # recorded == executed
    moving = int(np.sum(sent[:, 0] > 0))
    np.testing.assert_allclose(sent[sent[:, 0] > 0, 0], 0.0025, atol=1e-6)
    assert 10 <= moving and moved == pytest.approx(2.5 * moving, abs=3.0)  # every step reached the fake arm
    assert episode["camera0_rgb"].shape[1:] == (240, 320, 3)  # config/xarm.yaml's size, from 96x128 video frames
    assert images and node.control.alive


def test_deploy_policy_node_commands_the_arm_node(launch_double, ros, tiny_act, tmp_path):
    """deploy_policy.launch.py policy_in:=node: policy_node waits for arm_node's first complete state, asks
    recorder/start, answers states with commands; arm_node executes them through the safety filter and records
    exactly what it executed, as source "policy"."""
    from srpo_ros.policy_node import PolicyNode
    from srpo_ros.recorder_node import RecorderNode

    out = tmp_path / "p.zarr"
    arm_action, policy_action, _ = _launch(launch_double, "deploy_policy.launch.py", policy=tiny_act, policy_in="node",
                                           episodes="1", max_steps="40", out=str(out))
    ros.init(*launch_double.launch_ros_args(arm_action))
    arm = ros.node(lambda: RecorderNode("arm_node"))
    # its own process in a launch: here its own arguments (rclpy Node cli_args), not the process's
    policy = ros.node(lambda: PolicyNode(cli_args=launch_double.launch_ros_args(policy_action),
                                         use_global_arguments=False))
    assert policy.source.task == arm.task_text == "lift the red cube"  # the instruction both use
    assert ros.spin_until(lambda: policy.episodes.state == "done", 90)
    store = EpisodeStore.open(out)
    actions = np.asarray(store.episode(0)["action"][:])
    assert store.num_episodes == 1 and store.episodes()[0].source == "policy" and len(actions) == 40
    assert len(policy.episodes.successes) == 1
    assert 3 <= np.any(actions[:, :6] != 0, axis=1).sum()  # ticks that executed a policy command (the rest held)


def test_policy_inside_the_robot_node_blocks_in_simulated_time(launch_double, ros, tiny_act, tmp_path):
    """deploy_policy.launch.py policy_in:=robot on the sim, as `srpo robot deploy`: the robot node runs its
    episodes itself and waits for inference (every tick acts, none holds), recording source "policy"."""
    from srpo_ros.recorder_node import RecorderNode

    (robot,) = _launch(launch_double, "deploy_policy.launch.py", policy=tiny_act, episodes="1", max_steps="12",
                       out=str(tmp_path / "d.zarr"))
    ros.init(*launch_double.launch_ros_args(robot))
    node = ros.node(RecorderNode)
    assert node.policy.config.blocking
    deadline = time.monotonic() + 60
    while node.service.last is None and time.monotonic() < deadline:
        time.sleep(0.05)
    store = EpisodeStore.open(tmp_path / "d.zarr")
    actions = np.asarray(store.episode(0)["action"][:])
    assert store.episodes()[0].source == "policy" and len(actions) == 12
    assert np.all(np.any(actions[:, :6] != 0, axis=1))  # inference never left a tick without an action
