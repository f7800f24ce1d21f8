"""Cameras: OpenCV capture on a real video file (V4L2 devices go through the same code), sim camera specs."""

import time

import cv2
import numpy as np
import pytest

from srpo.robot.cameras import CameraError, OpenCVCamera, SimCamera
from srpo.robot.sim.arm import SimArm, SimArmConfig


def test_opencv_camera_reads_rgb_and_resizes(tmp_path):
    path = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(5):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[..., 2] = 200  # red in OpenCV's BGR order
        frame[:, : 10 * (i + 1), 1] = 100
        writer.write(frame)
    writer.release()
    cam = OpenCVCamera(path, height=24, width=32)
    cam.connect()
    frames = [cam.read() for _ in range(5)]
    assert frames[0].rgb.shape == (24, 32, 3) and [f.index for f in frames] == [1, 2, 3, 4, 5]
    assert abs(int(frames[0].rgb[..., 0].mean()) - 200) < 15 and frames[0].rgb[..., 2].mean() < 15  # now RGB
    assert frames[4].rgb[..., 1].mean() > frames[0].rgb[..., 1].mean()
    with pytest.raises(CameraError, match="returned no frame"):
        cam.read()  # end of the clip: a lost camera
    cam.disconnect()
    with pytest.raises(CameraError, match="could not open"):
        OpenCVCamera(str(tmp_path / "missing.avi")).connect()


def test_sim_camera_spec_has_calibration():
    arm = SimArm(SimArmConfig(camera_height=48, camera_width=64))
    arm.connect()
    spec = SimCamera(arm, "front").spec("camera0")
    assert (spec.height, spec.width, spec.serial) == (48, 64, "sim:front")
    assert spec.intrinsics["cx"] == 32 and spec.intrinsics["fx"] > 0
    T = np.array(spec.extrinsics["T"])
    np.testing.assert_allclose(T[:3, :3] @ T[:3, :3].T, np.eye(3), atol=1e-5)
    assert spec.extrinsics["frame"] == "base" and T[0, 3] > 0.8  # in front of the robot, looking back
    # the camera's optical axis (OpenCV +z) points toward the table in front of the arm
    assert T[2, 2] < 0 and T[0, 2] < 0


class _LeRobotCameraDouble:
    """Stands in for one of LeRobot's own cameras on a device this machine lacks (a webcam): LeRobot's read-thread
    interface as `LeRobotFeed` uses it (read_latest, latest_timestamp in perf_counter seconds)."""

    def __init__(self):
        self.config, self.is_connected, self.latest_timestamp, self.image = None, False, None, None

    def connect(self):
        self.is_connected = True

    def capture(self, value: int, age_s: float = 0.0):
        self.image = np.full((48, 64, 3), value, np.uint8)
        self.latest_timestamp = time.perf_counter() - age_s

    def async_read(self, timeout_ms):
        self.capture(1)
        return self.image

    def read_latest(self, max_age_ms):
        if self.image is None:
            raise RuntimeError("read thread is not running.")
        return self.image

    def disconnect(self):
        self.is_connected = False


def test_a_lerobot_camera_feeds_the_recorder_with_its_capture_times():
    """LeRobot's own camera types reach the recorder through LeRobotFeed: its newest image resized to the recorded
    size, a new index only for a new capture, LeRobot's capture time (perf_counter) in the host clocks, and a
    stopped read thread as the recorder's CameraError."""
    from srpo.robot.lerobot_cameras import LeRobotFeed

    device = _LeRobotCameraDouble()
    feed = LeRobotFeed(device, 24, 32)
    feed.connect()
    first, again = feed.latest(), feed.latest()
    assert first.rgb.shape == (24, 32, 3) and (first.index, again.index) == (1, 1)
    device.capture(7, age_s=0.3)  # captured 0.3 s ago: the recorder must see its age, not the time it was read
    frame = feed.latest()
    assert frame.index == 2 and int(frame.rgb[0, 0, 0]) == 7
    assert time.monotonic() - frame.received == pytest.approx(0.3, abs=0.05)
    assert time.time() - frame.timestamp == pytest.approx(0.3, abs=0.05)
    start = time.monotonic()
    feed.await_frame_after(time.monotonic(), timeout_s=0.2)  # nothing newer comes: waits the timeout out
    assert time.monotonic() - start >= 0.2
    device.image = None
    with pytest.raises(CameraError, match="stopped"):
        feed.latest()
    feed.disconnect()
    assert not device.is_connected
