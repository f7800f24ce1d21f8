"""Calibration on the simulated rig against its ground truth (mocap poses, MuJoCo camera fovy)."""

import cv2
import numpy as np
import pytest

from calibration.capture import board_poses
from calibration.check import reprojection_check
from calibration.geometry import make_T, pose_error, rotation_about
from calibration.handeye import METHODS, park_martin, solve_handeye
from calibration.intrinsics import calibrate_intrinsics
from srpo.errors import UserFacingError

HAS_OPENCV_HANDEYE = hasattr(cv2, "calibrateHandEye")  # missing in opencv-python 5.0.0.93 (opencv#29565)


def _calibrate(session, method="park", mount=None):
    intr, _ = calibrate_intrinsics([c.detection for c in session.captures], (640, 480))
    pairs = board_poses(session.captures, intr)
    result = solve_handeye(
        [c.T_base_ee for c, _ in pairs], [T for _, T in pairs], mount or session.rig.mount, method
    )
    return intr, result


@pytest.mark.parametrize("mount", ["eye_in_hand", "eye_to_hand"])
def test_intrinsics_within_one_percent(mount, request):
    session = request.getfixturevalue(mount)
    intr, _ = calibrate_intrinsics([c.detection for c in session.captures], (640, 480))
    for key, true in session.rig.true_intrinsics().items():
        assert abs(getattr(intr, key) - true) / true < 0.01, (key, getattr(intr, key), true)
    assert intr.rms_px < 0.3
    assert intr.n_views == len(session.captures)


@pytest.mark.parametrize("mount", ["eye_in_hand", "eye_to_hand"])
def test_handeye_recovers_camera_pose(mount, request):
    session = request.getfixturevalue(mount)
    _, result = _calibrate(session)
    dt, dr = pose_error(result.T, session.rig.true_camera_pose())
    assert dt < 0.002 and dr < 0.5, (dt, dr)
    assert result.frame == ("ee" if mount == "eye_in_hand" else "base")
    assert result.translation_spread_mm < 1.0 and result.rotation_spread_deg < 0.2


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_opencv_method(method, eye_to_hand):
    if method != "park" and not HAS_OPENCV_HANDEYE:
        with pytest.raises(UserFacingError, match="lacks calibrateHandEye"):
            _calibrate(eye_to_hand, method)
        pytest.skip(f"cv2 {cv2.__version__} has no calibrateHandEye; only park (built in) is available")
    _, result = _calibrate(eye_to_hand, method)
    dt, dr = pose_error(result.T, eye_to_hand.rig.true_camera_pose())
    assert dt < 0.002 and dr < 0.5, (method, dt, dr)


def test_builtin_park_matches_opencv(eye_in_hand):
    if not HAS_OPENCV_HANDEYE:
        pytest.skip(f"cv2 {cv2.__version__} has no calibrateHandEye to compare with")
    intr, _ = calibrate_intrinsics([c.detection for c in eye_in_hand.captures], (640, 480))
    pairs = board_poses(eye_in_hand.captures, intr)
    G, C = [c.T_base_ee for c, _ in pairs], [T for _, T in pairs]
    R, t = cv2.calibrateHandEye(
        [g[:3, :3] for g in G],
        [g[:3, 3] for g in G],
        [c[:3, :3] for c in C],
        [c[:3, 3] for c in C],
        method=cv2.CALIB_HAND_EYE_PARK,
    )
    np.testing.assert_allclose(park_martin(G, C), make_T(R, t), atol=1e-9)


def test_wrong_mount_is_an_error_not_a_result(eye_to_hand):
    with pytest.raises(UserFacingError, match="does not explain the views"):
        _calibrate(eye_to_hand, mount="eye_in_hand")


def test_check_small_for_true_calibration_large_for_a_wrong_one(eye_in_hand):
    intr, result = _calibrate(eye_in_hand)
    good = reprojection_check(eye_in_hand.captures, intr, result.T, "eye_in_hand")
    assert good.n_views == len(eye_in_hand.captures)
    assert good.mean_px < 0.5 and good.max_px < 2.0
    # a camera pose 5 mm and 1 deg off must show up as a clearly larger error
    off = result.T @ make_T(rotation_about([1, 1, 0], np.radians(1.0)), [0.005, 0.0, 0.0])
    bad = reprojection_check(eye_in_hand.captures, intr, off, "eye_in_hand")
    assert bad.mean_px > 5 * good.mean_px and bad.mean_px > 1.0
    assert all(p is not None and p.shape[1] == 2 for p in bad.predicted)


def test_true_intrinsics_and_pose_predict_corners_exactly(eye_in_hand):
    """The rig's ground truth itself reprojects to the detected corners (validates the sim conventions)."""
    from srpo.robot.calibration_file import Intrinsics

    t = eye_in_hand.rig.true_intrinsics()
    truth = Intrinsics(640, 480, t["fx"], t["fy"], t["cx"], t["cy"])
    report = reprojection_check(
        eye_in_hand.captures, truth, eye_in_hand.rig.true_camera_pose(), "eye_in_hand"
    )
    assert report.mean_px < 0.5
