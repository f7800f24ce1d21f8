"""The srpo_ros nodes on the real rclpy (ROS 2 Jazzy wheels, the `ros` extra): services, topics, QoS, parameters,
logging and shutdown between real nodes, discovery on the loopback only (tests/robot/conftest.py)."""

import time

import numpy as np
import pytest

from srpo.store import EpisodeStore

pytestmark = pytest.mark.ros

ARM = [f"joint{i}" for i in range(1, 8)]


def test_message_round_trips(ros):
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


def test_robot_node_records_over_services_and_republishes(ros, tmp_path):
    """recorder/start, an expert episode ended by max_steps, recorder/label over real services; the state, images and
    executed actions on real topics, and the store holding exactly what was executed."""
    from sensor_msgs.msg import CameraInfo, Image, JointState
    from srpo_ros import msgs
    from srpo_ros.recorder_node import RecorderNode
    from std_msgs.msg import Float32MultiArray, String
    from std_srvs.srv import SetBool, Trigger

    ros.init(source="expert", out=tmp_path / "r.zarr", control_rate_hz=50.0, max_steps=8)
    client = ros.client()
    joints = ros.collect(client, JointState, "xarm/joint_states")
    actions = ros.collect(client, Float32MultiArray, "arm/action")
    events = ros.collect(client, String, "recorder/episode")
    images = ros.collect(client, Image, "camera0/color/image_raw", msgs.IMAGE_QOS)
    infos = ros.collect(client, CameraInfo, "camera0/color/camera_info")
    node = ros.node(RecorderNode)
    assert ros.spin_until(lambda: len(joints) > 2 and images, 20)  # idle ticks publish the state
    assert ros.call(client, Trigger, "recorder/start").success
    assert ros.spin_until(lambda: events, 20)
    assert '"steps": 8' in events[0].data
    assert not ros.call(client, Trigger, "recorder/start").message.startswith("failed")
    reply = ros.call(client, Trigger, "recorder/stop")
    label = ros.call(client, SetBool, "recorder/label", SetBool.Request(data=False))
    assert reply.success and label.success and "success=False" in label.message
    assert ros.spin_until(lambda: len(actions) >= 8, 5)
    store = EpisodeStore.open(tmp_path / "r.zarr")
    assert store.num_episodes == 2 and store.episodes()[0].success is False
    assert store.episodes()[0].task == "lift the red cube"  # the sim task's instruction
    executed = np.array([m.data for m in actions[:8]])
    np.testing.assert_allclose(store.episode(0)["action"][:], executed, atol=1e-6)  # recorded == executed
    assert joints[0].name == ARM and joints[-1].header.stamp.sec > 1_600_000_000  # the node clock
    assert images[-1].header.frame_id == "camera0_color_optical_frame" and images[-1].encoding == "rgb8"
    assert infos[-1].p[10] == 1.0 and (infos[-1].height, infos[-1].width) == (96, 128)
    assert node.control.alive


def test_teleop_commands_move_the_arm_and_bad_messages_are_survived(ros, tmp_path, capfd):
    from srpo_ros.recorder_node import RecorderNode
    from std_msgs.msg import Float32MultiArray, String
    from std_srvs.srv import Trigger

    ros.init(source="topic", out=tmp_path / "t.zarr", control_rate_hz=20.0)
    client = ros.client()
    command = client.create_publisher(Float32MultiArray, "arm/command", 10)
    event = client.create_publisher(String, "teleop/event", 10)
    node = ros.node(RecorderNode)
    assert ros.call(client, Trigger, "recorder/start").success
    assert ros.spin_until(lambda: command.get_subscription_count() and event.get_subscription_count(), 10)
    for _ in range(5):  # +x for a quarter second, 5 ticks at 20 Hz
        command.publish(Float32MultiArray(data=[0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]))
        ros.spin_until(lambda: False, 0.05)
    command.publish(Float32MultiArray(data=[1.0, 2.0]))  # malformed: logged, the node keeps going
    ros.spin_until(lambda: False, 0.5)  # the deadman (0.2 s) releases: the arm holds
    event.publish(String(data="success"))
    assert ros.spin_until(lambda: node.service.last is not None, 10)  # ended and committed
    store = EpisodeStore.open(tmp_path / "t.zarr")
    actions = np.asarray(store.episode(0)["action"][:])
    assert store.episodes()[0].success is True
    assert np.sum(actions[:, 0] > 0.005) >= 3 and np.allclose(actions[-3:, :3], 0.0)  # moved, then held
    assert "7 finite values" in capfd.readouterr().err


def test_a_fault_aborts_the_episode_a_failing_service_answers_and_the_loop_goes_on(ros, tmp_path, capfd):
    from srpo_ros.recorder_node import RecorderNode
    from std_srvs.srv import SetBool, Trigger

    ros.init(source="expert", out=tmp_path / "f.zarr", control_rate_hz=50.0, max_steps=1000)
    client = ros.client()
    node = ros.node(RecorderNode)
    assert ros.call(client, Trigger, "recorder/start").success
    assert ros.spin_until(lambda: node.recorder.active and node.recorder.result.steps > 2, 10)
    read = node.arm.arm.get_observation
    node.arm.arm.get_observation = lambda: (_ for _ in ()).throw(RuntimeError("controller fault C31"))
    assert ros.spin_until(lambda: node.service.last is not None, 10)
    node.arm.arm.get_observation = read
    assert node.service.last.status == "aborted" and "C31" in node.service.last.reason
    node.service.label = lambda success: (_ for _ in ()).throw(OSError("disk full"))
    reply = ros.call(client, SetBool, "recorder/label", SetBool.Request(data=True))
    assert reply.success is False and "disk full" in reply.message
    assert ros.call(client, Trigger, "recorder/start").success and node.control.alive  # and it keeps serving
    assert "C31" in capfd.readouterr().err


def test_a_shutdown_mid_episode_records_no_fault(ros, tmp_path):
    """Ctrl-C shuts rclpy's context down while the control thread ticks and publishes: the episode ends as the
    shutdown, not with the RCLError a publish on a dead context raises."""
    from srpo_ros.recorder_node import RecorderNode

    ros.init(source="expert", out=tmp_path / "s.zarr", control_rate_hz=100.0, max_steps=10_000,
             episodes=1)
    node = RecorderNode()
    deadline = time.monotonic() + 20
    while not (node.recorder.active and node.recorder.result.steps > 5) and time.monotonic() < deadline:
        time.sleep(0.02)
    ros.rclpy.shutdown()  # what the SIGINT handler does
    time.sleep(0.1)  # the control thread meets the dead context
    node.destroy_node()
    info = EpisodeStore.open(tmp_path / "s.zarr").episodes()[0]
    assert (node.service.last.reason, info.status, info.note) == ("node shut down", "aborted", "node shut down")


def test_sim_episodes_replace_objects_and_read_the_arm_once_a_tick(ros, tmp_path):
    """Two expert episodes started by the node itself: the cube is re-placed before each, the second does not
    inherit the first one's success; the arm is read once per tick (plus once at each start)."""
    from srpo_ros.recorder_node import RecorderNode

    from srpo.robot.sim.arm import SimArm

    reads = []
    read = SimArm.get_observation

    def counted(arm):
        reads.append(1)
        return read(arm)

    ros.init(source="expert", out=tmp_path / "s.zarr", episodes=2, expert_noise=0.0, max_steps=150,
             control_rate_hz=100.0)
    SimArm.get_observation = counted
    try:
        node = ros.node(RecorderNode)
        deadline = time.monotonic() + 60
        while (node.service.remaining or node.recorder.active) and time.monotonic() < deadline:
            time.sleep(0.05)
        node.control.stop()
    finally:
        SimArm.get_observation = read
    ticks = len(node.control.tick_times)
    store = EpisodeStore.open(tmp_path / "s.zarr")
    first, second = store.episode(0), store.episode(1)
    assert store.num_episodes == 2 and [e.success for e in store.episodes()] == [True, True]
    assert np.linalg.norm(first["object0_pos"][0][:2] - second["object0_pos"][0][:2]) > 0.005  # re-placed
    assert len(second["action"]) > 30  # a real lift, not "success" 5 ticks in
    assert ticks <= len(reads) <= ticks + 3  # one read a tick, one more when an episode starts


def test_a_calibration_made_at_640x480_is_scaled_to_the_recorded_size(ros, tmp_path):
    from sensor_msgs.msg import CameraInfo
    from srpo_ros.recorder_node import RecorderNode

    from srpo.robot.calibration_file import Intrinsics, new_calibration, set_intrinsics, write_calibration

    doc = new_calibration("ufactory_xarm7", {})
    set_intrinsics(doc, "camera0", Intrinsics(640, 480, 600.0, 600.0, 319.5, 239.5))
    write_calibration(tmp_path / "lab.yaml", doc)
    ros.init(out=tmp_path / "c.zarr", calibration=tmp_path / "lab.yaml")
    client = ros.client()
    infos = ros.collect(client, CameraInfo, "camera0/color/camera_info")
    ros.node(RecorderNode)  # open_store used to raise here: 96x128 recorded, 640x480 calibrated
    intr = EpisodeStore.open(tmp_path / "c.zarr").config.cameras[0].intrinsics
    assert (intr["width"], intr["height"], intr["fx"], intr["cx"], intr["cy"]) == (128, 96, 120.0, 63.5, 47.5)
    assert ros.spin_until(lambda: infos, 10)
    assert infos[-1].k[0] == pytest.approx(120.0) and infos[-1].width == 128


def test_error_logs_are_throttled_per_callback(ros, capfd):
    """Two guarded callbacks failing one after the other are both logged; each one's repeats are throttled."""
    from rclpy.node import Node
    from srpo_ros.spin import guarded

    ros.init()
    node = ros.node(lambda: Node("throttle"))

    def bad_image(msg):
        raise ValueError("bad image encoding 32SC4")

    def controller(msg):
        raise RuntimeError("controller fault C31")

    first, second = guarded(node, bad_image), guarded(node, controller)
    for _ in range(3):
        first(None)
        second(None)
    err = capfd.readouterr().err
    assert err.count("32SC4") == 1 and err.count("C31") == 1


def test_camera_node_publishes_on_a_steady_timer_under_sim_time(ros, video):
    """use_sim_time with no /clock: ROS time stands still, so a ROS-time timer would never fire."""
    from sensor_msgs.msg import CameraInfo, Image
    from srpo_ros import msgs
    from srpo_ros.camera_node import CameraNode

    ros.init(type="srpo_opencv", index_or_path=video, name="camera1", height=48, width=64, fps=30, use_sim_time="true")
    client = ros.client()
    images = ros.collect(client, Image, "camera1/color/image_raw", msgs.IMAGE_QOS)
    infos = ros.collect(client, CameraInfo, "camera1/color/camera_info")
    ros.node(CameraNode)
    assert ros.spin_until(lambda: len(images) >= 3 and infos, 15)
    assert (images[-1].height, images[-1].width, images[-1].encoding) == (48, 64, "rgb8")
    assert images[-1].header.frame_id == infos[-1].header.frame_id == "camera1_color_optical_frame"
    assert len({bytes(m.data) for m in images}) == len(images)  # each a new frame of the video


class SpaceMouseDouble:
    """Stands in for the SpaceMouse (a USB device): one +x step per poll, then a success event."""

    def __init__(self):
        self.polls = 0

    def act(self, obs):
        self.polls += 1
        return np.array([0.001 * self.polls, 0, 0, 0, 0, 0, 0])

    def events(self):
        return ["success"] if self.polls == 2 else []


def test_teleop_node_answers_the_newest_arm_state_only(ros, monkeypatch):
    """Five states queued while the node was busy: it answers the newest (depth-1 state subscriptions), not five
    stale ones; a JointState of other joints (xarm_ros2's gripper) gets no command."""
    import io

    from sensor_msgs.msg import JointState
    from srpo_ros.teleop_node import TeleopNode
    from std_msgs.msg import Float32MultiArray, String

    from srpo.errors import UserFacingError
    from srpo.robot.teleop import SpaceMouseTeleopConfig

    ros.init(source="keyboard")
    with pytest.raises(UserFacingError, match="needs a terminal"):
        TeleopNode(stdin=io.StringIO())
    monkeypatch.setattr(SpaceMouseTeleopConfig, "build", lambda self, *args: SpaceMouseDouble())
    ros.init(source="spacemouse")
    client = ros.client()
    commands = ros.collect(client, Float32MultiArray, "arm/command")
    events = ros.collect(client, String, "teleop/event")
    pub = client.create_publisher(JointState, "xarm/joint_states", 10)
    node = ros.node(TeleopNode)
    assert ros.spin_until(lambda: pub.get_subscription_count() == 1, 10)
    for i in range(5):
        pub.publish(JointState(name=ARM, position=[float(i)] * 7))
    time.sleep(0.3)  # delivered to the node's reader, not yet taken
    ros.spin_until(lambda: False, 0.5, nodes=[node])  # the teleop node alone takes what it kept
    assert ros.spin_until(lambda: len(commands) >= 1, 10)
    ros.spin_until(lambda: False, 0.3)
    pub.publish(JointState(name=["drive_joint"], position=[0.2]))
    pub.publish(JointState(name=ARM, position=[0.0] * 7))
    ros.spin_until(lambda: len(commands) >= 2 and events, 10)
    ros.spin_until(lambda: False, 0.3)
    assert [m.data[0] for m in commands] == pytest.approx([0.001, 0.002])  # one per newest state, none for the gripper's
    assert [m.data for m in events] == ["success"]


def test_typed_parameters_and_an_empty_yaml_list(ros, tmp_path):
    """-p values of another type than the default, and `[]` in a parameter file (rcl leaves it unset), are read
    as the defaults' types."""
    from rclpy.node import Node
    from srpo_ros.spin import declare

    from srpo.ros_bridge import params

    (tmp_path / "p.yaml").write_text("recorder_node:\n  ros__parameters:\n    depth_topics: []\n    max_steps: 300\n")
    ros.init("--params-file", str(tmp_path / "p.yaml"), control_rate_hz=100, **{
        "backend.type": "xarm", "backend.control_port": 5020, "backend.ip": "127.0.0.1", "safety.workspace_max": "[1.0, 0.5, 0.6]"})
    p = declare(ros.node(lambda: Node("recorder_node")), params.ROBOT, backend_fields=True)
    assert (p["control_rate_hz"], p["max_steps"], p["depth_topics"]) == (100.0, 300, [])
    assert (p["backend.control_port"], p["backend.ip"]) == (5020, "127.0.0.1")
    assert "backend.cameras" not in p  # none given: the backend's default cameras stand
    assert p["safety.workspace_max"] == (1.0, 0.5, 0.6) and p["safety.max_linear_speed"] == 0.25  # SafetyConfig's


def test_backend_cameras_are_nested_parameters_giving_lerobot_camera_configs(ros, tmp_path):
    """A YAML nests backend.cameras.<name>.<field> as a config file does; -p sets one field; the robot node's
    parameters become the xArm backend's dict of LeRobot camera configs (this project's type and LeRobot's own)."""
    from lerobot.cameras.opencv import OpenCVCameraConfig
    from rclpy.node import Node
    from srpo_ros.spin import declare

    from srpo.robot.config_lerobot_cameras import SrpoRealSenseConfig
    from srpo.robot.rig import backend_config
    from srpo.ros_bridge import params

    (tmp_path / "p.yaml").write_text(
        "recorder_node:\n  ros__parameters:\n    backend:\n      type: xarm\n      cameras:\n"
        "        camera0:\n          type: srpo_realsense\n          serial_number_or_name: '036522072967'\n"
        "          use_depth: true\n        wrist:\n          type: opencv\n          index_or_path: 2\n"
        "          width: 640\n          height: 480\n")
    ros.init("--params-file", str(tmp_path / "p.yaml"), **{"backend.cameras.wrist.fps": 15})
    p = declare(ros.node(lambda: Node("recorder_node")), params.ROBOT, backend_fields=True)
    backend = backend_config(p["backend.type"], **params.backend_settings(p))
    assert backend.cameras == {
        "camera0": SrpoRealSenseConfig(serial_number_or_name="036522072967", use_depth=True),
        "wrist": OpenCVCameraConfig(index_or_path=2, width=640, height=480, fps=15)}


def test_policy_node_without_a_robot_times_out_with_the_reason(ros, tiny_act):
    from rclpy.executors import SingleThreadedExecutor
    from srpo_ros.policy_node import PolicyNode

    from srpo.errors import UserFacingError

    ros.init(policy=tiny_act, episodes=1, start_timeout_s=1.0)
    node = ros.node(PolicyNode)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    start = time.monotonic()
    with pytest.raises(UserFacingError, match=r"no episode started within 1 s: no complete robot state"):
        while time.monotonic() - start < 10:
            executor.spin_once(timeout_sec=0.1)
    executor.remove_node(node)
    assert node.episodes.state == "failed"

