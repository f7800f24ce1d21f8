"""Check a calibration: predict the board in fresh views through intrinsics + hand-eye and measure the error."""

from dataclasses import dataclass

import cv2
import numpy as np

from calibration.capture import Capture, board_poses
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
    pairs = board_poses(captures, intrinsics)
    if len(pairs) < 2:
        raise UserFacingError(f"the board was found in {len(pairs)} views; the check needs at least 2")
    moving = {id(c): (c.T_base_ee if mount == "eye_in_hand" else invert(c.T_base_ee)) for c, _ in pairs}
    target = mean_pose([moving[id(c)] @ T_mount_cam @ T for c, T in pairs])
    predicted: list[np.ndarray | None] = []
    per_view, worst = [], 0.0
    for cap in captures:
        if cap.detection is None or id(cap) not in moving:
            predicted.append(None)
            continue
        T_cam_board = invert(moving[id(cap)] @ T_mount_cam) @ target
        rvec = cv2.Rodrigues(np.ascontiguousarray(T_cam_board[:3, :3]))[0]
        pts, _ = cv2.projectPoints(
            cap.detection.object_points, rvec, T_cam_board[:3, 3], intrinsics.K, intrinsics.dist
        )
        pts = pts.reshape(-1, 2)
        err = np.linalg.norm(pts - cap.detection.image_points, axis=1)
        predicted.append(pts)
        per_view.append(float(err.mean()))
        worst = max(worst, float(err.max()))
    return CheckReport(float(np.mean(per_view)), worst, per_view, len(per_view), predicted)
