"""Hand-eye calibration with OpenCV's calibrateHandEye, for a wrist camera or a fixed camera.

Eye-in-hand (camera on the gripper): the board is fixed in the base frame; solves the camera pose in the
gripper (end-effector) frame. Eye-to-hand (camera fixed): the board rides on the gripper; the same solver,
fed the inverted gripper poses (base in gripper), returns the camera pose in the base frame.
"""

from dataclasses import dataclass
from itertools import combinations

import cv2
import numpy as np

from calibration.geometry import invert, make_T, rotation_angle
from srpo.errors import UserFacingError

METHODS = {
    "tsai": cv2.CALIB_HAND_EYE_TSAI,
    "park": cv2.CALIB_HAND_EYE_PARK,
    "horaud": cv2.CALIB_HAND_EYE_HORAUD,
    "andreff": cv2.CALIB_HAND_EYE_ANDREFF,
    "daniilidis": cv2.CALIB_HAND_EYE_DANIILIDIS,
}
MOUNTS = {"eye_in_hand": "ee", "eye_to_hand": "base"}  # mount -> frame the camera pose is expressed in


@dataclass(frozen=True)
class HandEyeResult:
    """The camera pose found, and how consistently it explains every view."""

    T: (
        np.ndarray
    )  # 4x4 camera pose (OpenCV frame) in the gripper frame (eye-in-hand) or base frame (eye-to-hand)
    mount: str  # "eye_in_hand" or "eye_to_hand"
    method: str  # OpenCV method name (tsai, park, horaud, andreff, daniilidis)
    target_pose: np.ndarray  # 4x4 board pose in the base frame (eye-in-hand) or gripper frame (eye-to-hand)
    translation_spread_mm: float  # RMS deviation of the per-view board position from target_pose
    rotation_spread_deg: float  # RMS deviation of the per-view board orientation from target_pose
    n_poses: int  # number of robot poses used

    @property
    def frame(self) -> str:
        return MOUNTS[self.mount]


def check_motion_diversity(
    T_base_ee: list[np.ndarray],
    min_poses: int = 5,
    min_rotation_deg: float = 5.0,
    min_axis_spread_deg: float = 15.0,
) -> None:
    """Raise a UserFacingError unless the gripper poses rotate enough, about at least two different axes.

    Hand-eye calibration is unobservable from pure translations, or from rotations all about parallel axes:
    OpenCV would still return a matrix, just a wrong one.
    """
    if len(T_base_ee) < min_poses:
        raise UserFacingError(
            f"hand-eye calibration got {len(T_base_ee)} usable poses; it needs at least {min_poses} "
            "(15-20 recommended) with the board visible in each"
        )
    axes = []
    for A, B in combinations(T_base_ee, 2):
        R = A[:3, :3].T @ B[:3, :3]
        if np.degrees(rotation_angle(R)) >= min_rotation_deg:
            rvec = cv2.Rodrigues(np.ascontiguousarray(R))[0].reshape(3)
            axes.append(rvec / np.linalg.norm(rvec))
    if len(axes) < 2:
        raise UserFacingError(
            f"the robot poses barely rotate (no two differ by {min_rotation_deg:.0f}+ deg): hand-eye calibration "
            "needs rotation, pure translation leaves it undetermined. Tilt the gripper 15-30 deg about different axes"
        )
    spread = max(
        np.degrees(np.arcsin(min(1.0, np.linalg.norm(np.cross(a, b))))) for a, b in combinations(axes, 2)
    )
    if spread < min_axis_spread_deg:
        raise UserFacingError(
            f"all robot rotations are about (nearly) parallel axes (spread {spread:.1f} deg): the hand-eye transform "
            "is undetermined along that axis. Rotate the gripper about at least two different axes (e.g. roll and pitch)"
        )


def solve_handeye(
    T_base_ee: list[np.ndarray],
    T_cam_board: list[np.ndarray],
    mount: str = "eye_in_hand",
    method: str = "park",
    min_poses: int = 5,
    max_translation_spread_mm: float = 25.0,
    max_rotation_spread_deg: float = 3.0,
) -> HandEyeResult:
    """Camera pose from paired gripper poses (base frame) and board poses (camera frame)."""
    if mount not in MOUNTS:
        raise UserFacingError(f"unknown mount {mount!r}; use one of {', '.join(MOUNTS)}")
    if method not in METHODS:
        raise UserFacingError(f"unknown hand-eye method {method!r}; use one of {', '.join(METHODS)}")
    if len(T_base_ee) != len(T_cam_board):
        raise ValueError("need one board pose per gripper pose")
    check_motion_diversity(T_base_ee, min_poses=min_poses)

    # OpenCV solves for the camera in the frame that moves with "gripper2base"; eye-to-hand passes base-in-gripper
    moving = [T if mount == "eye_in_hand" else invert(T) for T in T_base_ee]
    X = _calibrate_hand_eye(moving, T_cam_board, method)

    # the board pose each view implies: in the base frame (eye-in-hand) or the gripper frame (eye-to-hand)
    targets = [M @ X @ C for M, C in zip(moving, T_cam_board)]
    target = mean_pose(targets)
    dt = np.sqrt(np.mean([np.sum((T[:3, 3] - target[:3, 3]) ** 2) for T in targets])) * 1000
    dr = np.degrees(np.sqrt(np.mean([rotation_angle(target[:3, :3].T @ T[:3, :3]) ** 2 for T in targets])))
    if dt > max_translation_spread_mm or dr > max_rotation_spread_deg:
        raise UserFacingError(
            f"the hand-eye result does not explain the views: the board pose it implies varies by {dt:.1f} mm / "
            f"{dr:.2f} deg RMS (limits {max_translation_spread_mm} mm / {max_rotation_spread_deg} deg). Check --mount "
            f"(got {mount}), that the robot had stopped when each frame was grabbed, and the intrinsics"
        )
    return HandEyeResult(X, mount, method, target, float(dt), float(dr), len(T_base_ee))


def _calibrate_hand_eye(
    T_base_gripper: list[np.ndarray], T_cam_board: list[np.ndarray], method: str
) -> np.ndarray:
    if not hasattr(cv2, "calibrateHandEye"):
        if method != "park":
            raise UserFacingError(
                f"this OpenCV build ({cv2.__version__}) lacks calibrateHandEye (opencv/opencv#29565, "
                "opencv-python 5.0.0.93); install opencv-python-headless==4.13.0.92 or use --method park"
            )
        return park_martin(T_base_gripper, T_cam_board)
    R, t = cv2.calibrateHandEye(
        [T[:3, :3] for T in T_base_gripper],
        [T[:3, 3] for T in T_base_gripper],
        [T[:3, :3] for T in T_cam_board],
        [T[:3, 3] for T in T_cam_board],
        method=METHODS[method],
    )
    return make_T(R, t)


def park_martin(T_base_gripper: list[np.ndarray], T_cam_board: list[np.ndarray]) -> np.ndarray:
    """Park & Martin (1994) least-squares AX = XB, the same method as CALIB_HAND_EYE_PARK.

    Only used where the installed OpenCV build lacks calibrateHandEye (opencv-python 5.0.0.93).
    """
    As, Bs = [], []
    for i, j in combinations(range(len(T_base_gripper)), 2):
        As.append(invert(T_base_gripper[j]) @ T_base_gripper[i])  # gripper motion i -> j
        Bs.append(T_cam_board[j] @ invert(T_cam_board[i]))  # camera motion i -> j
    alphas = [cv2.Rodrigues(np.ascontiguousarray(A[:3, :3]))[0].reshape(3) for A in As]
    betas = [cv2.Rodrigues(np.ascontiguousarray(B[:3, :3]))[0].reshape(3) for B in Bs]
    # R_X maps camera rotation axes onto gripper rotation axes: orthogonal Procrustes
    U, _, Vt = np.linalg.svd(sum(np.outer(a, b) for a, b in zip(alphas, betas)))
    R = U @ np.diag([1.0, 1.0, np.linalg.det(U @ Vt)]) @ Vt
    # (R_A - I) t_X = R_X t_B - t_A, stacked
    lhs = np.concatenate([A[:3, :3] - np.eye(3) for A in As])
    rhs = np.concatenate([R @ B[:3, 3] - A[:3, 3] for A, B in zip(As, Bs)])
    t = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    return make_T(R, t)


def mean_pose(poses: list[np.ndarray]) -> np.ndarray:
    """Chordal mean of rotations and arithmetic mean of translations."""
    U, _, Vt = np.linalg.svd(sum(T[:3, :3] for T in poses))
    R = U @ np.diag([1.0, 1.0, np.linalg.det(U @ Vt)]) @ Vt
    return make_T(R, np.mean([T[:3, 3] for T in poses], axis=0))
