"""Check a calibration: predict the board in fresh views through intrinsics + hand-eye and measure the error."""

from dataclasses import dataclass

import cv2
import numpy as np

from calibration.capture import Capture, board_pose
from calibration.geometry import invert
from calibration.handeye import mean_pose
from calibration.intrinsics import Intrinsics
from srpo.errors import UserFacingError


@dataclass(frozen=True)
class CheckReport:
    """How well the calibration predicts where the board appears."""

    mean_px: float  # mean distance between predicted and detected corners over all views, pixels
    max_px: float  # worst single corner, pixels
    per_view_px: list[float]  # mean corner error in each used view, pixels
    n_views: int  # views with the board found
    predicted: list[
        np.ndarray | None
    ]  # predicted corner pixels per capture (None where the board was not found)

    def to_dict(self) -> dict:
        return {"mean_px": round(self.mean_px, 4), "max_px": round(self.max_px, 4), "n_views": self.n_views}


def reprojection_check(
    captures: list[Capture], intrinsics: Intrinsics, T_mount_cam: np.ndarray, mount: str
) -> CheckReport:
    """Reproject the board with the calibration and compare with the detected corners.

    The board's own pose (on the table, or on the gripper) is estimated from these views with the calibrated
    camera pose, then every view's corners are predicted from the robot pose alone: the error combines the
    hand-eye and intrinsics error with the robot's positioning repeatability.
    """
    board_in_cam = [board_pose(c, intrinsics) for c in captures]
    seen = [i for i, T in enumerate(board_in_cam) if T is not None]
    if len(seen) < 2:
        raise UserFacingError(f"the board was found in {len(seen)} views; the check needs at least 2")
    # the frame the camera rides in, per view: the gripper (eye-in-hand) or, seen from the board, the base
    moving = [c.T_base_ee if mount == "eye_in_hand" else invert(c.T_base_ee) for c in captures]
    target = mean_pose([moving[i] @ T_mount_cam @ board_in_cam[i] for i in seen])
    predicted: list[np.ndarray | None] = [None] * len(captures)
    errors = []
    for i in seen:
        T_cam_board = invert(moving[i] @ T_mount_cam) @ target
        rvec = cv2.Rodrigues(np.ascontiguousarray(T_cam_board[:3, :3]))[0]
        detection = captures[i].detection
        pts, _ = cv2.projectPoints(
            detection.object_points, rvec, T_cam_board[:3, 3], intrinsics.K, intrinsics.dist
        )
        predicted[i] = pts.reshape(-1, 2)
        errors.append(np.linalg.norm(predicted[i] - detection.image_points, axis=1))
    per_view = [float(e.mean()) for e in errors]
    worst = max(float(e.max()) for e in errors)
    return CheckReport(float(np.mean(per_view)), worst, per_view, len(per_view), predicted)
