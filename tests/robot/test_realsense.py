"""RealSenseCamera through the real pyrealsense2: a software device (colour + depth with their own
intrinsics and extrinsics) is recorded with pyrealsense2's recorder, and the camera plays the recording back
through its own pipeline code: colour, depth aligned to colour in millimetres, intrinsics, timestamps, and a
device that stops delivering."""

import time

import numpy as np
import pytest

from srpo.robot.cameras import CameraError, RealSenseCamera

rs = pytest.importorskip("pyrealsense2", reason="pyrealsense2 needs apt libusb-1.0-0")

W, H, FRAMES = 64, 48, 24


def _video_stream(kind, uid, fmt, bpp, intr):
    vs = rs.video_stream()
    vs.type, vs.index, vs.uid, vs.width, vs.height, vs.fps, vs.bpp, vs.fmt = kind, 0, uid, W, H, 30, bpp, fmt
    vs.intrinsics = intr
    return vs


def record_software_device(path) -> None:
    """Frame i: colour all i, depth 500 + i (units 1 mm), stamped 1000 + 33.3 i ms in the global time domain."""
    dev = rs.software_device()
    dev.register_info(rs.camera_info.serial_number, "SW0001")
    depth_sensor, color_sensor = dev.add_sensor("Depth"), dev.add_sensor("Color")
    intr = rs.intrinsics()
    intr.width, intr.height, intr.ppx, intr.ppy, intr.fx, intr.fy = W, H, 32.5, 24.5, 50.0, 51.0
    intr.model, intr.coeffs = rs.distortion.brown_conrady, [0.1, 0, 0, 0, 0]
    color = color_sensor.add_video_stream(_video_stream(rs.stream.color, 1, rs.format.rgb8, 3, intr))
    depth = depth_sensor.add_video_stream(_video_stream(rs.stream.depth, 2, rs.format.z16, 2, intr))
    depth_sensor.add_read_only_option(rs.option.depth_units, 0.001)
    ext = rs.extrinsics()
    ext.rotation, ext.translation = [1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]
    depth.register_extrinsics_to(color, ext)
    recorder = rs.recorder(str(path), dev)
    sensors = list(recorder.query_sensors())
    for sensor in sensors:
        sensor.open(sensor.get_stream_profiles()[0])
        sensor.start(lambda frame: None)
    for i in range(1, FRAMES + 1):
        for sensor, profile, pixels, bpp in ((color_sensor, color, np.full((H, W, 3), i, np.uint8), 3),
                                             (depth_sensor, depth, np.full((H, W), 500 + i, np.uint16), 2)):
            frame = rs.software_video_frame()
            frame.pixels, frame.stride, frame.bpp = pixels, W * bpp, bpp
            frame.timestamp, frame.domain, frame.frame_number = 1000.0 + 33.3 * i, rs.timestamp_domain.global_time, i
            frame.profile = profile.as_video_stream_profile()
            sensor.on_video_frame(frame)
        time.sleep(1 / 30)
    for sensor in sensors:
        sensor.stop()
        sensor.close()
    del recorder  # closes the file


@pytest.fixture
def playback(tmp_path, monkeypatch):
    path = tmp_path / "software_device.db3"  # librealsense >= 2.56 records rosbag2 (.db3)
    record_software_device(path)
    real_config = rs.config

    def config_from_recording():
        config = real_config()
        config.enable_device_from_file(str(path), repeat_playback=False)
        return config

    monkeypatch.setattr(rs, "config", config_from_recording)  # RealSenseCamera's pipeline opens the recording
    return path


def test_colour_aligned_depth_intrinsics_and_timestamps(playback):
    cam = RealSenseCamera(height=H, width=W, depth=True)
    cam.connect()
    frames = [cam.read() for _ in range(8)]
    spec = cam.spec("camera0")
    cam.disconnect()
    assert spec.serial == "SW0001" and spec.depth
    assert (spec.intrinsics["fx"], spec.intrinsics["fy"], spec.intrinsics["cx"], spec.intrinsics["cy"]) == (
        50.0, 51.0, 32.5, 24.5)
    assert spec.intrinsics["distortion"][0] == pytest.approx(0.1) and "brown_conrady" in spec.intrinsics["model"]
    for f in frames:
        assert f.rgb.shape == (H, W, 3) and f.rgb.dtype == np.uint8 and f.depth.shape == (H, W)
        i = int(f.rgb[0, 0, 0])
        # millimetres; the pipeline's syncer may pair a colour frame with the depth frame before it
        assert f.depth.dtype == np.uint16 and abs(int(np.median(f.depth)) - (500 + i)) <= 1
        assert f.timestamp == pytest.approx((1000.0 + 33.3 * i) / 1000.0, abs=1e-6)  # device stamp, seconds
    stamps = [f.timestamp for f in frames]
    assert all(b >= a for a, b in zip(stamps, stamps[1:], strict=False)) and stamps[-1] > stamps[0]
    assert [f.index for f in frames] == list(range(1, 9))


def test_a_device_that_stops_delivering_raises(playback):
    cam = RealSenseCamera(height=H, width=W)
    cam.connect()
    with pytest.raises(CameraError, match="delivered no frame for 2 s"):
        for _ in range(4 * FRAMES):  # the recording ends: the pipeline times out
            cam.read()
    cam.disconnect()


def test_the_lerobot_camera_type_srpo_realsense(playback):
    """LeRobot's own factory builds `srpo_realsense` from a LeRobot camera config: LeRobot's calls return the
    colour image, frame() the depth aligned to it and the device's timestamp (what LeRobot's intelrealsense lacks)."""
    from lerobot.cameras.utils import make_cameras_from_configs

    from srpo.robot.config_lerobot_cameras import SrpoRealSenseConfig
    from srpo.robot.lerobot_cameras import SrpoRealSense

    camera = make_cameras_from_configs({"front": SrpoRealSenseConfig(width=W, height=H, fps=30, use_depth=True)})["front"]
    assert isinstance(camera, SrpoRealSense)
    camera.connect()
    image, frame = camera.async_read(), camera.frame()
    camera.disconnect()
    assert image.shape == (H, W, 3) and image.dtype == np.uint8 and 1 <= image[0, 0, 0] <= FRAMES
    i = int(frame.rgb[0, 0, 0])
    assert frame.depth.shape == (H, W) and abs(int(np.median(frame.depth)) - (500 + i)) <= 1
    assert frame.timestamp == pytest.approx((1000.0 + 33.3 * i) / 1000.0, abs=1e-6)
    assert not camera.is_connected


def test_the_xarm_backends_camera_config_gives_the_recorder_depth_intrinsics_and_device_time(playback):
    """The recorder's path: the xArm backend's `cameras` (a LeRobot srpo_realsense config without size, serial or
    rate) through rig_cameras gives a camera at the recorded size whose frames carry aligned depth and the device's
    timestamps and whose spec carries the colour intrinsics the store records."""
    from srpo.robot.backends.xarm import XArmBackendConfig
    from srpo.robot.config_lerobot_cameras import SrpoRealSenseConfig
    from srpo.robot.lerobot_cameras import rig_cameras

    backend = XArmBackendConfig(cameras={"camera0": SrpoRealSenseConfig(use_depth=True)})
    camera = rig_cameras(backend.cameras, H, W, backend.camera_fps)["camera0"]
    camera.connect()
    camera.await_frame_after(0.0, timeout_s=5.0)
    frame, spec = camera.latest(), camera.spec("camera0")
    camera.disconnect()
    i = int(frame.rgb[0, 0, 0])
    assert frame.rgb.shape == (H, W, 3) and abs(int(np.median(frame.depth)) - (500 + i)) <= 1
    assert frame.timestamp == pytest.approx((1000.0 + 33.3 * i) / 1000.0, abs=1e-6)
    assert (spec.serial, spec.depth, spec.intrinsics["fx"], spec.intrinsics["cy"]) == ("SW0001", True, 50.0, 24.5)
