"""Degenerate calibration input gives a clear error, never a wrong answer."""

import numpy as np
import pytest

from calibration.board import BoardDetector, BoardSpec
from calibration.capture import board_poses, capture_views, require_found
from calibration.geometry import make_T, rotation_about
from calibration.handeye import check_motion_diversity, solve_handeye
from calibration.intrinsics import calibrate_intrinsics
from srpo.errors import UserFacingError


def _views_with_fixed_orientation(R, n, seed=0):
    rng = np.random.default_rng(seed)
    return [make_T(R, p) for p in rng.uniform([-0.04, -0.03, 0.3], [0.04, 0.03, 0.5], (n, 3))]


def test_too_few_poses(eye_in_hand):
    intr, _ = calibrate_intrinsics([c.detection for c in eye_in_hand.captures], (640, 480))
    pairs = board_poses(eye_in_hand.captures[:3], intr)
    with pytest.raises(UserFacingError, match="3 usable poses; it needs at least 5"):
        solve_handeye([c.T_base_ee for c, _ in pairs], [T for _, T in pairs], "eye_in_hand")
    with pytest.raises(UserFacingError, match="intrinsics need at least 8"):
        calibrate_intrinsics([c.detection for c in eye_in_hand.captures[:4]], (640, 480))


def test_board_not_found(eye_in_hand):
    rig = eye_in_hand.rig
    # the camera turned away from the board: nothing to detect
    away = [make_T(rotation_about([1, 0, 0], np.radians(a)), [0.0, 0.0, 0.4]) for a in (0, 20, 40)]
    captures = capture_views(rig, [rig.gripper_pose_for_view(v) for v in away], eye_in_hand.detector)
    assert all(c.detection is None for c in captures)
    with pytest.raises(UserFacingError, match="board was found in 0 of 3 views"):
        require_found(captures, 3)
    # a board definition that does not match the print (other dictionary) finds nothing either
    wrong = BoardDetector(BoardSpec(dictionary="DICT_5X5_100"))
    assert all(wrong.detect(c.image) is None for c in eye_in_hand.captures[:3])
    with pytest.raises(UserFacingError, match="found in 0 of 3 images"):
        calibrate_intrinsics([None, None, None], (640, 480))


def test_pure_translation_is_rejected(eye_in_hand):
    rig = eye_in_hand.rig
    views = _views_with_fixed_orientation(rotation_about([1, 0, 0], np.radians(200)), 8)
    captures = capture_views(rig, [rig.gripper_pose_for_view(v) for v in views], eye_in_hand.detector)
    intr, _ = calibrate_intrinsics([c.detection for c in eye_in_hand.captures], (640, 480))
    pairs = board_poses(captures, intr)
    assert len(pairs) == 8  # the board is seen every time: the failure is the motion, not the detection
    with pytest.raises(UserFacingError, match="pure translation"):
        solve_handeye([c.T_base_ee for c, _ in pairs], [T for _, T in pairs], "eye_in_hand")


def test_rotations_about_one_axis_are_rejected():
    start = make_T(np.diag([1.0, -1.0, -1.0]), [0.4, 0.0, 0.4])
    poses = [
        start @ make_T(rotation_about([0, 0, 1], np.radians(a)), [0.01 * i, 0, 0])
        for i, a in enumerate(range(0, 80, 10))
    ]
    with pytest.raises(UserFacingError, match="parallel axes"):
        check_motion_diversity(poses)
    # the same poses with a tilt about a second axis pass
    tilted = [
        p @ make_T(rotation_about([1, 0, 0], np.radians(15 * (i % 2))), np.zeros(3))
        for i, p in enumerate(poses)
    ]
    check_motion_diversity(tilted)


def test_parallel_board_views_for_intrinsics(eye_in_hand):
    rig = eye_in_hand.rig
    for R in (
        rotation_about([1, 0, 0], np.pi),
        rotation_about([1, 0, 0], np.radians(205)),
    ):  # facing, and all tilted alike
        captures = capture_views(
            rig,
            [rig.gripper_pose_for_view(v) for v in _views_with_fixed_orientation(R, 10)],
            eye_in_hand.detector,
        )
        assert sum(c.detection is not None for c in captures) == 10
        with pytest.raises(UserFacingError, match="parallel"):
            calibrate_intrinsics([c.detection for c in captures], (640, 480))
