"""srpo.ros_bridge without ROS: message conversion, parameter coercion and the service state machines."""

from types import SimpleNamespace as NS

import cv2
import numpy as np
import pytest

from srpo.errors import UserFacingError
from srpo.robot.recorder import EpisodeRecorder, LoopConfig
from srpo.robot.rig import RigConfig, build_rig
from srpo.robot.runner import open_store
from srpo.robot.safety import SafetyFilter
from srpo.ros_bridge import convert, params
from srpo.ros_bridge.services import EpisodeService, PolicyEpisodes, episode_event
from srpo.ros_bridge.tap import TapArm
from srpo.store import EpisodeStore


def _image(arr, encoding, pad=0, bigendian=0):
    h, w = arr.shape[:2]
    rows = arr.reshape(h, -1).view(np.uint8)
    data = np.concatenate([rows, np.full((h, pad), 7, np.uint8)], axis=1)
    return NS(height=h, width=w, encoding=encoding, step=data.shape[1], is_bigendian=bigendian, data=data.tobytes())


def test_colour_images_with_padded_rows():
    rgb = np.random.default_rng(0).integers(0, 255, (5, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(convert.image_to_rgb(_image(rgb, "rgb8", pad=4)), rgb)
    np.testing.assert_array_equal(convert.image_to_rgb(_image(rgb[..., ::-1].copy(), "bgr8", pad=2)), rgb)
    rgba = np.concatenate([rgb, np.zeros((5, 6, 1), np.uint8)], axis=2)
    np.testing.assert_array_equal(convert.image_to_rgb(_image(rgba, "rgba8")), rgb)
    mono = rgb[..., 0].copy()
    assert (convert.image_to_rgb(_image(mono, "mono8", pad=3)) == mono[..., None]).all()
    msg = convert.fill_image(NS(), rgb)
    assert (msg.encoding, msg.step, msg.height, msg.width) == ("rgb8", 18, 5, 6)
    np.testing.assert_array_equal(convert.image_to_rgb(msg), rgb)


def test_yuv422_images_match_opencv():
    uyvy = np.random.default_rng(1).integers(0, 255, (4, 8, 2), dtype=np.uint8)
    got = convert.image_to_rgb(_image(uyvy, "yuv422", pad=2))
    np.testing.assert_array_equal(got, cv2.cvtColor(uyvy, cv2.COLOR_YUV2RGB_UYVY))
    assert not np.array_equal(got, convert.image_to_rgb(_image(uyvy, "yuv422_yuy2")))
    with pytest.raises(ValueError, match="unsupported image encoding"):
        convert.image_to_rgb(_image(uyvy, "bayer_rggb8"))


def test_depth_honours_step_and_endianness():
    depth = np.array([[1, 300], [65535, 4096]], np.uint16)
    np.testing.assert_array_equal(convert.depth_to_mm(_image(depth.astype("<u2"), "16UC1", pad=6)), depth)
    np.testing.assert_array_equal(convert.depth_to_mm(_image(depth.astype(">u2"), "16UC1", bigendian=1)), depth)
    metres = np.array([[0.5, np.nan], [1.25, 0.001]], np.float32)
    np.testing.assert_array_equal(convert.depth_to_mm(_image(metres, "32FC1", pad=4)), [[500, 0], [1250, 1]])
    with pytest.raises(ValueError, match="depth encoding"):
        convert.depth_to_mm(_image(depth.astype(np.uint8), "mono8"))


def test_camera_info_has_k_r_p_and_optical_frame():
    spec = NS(height=480, width=640, intrinsics={"fx": 600.0, "fy": 601.0, "cx": 320.5, "cy": 240.5,
                                                  "distortion": [0.1, 0, 0, 0, 0]})
    msg = convert.fill_camera_info(NS(), spec)
    assert msg.k == [600.0, 0.0, 320.5, 0.0, 601.0, 240.5, 0.0, 0.0, 1.0]
    assert msg.p == [600.0, 0.0, 320.5, 0.0, 0.0, 601.0, 240.5, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert msg.r == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0] and msg.d[0] == 0.1
    assert convert.optical_frame("camera1") == "camera1_color_optical_frame"


def test_joint_states_pose_and_actions():
    names = [f"joint{i}" for i in range(7, 0, -1)]
    np.testing.assert_allclose(convert.joint_positions(names, list(range(7, 0, -1))), np.arange(1, 8))
    assert convert.joint_positions(["drive_joint", "left_finger_joint"], [0.1, 0.2]) is None  # xarm_ros2 gripper
    pose = NS(position=NS(), orientation=NS())
    convert.fill_pose(pose, [0.4, 0.1, 0.2], [np.pi - 0.1, 0, 0])
    pos, rotvec = convert.pose_to_arrays(pose)
    np.testing.assert_allclose(pos, [0.4, 0.1, 0.2], atol=1e-6)
    np.testing.assert_allclose(rotvec, [np.pi - 0.1, 0, 0], atol=1e-5)
    np.testing.assert_allclose(convert.action_values([0.01] * 6 + [1.0]), [0.01] * 6 + [1.0])
    with pytest.raises(ValueError, match="7 finite"):
        convert.action_values([0.0, float("nan"), 0, 0, 0, 0, 0])


def test_parameters_coerce_to_the_default_type():
    assert params.coerce("device", 0, "0") == "0"
    assert params.coerce("serial", 123456789012, "") == "123456789012"
    assert params.coerce("control_rate_hz", 100, 20.0) == 100.0
    assert params.coerce("max_steps", 300.0, 200) == 300
    assert params.coerce("depth_topics", None, []) == []  # a YAML [] arrives unset
    assert params.coerce("image_topics", ("/a", ""), []) == ["/a"]
    assert params.coerce("safety.workspace_max", [1, 0.5, 0.6], (0.75, 0.4, 0.55)) == (1.0, 0.5, 0.6)
    with pytest.raises(UserFacingError, match="a list"):  # rcl read digits as a float: their zeros are gone
        params.coerce("image_topics", [36522072967.0], [])
    assert params.coerce("flag", "true", False) is True
    with pytest.raises(UserFacingError, match="max_steps"):
        params.coerce("max_steps", 2.5, 200)
    with pytest.raises(UserFacingError, match="flag"):
        params.coerce("flag", "maybe", False)
    with pytest.raises(UserFacingError, match="quote"):  # rcl read -p serial:=036522072967 as a float
        params.coerce("serial", 36522072967.0, "")


@pytest.fixture
def sim_recorder(tmp_path):
    rig = build_rig(RigConfig(backend="sim", task="lift", control_rate_hz=20.0))
    arm = TapArm(rig.arm)
    arm.connect()
    for cam in rig.cameras.values():
        cam.connect()
    store = open_store(tmp_path / "r.zarr", rig.cameras, 20.0)
    recorder = EpisodeRecorder(arm, rig.cameras, SafetyFilter(control_rate_hz=20.0), store,
                               LoopConfig(control_rate_hz=20.0, max_steps=6, realtime=False),
                               success_fn=rig.success_fn, clock=rig.clock)
    yield rig, arm, recorder
    rig.disconnect()


def test_episode_service_start_stop_label(sim_recorder, tmp_path):
    rig, arm, recorder = sim_recorder
    resets = []
    service = EpisodeService(recorder, lambda i: rig.make_expert(0.0, i), lambda: resets.append(1), "lift it", "sim")
    assert not service.stop().ok and not service.label(True).ok  # nothing yet
    assert service.start().ok and resets == [1]
    assert not service.start().ok  # one at a time
    reply = service.stop()
    assert reply.ok and "nothing recorded" in reply.message  # start && stop keeps no empty episode
    assert not service.label(True).ok
    assert service.start().ok
    for _ in range(3):
        assert service.tick() is None
    assert arm.last_action is not None and arm.last_action.shape == (7,)  # set by the loop
    stop = service.stop()
    assert stop.ok and "3 steps" in stop.message
    assert service.label(False).ok and service.label(True).ok  # relabel the last one
    assert service.start().ok
    ended = [service.tick() for _ in range(6)]
    assert ended[-1] is not None and ended[-1].reason == "reached max_steps"
    event = episode_event(ended[-1])
    assert '"steps": 6' in event
    store = EpisodeStore.open(tmp_path / "r.zarr")
    assert store.num_episodes == 2 and store.episodes()[0].success is True
    assert len(resets) == 3


def test_episode_service_refuses_to_start_without_state(sim_recorder):
    rig, arm, recorder = sim_recorder
    from srpo.robot.bridge import StreamArm

    recorder.arm = StreamArm(lambda a: None)
    service = EpisodeService(recorder, lambda i: rig.make_expert(0.0, i), lambda: None, "t", "sim")
    reply = service.start()
    assert not reply.ok and "no arm state received yet" in reply.message
    assert not recorder.active


def test_episode_service_runs_its_episodes_and_aborts_on_faults(sim_recorder):
    rig, arm, recorder = sim_recorder
    service = EpisodeService(recorder, lambda i: rig.make_expert(0.0, i), rig.reset, "t", "sim", episodes=2)
    assert service.start_next().ok and service.start_next() is None  # one running
    service.tick()
    service.abort("a callback raised")
    assert service.last.status == "aborted" and service.last.reason == "a callback raised"
    assert not service.label(True).ok  # an aborted episode keeps no label
    assert service.start_next().ok and service.remaining == 0


def test_tap_arm_records_what_was_executed(sim_recorder):
    rig, arm, recorder = sim_recorder
    recorder.start("t", rig.make_expert(0.0, 0), "sim")
    assert arm.take_fresh() is not None and arm.take_fresh() is None
    recorder.tick()
    obs = arm.take_fresh()
    assert obs is not None and obs is arm.last_obs
    executed = arm.last_action.copy()
    recorder.finish()
    assert executed.shape == (7,) and np.all(np.isfinite(executed))
    assert arm.extra_state_keys() == rig.arm.extra_state_keys() and "object0_pos" in arm.extra_state_keys()


def test_policy_episodes_start_after_the_first_state():
    pe = PolicyEpisodes(episodes=2, now=0.0, retry_s=1.0)
    assert not pe.on_state(complete=False, service_ready=True, now=0.0)  # images or pose still missing
    assert not pe.on_state(complete=True, service_ready=False, now=0.05)  # recorder/start not discovered yet
    assert pe.on_state(complete=True, service_ready=True, now=0.1) and pe.state == "starting"
    assert not pe.on_state(True, True, now=0.2)  # one request at a time
    assert not pe.on_start_reply(False, now=0.3) and pe.state == "waiting"
    assert not pe.on_state(True, True, now=0.5)  # retry after retry_s
    assert pe.on_state(True, True, now=1.4)
    assert pe.on_start_reply(True, now=1.5) and pe.acting
    pe.on_episode_end('{"index": 0, "status": "complete", "success": true}', now=1.6)
    assert pe.state == "waiting" and pe.remaining == 1
    assert pe.on_state(True, True, 2.0) and pe.on_start_reply(True, 2.1)
    pe.on_episode_end('{"index": 1, "status": "complete", "success": false}', now=2.2)
    assert pe.state == "done" and pe.success_rate == 0.5
    assert not pe.on_state(True, True, 3.0)
    stopped = PolicyEpisodes(episodes=3, now=0.0)
    stopped.stop()
    assert not stopped.on_state(True, True, 0.0) and not stopped.acting


def test_policy_episodes_ask_again_when_unanswered_and_give_up_with_the_reason():
    """rclpy client futures never time out: an unanswered start is dropped and asked again; no start at all
    within ready_timeout_s fails with what is missing."""
    pe = PolicyEpisodes(episodes=1, now=0.0, reply_timeout_s=5.0, ready_timeout_s=30.0)
    assert pe.on_state(True, True, now=1.0)
    assert not pe.poll(now=5.9, have_state=True, service_ready=True) and pe.state == "starting"
    assert pe.poll(now=6.1, have_state=True, service_ready=True) and pe.state == "waiting"  # dropped
    assert pe.on_state(True, True, now=6.2)  # asked again at the next state
    assert not pe.on_start_reply(False, now=7.0)
    pe.poll(now=31.0, have_state=True, service_ready=True)
    assert pe.state == "failed" and "within 30 s: every recorder/start was refused or unanswered" in pe.error
    silent = PolicyEpisodes(episodes=1, now=0.0, ready_timeout_s=30.0)
    silent.poll(now=29.0, have_state=False, service_ready=False)
    assert silent.state == "waiting"
    silent.poll(now=30.5, have_state=False, service_ready=False)
    assert silent.state == "failed" and "no complete robot state" in silent.error
    no_service = PolicyEpisodes(episodes=1, now=0.0, ready_timeout_s=1.0)
    no_service.poll(now=2.0, have_state=True, service_ready=False)
    assert "recorder/start service is not available" in no_service.error


@pytest.mark.parametrize(("flat", "message"), [
    ({"camera0.serial_number_or_name": "1"}, "backend.cameras.camera0.type is missing"),
    ({"camera0.type": "realsense"}, "unknown camera type 'realsense'; use one of .*intelrealsense.*srpo_opencv"),
    ({"camera0.type": "srpo_opencv", "camera0.serial": "1"}, "camera0.serial: camera type srpo_opencv has no field serial"),
    ({"camera0.type": "srpo_realsense", "camera0.serial_number_or_name": 36522072967.0}, "is not a str.*quote"),
    ({"camera0": "srpo_opencv"}, "expected backend.cameras.<camera name>.<field>"),
])
def test_camera_parameters_refuse_what_they_cannot_build(flat, message):
    from srpo.ros_bridge import params

    with pytest.raises(UserFacingError, match=message):
        params.camera_configs(flat)


def test_camera_parameters_build_lerobot_configs():
    from srpo.robot.config_lerobot_cameras import SrpoOpenCVConfig
    from srpo.ros_bridge import params

    configs = params.camera_configs({"a.type": "srpo_opencv", "a.index_or_path": 3, "a.fps": 10,
                                     "b.type": "intelrealsense", "b.serial_number_or_name": "0123"})
    assert configs["a"] == SrpoOpenCVConfig(index_or_path="3", fps=10)  # text field: the digits as text
    assert (configs["b"].type, configs["b"].serial_number_or_name, configs["b"].use_depth) == ("intelrealsense", "0123", False)
