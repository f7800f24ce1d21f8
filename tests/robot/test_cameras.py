"""Cameras: OpenCV capture on a real video file (V4L2 devices go through the same code), sim camera specs."""

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
