"""Pose planning for the real robot and the xArm orientation convention (no hardware needed)."""

import numpy as np
import pytest

from calibration.capture import poses_around
from calibration.geometry import (
    from_pos_axis_angle,
    make_T,
    pose_error,
    rotation_about,
    rotation_angle,
    to_pos_axis_angle,
)
from calibration.handeye import check_motion_diversity
from srpo.robot.xarm_backend import matrix_to_rpy, rpy_to_matrix


def test_xarm_rpy_is_fixed_axis_xyz():
    roll, pitch, yaw = 0.3, -0.4, 2.0
    expected = (
        rotation_about([0, 0, 1], yaw) @ rotation_about([0, 1, 0], pitch) @ rotation_about([1, 0, 0], roll)
    )
    np.testing.assert_allclose(rpy_to_matrix(roll, pitch, yaw), expected, atol=1e-12)
    np.testing.assert_allclose(matrix_to_rpy(expected), (roll, pitch, yaw), atol=1e-12)


def test_eef_observation_round_trip():
    T = make_T(rotation_about([1, 2, 3], 0.7), [0.3, -0.1, 0.5])
    pos, aa = to_pos_axis_angle(T)
    np.testing.assert_allclose(from_pos_axis_angle(pos, aa), T, atol=1e-12)


def test_poses_around_look_at_the_pivot_and_vary_rotation():
    start = make_T(rotation_about([1, 0, 0], np.pi), [0.4, 0.0, 0.45])
    target = (start @ np.array([0, 0, 0.4, 1.0]))[:3]  # the point the wrist camera looks at
    poses = poses_around(
        start, 15, np.random.default_rng(0), pivot_distance=0.4, max_angle_deg=25, max_shift=0.05
    )
    slack = 0.05 * np.sqrt(3)
    for T in poses:
        to_target = target - T[:3, 3]
        along = to_target @ T[:3, 2]  # distance along the gripper z axis
        assert 0.4 * 0.75 - slack <= along <= 0.4 * 1.25 + slack
        assert (
            np.linalg.norm(to_target - along * T[:3, 2]) <= slack + 1e-9
        )  # the z axis passes near the target
        assert 0.4 * 25 - 1e-6 <= np.degrees(rotation_angle(start[:3, :3].T @ T[:3, :3])) <= 25 + 1e-6
    check_motion_diversity(poses)  # well conditioned for hand-eye
    assert min(pose_error(a, b)[1] for a, b in zip(poses, poses[1:])) > 1.0


def test_realsense_factory_values_convert():
    """The SDK's own intrinsics struct (as a connected camera fills it) -> Intrinsics."""
    import pyrealsense2 as rs

    from srpo.robot.calibration_file import realsense_to_intrinsics

    intr = rs.intrinsics()
    intr.width, intr.height, intr.fx, intr.fy, intr.ppx, intr.ppy = 640, 480, 606.1, 605.9, 322.4, 241.7
    intr.model = rs.distortion.inverse_brown_conrady
    intr.coeffs = [0.01, -0.02, 0.001, 0.0, 0.0]
    got = realsense_to_intrinsics(intr)
    assert (got.fx, got.cy, got.width) == (
        pytest.approx(606.1),
        pytest.approx(241.7),
        640,
    )  # SDK stores float32
    assert got.distortion[:2] == pytest.approx((0.01, -0.02)) and got.source == "realsense_factory"
    assert "inverse_brown_conrady" in got.model
