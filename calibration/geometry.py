"""Small rigid-transform helpers (4x4 homogeneous matrices, ``T_a_b`` = pose of b in a)."""

import cv2
import numpy as np


def make_T(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = np.asarray(t, dtype=float).reshape(3)
    return T


def invert(T: np.ndarray) -> np.ndarray:
    R, t = T[:3, :3], T[:3, 3]
    return make_T(R.T, -R.T @ t)


def from_pos_axis_angle(pos, axis_angle) -> np.ndarray:
    """The pose from a position (m) and an axis-angle rotation vector, as in robot0_eef_pos / _rot_axis_angle."""
    R, _ = cv2.Rodrigues(np.asarray(axis_angle, dtype=float).reshape(3, 1))
    return make_T(R, pos)


def to_pos_axis_angle(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rvec, _ = cv2.Rodrigues(np.ascontiguousarray(T[:3, :3]))
    return T[:3, 3].copy(), rvec.reshape(3)


def rotation_angle(R: np.ndarray) -> float:
    """Angle of a rotation matrix, radians."""
    return float(np.arccos(np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)))


def rotation_about(axis, angle: float) -> np.ndarray:
    axis = np.asarray(axis, dtype=float)
    R, _ = cv2.Rodrigues((axis / np.linalg.norm(axis) * angle).reshape(3, 1))
    return R


def pose_error(T_est: np.ndarray, T_true: np.ndarray) -> tuple[float, float]:
    """(translation error in metres, rotation error in degrees) between two poses."""
    dt = float(np.linalg.norm(T_est[:3, 3] - T_true[:3, 3]))
    dr = np.degrees(rotation_angle(T_est[:3, :3].T @ T_true[:3, :3]))
    return dt, float(dr)
