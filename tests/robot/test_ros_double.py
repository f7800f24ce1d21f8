"""Every srpo_ros node constructor, callback and launch file, run against the rclpy/launch double
(tests/robot/rclpy_double.py): ROS 2 cannot be installed here. The same flows on real rclpy: test_ros_nodes.py."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from srpo.store import EpisodeStore

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = ROOT / "robot_ws" / "src" / "srpo_ros" / "launch"
CONFIG = ROOT / "robot_ws" / "src" / "srpo_ros" / "config"


def _ros_args(**params) -> list[str]:
    return ["--ros-args", *[x for k, v in params.items() for x in ("-p", f"{k}:={v}")]]


def _launch(ros, name: str, **arguments) -> list:
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), LAUNCH / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return ros.run_launch(module.generate_launch_description(), **arguments)


def test_parameters_given_with_p_pass_rclpy_type_check(ros):
    ros.init(_ros_args(device=0, serial=123456789012, fps=15))
    node = ros.Node("n")
    with pytest.raises(ros.InvalidParameterTypeException):
        node.declare_parameter("device", "0")  # what the old nodes did
    from srpo_ros.spin import declare

    from srpo.ros_bridge import params

    p = declare(ros.Node("camera_node"), params.CAMERA)
    assert (p["device"], p["serial"], p["fps"]) == ("0", "123456789012", 15)


def test_recorder_node_sim_expert_services_and_republishing(ros, tmp_path):
    from srpo_ros.recorder_node import RecorderNode

    ros.init(_ros_args(backend="sim", source="expert", out=tmp_path / "r.zarr", control_rate_hz=50, max_steps=8,
                       depth_topics="[]"))
    node = RecorderNode()
    assert node.call("recorder/start").success
    node.tick(20)  # the episode ends at max_steps on tick 8; later ticks republish the idle state
    assert node.call("recorder/label", data=False).success
    events = node.publishers["recorder/episode"].sent
    assert len(events) == 1 and '"steps": 8' in events[0].data
    joints = node.publishers["xarm/joint_states"].sent
    assert len(joints) == 20 and joints[0].name == [f"joint{i}" for i in range(1, 8)]
    assert joints[-1].header.stamp.sec > 1_600_000_000  # the node clock, not simulated seconds
    assert node.publishers["camera0/color/image_raw"].qos == "system_default"  # REP 2003: RViz subscribes too
    image = node.publishers["camera0/color/image_raw"].sent[-1]
    assert image.header.frame_id == "camera0_color_optical_frame" and image.encoding == "rgb8"
    assert node.publishers["camera0/color/camera_info"].sent[-1].p[10] == 1.0
    actions = np.array([m.data for m in node.publishers["arm/action"].sent])
    store = EpisodeStore.open(tmp_path / "r.zarr")
    assert store.num_episodes == 1 and store.episodes()[0].success is False
    np.testing.assert_allclose(store.episode(0)["action"][:], actions, atol=1e-6)  # recorded == executed
    assert store.episodes()[0].task == "lift the red cube"  # the sim task's instruction
    node.destroy_node()


def test_recorder_node_takes_teleop_commands_and_survives_bad_messages(ros, tmp_path):
    from srpo_ros.recorder_node import RecorderNode

    ros.init(_ros_args(backend="sim", source="topic", out=tmp_path / "t.zarr", control_rate_hz=20))
    node = RecorderNode()
    node.tick()
    assert node.call("recorder/start").success
    command = [0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    for _ in range(4):
        node.deliver("arm/command", ros.Float32MultiArray(data=command))
        node.tick()
    node.deliver("arm/command", ros.Float32MultiArray(data=[1.0, 2.0]))  # malformed: logged, node keeps going
    node.tick()
    assert any("7 finite values" in m for level, m in node.logger.records if level == "error")
    node.deliver("teleop/event", ros.String(data="success"))
    node.tick()
    store = EpisodeStore.open(tmp_path / "t.zarr")
    episode = store.episode(0)
    assert store.episodes()[0].success is True and len(episode["action"]) == 6
    actions = np.asarray(episode["action"][:])
    assert np.all(actions[:4, 0] > 0.005) and np.allclose(actions[4:, :3], 0.0)  # moves, then holds
    node.destroy_node()


def test_a_fault_in_the_tick_aborts_the_episode_and_keeps_spinning(ros, tmp_path):
    from srpo_ros.recorder_node import RecorderNode

    ros.init(_ros_args(backend="sim", source="expert", out=tmp_path / "f.zarr"))
    node = RecorderNode()
    assert node.call("recorder/start").success
    node.tick(2)
    node.arm.arm.get_observation = lambda: (_ for _ in ()).throw(RuntimeError("controller fault C31"))
    node.tick(3)
    errors = [m for level, m in node.logger.records if level == "error"]
    assert errors and "C31" in errors[0]
    assert node.service.last.status == "aborted" and not node.recorder.active


def test_a_failing_service_still_answers(ros, tmp_path):
    from srpo_ros.recorder_node import RecorderNode

    ros.init(_ros_args(backend="sim", source="expert", out=tmp_path / "f.zarr"))
    node = RecorderNode()
    node.service.label = lambda success: (_ for _ in ()).throw(OSError("disk full"))
    reply = node.call("recorder/label", data=True)
    assert reply.success is False and "disk full" in reply.message
    assert node.call("recorder/start").success  # and the node keeps serving
    node.destroy_node()


def test_start_with_stale_state_is_refused_not_fatal(ros, tmp_path):
    from srpo_ros.recorder_node import RecorderNode

    ros.init(_ros_args(backend="sim", source="topic", image_topics="[/cam0/color/image_raw]"))
    node = RecorderNode()
    reply = node.call("recorder/start")
    assert not reply.success and "no image received yet" in reply.message
    node.deliver("/cam0/color/image_raw", ros.Image(height=2, width=2, encoding="yuv422", step=4, data=bytes(16)))
    node.deliver("/cam0/color/image_raw", ros.Image(height=2, width=2, encoding="32SC4", step=32, data=bytes(64)))
    assert any("32SC4" in m for _, m in node.logger.records)
    assert node.cameras["camera0"].latest().rgb.shape == (96, 128, 3)  # the yuv422 frame, resized


class SpaceMouseDouble:
    """Stands in for the SpaceMouse (a USB device): one +x step per poll, then a success event."""

    def __init__(self):
        self.polls = 0

    def act(self, obs):
        self.polls += 1
        return np.array([0.001 * self.polls, 0, 0, 0, 0, 0, 0])

    def events(self):
        return ["success"] if self.polls == 2 else []


def test_teleop_node_answers_each_arm_state_once(ros, monkeypatch):
    import io

    from srpo_ros.teleop_node import TeleopNode

    from srpo.robot.teleop import SpaceMouseTeleopConfig

    ros.init(_ros_args(source="keyboard"))
    with pytest.raises(Exception, match="needs a terminal"):
        TeleopNode(stdin=io.StringIO())
    monkeypatch.setattr(SpaceMouseTeleopConfig, "build", lambda self, *args: SpaceMouseDouble())
    ros.init(_ros_args(source="spacemouse"))
    node = TeleopNode()
    arm = ros.JointState(name=[f"joint{i}" for i in range(1, 8)], position=[0.0] * 7)
    node.deliver("xarm/joint_states", arm)
    node.deliver("xarm/joint_states", ros.JointState(name=["drive_joint"], position=[0.2]))  # xarm_ros2's gripper
    node.deliver("xarm/joint_states", arm)
    commands = [m.data[0] for m in node.publishers["arm/command"].sent]
    assert commands == pytest.approx([0.001, 0.002])  # one command per arm state, none for the gripper's
    assert [m.data for m in node.publishers["teleop/event"].sent] == ["success"]


def test_policy_node_starts_when_the_first_state_arrives(ros, tiny_act):
    from srpo_ros.policy_node import PolicyNode

    ros.init(_ros_args(policy=tiny_act, episodes=1, image_topics="[camera0/color/image_raw,camera1/color/image_raw]"))
    node = PolicyNode()
    state = ros.JointState(name=[f"joint{i}" for i in range(1, 8)], position=[0.0] * 7)
    node.deliver("xarm/joint_states", state)
    assert node.clients["recorder/start"].requests == []  # pose, gripper, images missing
    pose = ros.PoseStamped()
    pose.pose.position.x = 0.4
    node.deliver("arm/eef_pose", pose)
    node.deliver("arm/gripper_width", ros.Float32(data=0.08))
    rgb = np.zeros((96, 128, 3), np.uint8)
    from srpo.ros_bridge import convert

    for i in range(2):
        node.deliver(f"camera{i}/color/image_raw", convert.fill_image(ros.Image(), rgb))
    node.deliver("xarm/joint_states", state)
    (request, future), = node.clients["recorder/start"].requests
    future._result = ros.Trigger.Response(success=True, message="recording")
    for callback in future.callbacks:
        callback(future)
    assert node.episodes.acting
    import time

    deadline = time.monotonic() + 60  # a loaded CI box: the first inference can take seconds
    while time.monotonic() < deadline:  # inference runs off the callback thread: the first states get nothing
        for i in range(2):  # fresh frames, as a camera streams them (an old frame is refused)
            node.deliver(f"camera{i}/color/image_raw", convert.fill_image(ros.Image(), rgb))
        node.deliver("arm/eef_pose", pose)
        node.deliver("arm/gripper_width", ros.Float32(data=0.08))
        node.deliver("xarm/joint_states", state)
        if node.publishers["arm/command"].sent:
            break
        time.sleep(0.02)
    sent = node.publishers["arm/command"].sent
    assert len(sent) == 1 and len(sent[0].data) == 7 and np.all(np.isfinite(sent[0].data))
    node.deliver("recorder/episode", ros.String(data='{"index": 0, "status": "complete", "success": true}'))
    assert node.episodes.state == "done" and node.episodes.success_rate == 1.0
    node.destroy_node()


def test_main_ends_quietly_on_launch_shutdown_and_on_user_errors(ros, capsys):
    from srpo_ros import policy_node, recorder_node

    recorder_node.main(_ros_args(backend="sim", source="expert"))  # spin raises ExternalShutdownException
    with pytest.raises(SystemExit) as exit_info:
        policy_node.main(_ros_args(device="cpu"))
    assert exit_info.value.code == 1 and "needs policy:=CHECKPOINT" in capsys.readouterr().err


def _params(node) -> list:
    return node.parameters


def test_teleop_launch_passes_yaml_before_typed_arguments(ros):
    actions = _launch(ros, "teleop_record.launch.py", params="/cfg/xarm.yaml", teleop="spacemouse", rate="100",
                      task="put the red cube in the bowl")
    recorder, teleop = (a for a in actions if isinstance(a, ros.LaunchNode))
    decided, yaml_file, typed = recorder.parameters
    assert decided == {"source": "topic", "out": "datasets/ros.zarr"} and yaml_file == "/cfg/xarm.yaml"
    assert typed == {"control_rate_hz": "100", "task": "put the red cube in the bowl"}  # nothing else overrides YAML
    assert isinstance(recorder.on_exit, ros.Shutdown)
    assert teleop.executable == "teleop_node" and teleop.parameters == ["/cfg/xarm.yaml", {"source": "spacemouse"}]


def test_teleop_launch_without_yaml_passes_only_what_was_typed(ros):
    (recorder,) = _launch(ros, "teleop_record.launch.py")
    assert recorder.parameters == [{"source": "expert", "out": "datasets/ros.zarr"}]
    actions = _launch(ros, "teleop_record.launch.py", teleop="keyboard", backend="xarm", xarm_ip="127.0.0.1",
                      xarm_control_port="5020", realsense_serials="111,222")
    assert "ros2 run srpo_ros teleop_node" in actions[-1].msg
    assert actions[0].parameters[-1] == {"backend": "xarm", "xarm_ip": "127.0.0.1", "xarm_control_port": "5020",
                                         "realsense_serials": ["111", "222"]}
    with pytest.raises(ValueError, match="not one of"):
        _launch(ros, "teleop_record.launch.py", teleop="joystick")


def test_realsense_cameras_match_the_robot_nodes_topics(ros):
    actions = _launch(ros, "teleop_record.launch.py", cameras="realsense", realsense_serials="111,222",
                      teleop="spacemouse", backend="xarm")
    cams = [a for a in actions if a.package == "realsense2_camera"]
    assert [(c.namespace, c.name, c.parameters[0]["serial_no"]) for c in cams] == [
        ("camera0", "camera0", "_111"), ("camera1", "camera1", "_222")]  # realsense-ros strips the "_"
    recorder = next(a for a in actions if a.executable == "recorder_node")
    assert recorder.parameters[0]["image_topics"] == ["/camera0/camera0/color/image_raw",
                                                      "/camera1/camera1/color/image_raw"]
    with pytest.raises(RuntimeError, match="realsense_serials"):
        _launch(ros, "teleop_record.launch.py", cameras="realsense")


def test_deploy_launch_in_robot_and_as_its_own_node(ros):
    with pytest.raises(RuntimeError, match="policy:=CHECKPOINT"):
        _launch(ros, "deploy_policy.launch.py")
    (robot,) = _launch(ros, "deploy_policy.launch.py", policy="outputs/act", params="/cfg/sim.yaml")
    assert robot.parameters == [{"source": "policy"}, "/cfg/sim.yaml", {"policy": "outputs/act", "episodes": "10"}]
    arm, policy, note = _launch(ros, "deploy_policy.launch.py", policy="outputs/act", policy_in="node", rate="100")
    assert "wall-clock" in note.msg
    assert arm.executable == "arm_node" and arm.parameters == [{"source": "topic", "source_name": "policy"},
                                                               {"control_rate_hz": "100"}]
    assert policy.parameters == [{"image_topics": ["camera0/color/image_raw", "camera1/color/image_raw"]},
                                 {"policy": "outputs/act", "episodes": "10"}]
    _, policy, _ = _launch(ros, "deploy_policy.launch.py", policy="p", policy_in="node", task="place", backend="sim",
                           params=str(CONFIG / "sim.yaml"))
    ros.init_from_launch(policy)
    from srpo_ros.spin import declare

    from srpo.robot.rig import backend_config
    from srpo.ros_bridge import params

    p = declare(ros.Node("policy_node"), params.POLICY)
    assert backend_config(p["backend"]).instruction(p["task"]) == "put the red cube on the green pad"


def test_launch_yaml_and_typed_arguments_reach_the_node_in_order(ros):
    """params:=config/xarm.yaml then typed arguments, through launch_ros's parameter list into the node: the YAML's
    instruction text and rate stand, what was typed wins, digits typed as text stay text."""
    actions = _launch(ros, "teleop_record.launch.py", params=str(CONFIG / "xarm.yaml"), teleop="spacemouse",
                      xarm_ip="127.0.0.9", max_steps="300", realsense_serials="036522072967,123")
    recorder = next(a for a in actions if a.executable == "recorder_node")
    ros.init_from_launch(recorder)
    from srpo_ros.spin import declare

    from srpo.ros_bridge import params

    p = declare(ros.Node("recorder_node"), params.ROBOT)
    assert (p["task"], p["control_rate_hz"], p["out"]) == ("put the red cube in the bowl", 100.0, "datasets/xarm.zarr")
    assert (p["xarm_ip"], p["max_steps"], p["source"]) == ("127.0.0.9", 300, "topic")
    assert p["realsense_serials"] == ["036522072967", "123"] and p["depth_topics"] == []


def test_dry_run_launch_node_sdk_fake_controller(ros, fake, video, tmp_path):
    """The dry run as docs/robot.md types it: teleop_record.launch.py with config/xarm.yaml, the fake controller's
    address and two video files typed; the robot node it starts drives the unmodified xArm SDK against the fake
    xArm controller, records what it executed, and republishes state and images."""
    pytest.importorskip("xarm")
    import time

    from srpo_ros.recorder_node import RecorderNode

    out = tmp_path / "dry.zarr"
    actions = _launch(ros, "teleop_record.launch.py", params=str(CONFIG / "xarm.yaml"), teleop="spacemouse",
                      xarm_ip=fake.config.host, xarm_control_port=str(fake.ports["control"]),
                      opencv_devices=f"{video},{video}", out=str(out))
    ros.init_from_launch(next(a for a in actions if a.executable == "recorder_node"))
    node = RecorderNode()
    start = fake.controller.pose_mm_rotvec()[:3].copy()
    try:
        node.tick()
        for _ in range(100):  # the camera threads deliver their first frames
            if node.call("recorder/start").success:
                break
            time.sleep(0.02)
        for _ in range(30):  # +x, 2.5 mm a tick after the safety filter (0.25 m/s at 100 Hz)
            node.deliver("arm/command", ros.Float32MultiArray(data=[0.01, 0, 0, 0, 0, 0, 0]))
            node.tick()
            time.sleep(0.01)
        assert node.call("recorder/label", data=True).success
        for _ in range(50):  # let the fake's arm finish following the last servo target
            before = fake.controller.pose_mm_rotvec()[:3].copy()
            time.sleep(0.02)
            if np.abs(fake.controller.pose_mm_rotvec()[:3] - before).max() < 0.05:
                break
        moved = fake.controller.pose_mm_rotvec()[:3] - start
    finally:
        node.destroy_node()
    store = EpisodeStore.open(out)
    episode = store.episode(0)
    executed = np.array([m.data for m in node.publishers["arm/action"].sent])
    assert store.num_episodes == 1 and store.episodes()[0].success is True
    assert store.episodes()[0].task == "put the red cube in the bowl"  # the YAML's instruction
    np.testing.assert_allclose(episode["action"][:], executed, atol=1e-6)  # recorded == executed
    np.testing.assert_allclose(executed[:, 0], 0.0025, atol=1e-6)
    assert episode["camera0_rgb"].shape[1:] == (240, 320, 3)  # config/xarm.yaml's size, from 96x128 video frames
    assert moved[0] == pytest.approx(75.0, abs=3.0)  # mm: all 30 steps reached the fake's arm through the SDK
    recorded = episode["robot0_eef_pos"][-1] - episode["robot0_eef_pos"][0]  # its state, read back through the SDK
    assert 0.030 < recorded[0] <= moved[0] / 1000 + 1e-3 and np.allclose(recorded[1:], 0.0, atol=1e-3)  # it lags
    assert node.publishers["camera1/color/image_raw"].sent and len(node.publishers["xarm/joint_states"].sent) == 31


def test_sim_episodes_through_the_node_replace_objects_and_read_the_arm_once_a_tick(ros, tmp_path):
    """Two expert episodes started by the node itself: the cube is re-placed before each and the second episode
    does not inherit the first one's success; the arm is read once per tick (plus once at each start)."""
    from srpo_ros.recorder_node import RecorderNode

    ros.init(_ros_args(backend="sim", source="expert", out=tmp_path / "s.zarr", episodes=2, expert_noise=0.0,
                       max_steps=150))
    node = RecorderNode()
    reads, read = [], node.arm.arm.get_observation
    node.arm.arm.get_observation = lambda: reads.append(1) or read()
    ticks = 0
    while (node.service.remaining or node.recorder.active) and ticks < 400:
        node.tick()
        ticks += 1
    store = EpisodeStore.open(tmp_path / "s.zarr")
    first, second = store.episode(0), store.episode(1)
    assert store.num_episodes == 2 and [e.success for e in store.episodes()] == [True, True]
    assert np.linalg.norm(first["object0_pos"][0][:2] - second["object0_pos"][0][:2]) > 0.005  # re-placed
    assert len(second["action"]) > 30  # a real lift, not "success" 5 ticks in
    assert ticks <= len(reads) <= ticks + 2  # one read a tick, one more when an episode starts (was two a tick)
    node.destroy_node()


def test_calibration_made_at_640x480_is_scaled_to_the_recorded_size(ros, tmp_path):
    from srpo_ros.recorder_node import RecorderNode

    from srpo.robot.calibration_file import Intrinsics, new_calibration, set_intrinsics, write_calibration

    doc = new_calibration("ufactory_xarm7", {})
    set_intrinsics(doc, "camera0", Intrinsics(640, 480, 600.0, 600.0, 319.5, 239.5))
    write_calibration(tmp_path / "lab.yaml", doc)
    ros.init(_ros_args(backend="sim", out=tmp_path / "c.zarr", calibration=tmp_path / "lab.yaml"))
    node = RecorderNode()  # open_store used to raise here: 96x128 recorded, 640x480 calibrated
    intr = EpisodeStore.open(tmp_path / "c.zarr").config.cameras[0].intrinsics
    assert (intr["width"], intr["height"], intr["fx"], intr["cx"], intr["cy"]) == (128, 96, 120.0, 63.5, 47.5)
    info = node.publishers["camera0/color/camera_info"]
    node.tick()
    assert info.sent[-1].k[0] == pytest.approx(120.0) and info.sent[-1].width == 128
    node.destroy_node()


def test_deploy_policy_node_commands_the_arm_node(ros, tiny_act, tmp_path):
    """deploy_policy.launch.py policy_in:=node: the two processes it starts, side by side. policy_node waits for
    arm_node's first complete state, asks recorder/start, answers states with commands; arm_node executes them
    through the safety filter and records exactly what it executed, as source "policy"."""
    import time

    from srpo_ros.policy_node import PolicyNode
    from srpo_ros.recorder_node import RecorderNode

    out = tmp_path / "p.zarr"
    arm_action, policy_action, _ = _launch(ros, "deploy_policy.launch.py", policy=tiny_act, policy_in="node",
                                           episodes="1", max_steps="100", out=str(out))
    ros.init_from_launch(arm_action)
    arm = RecorderNode("arm_node")
    ros.init_from_launch(policy_action)
    policy = PolicyNode()
    assert arm.service.remaining == 0 and not arm.recorder.active  # nothing starts before the policy asks
    assert policy.source.task == arm.task_text == "lift the red cube"  # the instruction both use
    deadline = time.monotonic() + 60
    while policy.episodes.state != "done" and time.monotonic() < deadline:
        arm.tick()
        time.sleep(0.02)  # 50 Hz: inference runs in the policy's worker thread, beside the loop
    commands = np.array([m.data for m in policy.publishers["arm/command"].sent])
    executed = np.array([m.data for m in arm.publishers["arm/action"].sent])
    store = EpisodeStore.open(out)
    episode = store.episode(0)
    assert store.num_episodes == 1 and store.episodes()[0].source == "policy"
    assert policy.episodes.state == "done" and len(policy.episodes.successes) == 1
    np.testing.assert_allclose(episode["action"][:], executed, atol=1e-6)  # recorded == executed
    moved = np.any(executed[:, :6] != 0, axis=1).sum()  # ticks that executed a policy command (the rest held)
    assert 5 <= moved <= len(commands) and len(executed) == 100
    policy.destroy_node()
    arm.destroy_node()


def test_camera_node_publishes_frames_of_an_opencv_source(ros, video):
    import time

    from srpo_ros.camera_node import CameraNode

    ros.init(_ros_args(kind="opencv", device=video, name="camera1", height=48, width=64, fps=30))
    node = CameraNode()
    try:
        images = node.publishers["camera1/color/image_raw"]
        for _ in range(100):
            node.tick()
            if len(images.sent) >= 3:
                break
            time.sleep(0.02)
    finally:
        node.destroy_node()
    info = node.publishers["camera1/color/camera_info"].sent[-1]
    assert len(images.sent) >= 3 and images.qos == "system_default"
    assert (images.sent[-1].height, images.sent[-1].width, images.sent[-1].encoding) == (48, 64, "rgb8")
    assert images.sent[-1].header.frame_id == info.header.frame_id == "camera1_color_optical_frame"
    assert len({bytes(m.data) for m in images.sent}) == len(images.sent)  # each a new frame of the video


def test_policy_inside_the_robot_node_blocks_in_simulated_time(ros, tiny_act, tmp_path):
    """deploy_policy.launch.py policy_in:=robot on the sim, as `srpo robot deploy`: the robot node runs its
    episodes itself and waits for inference (every tick acts, none holds), recording source "policy"."""
    from srpo_ros.recorder_node import RecorderNode

    (robot,) = _launch(ros, "deploy_policy.launch.py", policy=tiny_act, episodes="1", max_steps="12",
                       out=str(tmp_path / "d.zarr"))
    ros.init_from_launch(robot)
    node = RecorderNode()
    assert node.policy.config.blocking
    node.tick(14)
    store = EpisodeStore.open(tmp_path / "d.zarr")
    actions = np.asarray(store.episode(0)["action"][:])
    assert store.episodes()[0].source == "policy" and len(actions) == 12
    assert np.all(np.any(actions[:, :6] != 0, axis=1))  # inference never left a tick without an action
    node.destroy_node()
