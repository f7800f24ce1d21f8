"""Camera intrinsics fitted to ChArUco views with OpenCV (the RealSense factory values come from the camera itself)."""

from itertools import combinations

import cv2
import numpy as np

from calibration.board import Detection
from calibration.geometry import make_T
from srpo.errors import UserFacingError
from srpo.robot.calibration_file import Intrinsics


def calibrate_intrinsics(
    detections: list[Detection | None],
    image_size: tuple[int, int],
    min_views: int = 8,
    min_tilt_spread_deg: float = 10.0,
) -> tuple[Intrinsics, list[np.ndarray]]:
    """Fit intrinsics to board views (OpenCV calibrateCamera); returns them and the board pose in each used view.

    Raises a UserFacingError when there are too few views with the board, or when the views do not tilt the
    board enough for the focal length to be observable (all board planes parallel).
    """
    width, height = image_size
    found = [d for d in detections if d is not None]
    if len(found) < min_views:
        raise UserFacingError(
            f"the board was found in {len(found)} of {len(detections)} images; intrinsics need at least {min_views}. "
            "Check the board settings (--squares-x/--squares-y/--dictionary) match the print, light it evenly, "
            "and capture more views"
        )
    spread = tilt_spread_deg(found, image_size)
    if spread < min_tilt_spread_deg:
        raise UserFacingError(
            f"all board views are (nearly) parallel: their planes differ by at most {spread:.1f} deg, so the focal "
            f"length cannot be recovered. Capture views with the board tilted by {min_tilt_spread_deg:.0f}+ deg in "
            "different directions"
        )
    try:
        rms, K, dist, rvecs, tvecs = cv2.calibrateCamera(
            [d.object_points for d in found],
            [d.image_points for d in found],
            (width, height),
            None,
            None,
            flags=cv2.CALIB_FIX_K3,
        )
    except cv2.error as err:
        raise UserFacingError(
            f"OpenCV could not calibrate from these views ({err.err}); tilt the board more"
        ) from err
    board_poses = [make_T(cv2.Rodrigues(rvec)[0], tvec) for rvec, tvec in zip(rvecs, tvecs)]
    intrinsics = Intrinsics(
        width=width,
        height=height,
        fx=float(K[0, 0]),
        fy=float(K[1, 1]),
        cx=float(K[0, 2]),
        cy=float(K[1, 2]),
        distortion=tuple(float(v) for v in dist.reshape(-1)[:5]),
        source="board",
        rms_px=float(rms),
        n_views=len(found),
    )
    return intrinsics, board_poses


def tilt_spread_deg(detections: list[Detection], image_size: tuple[int, int]) -> float:
    """Largest angle between the board planes of any two views, measured with a rough pinhole guess.

    Checked before fitting: with parallel board planes calibrateCamera returns a confident but wrong focal
    length, and board poses computed with that result no longer show the views were parallel. A guess of
    f = the larger image side is within a factor of ~2 for ordinary lenses, which keeps parallel views
    within a few degrees of each other and tilted ones far apart.
    """
    width, height = image_size
    f = float(max(width, height))
    K = np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
    normals = []
    for d in detections:
        ok, rvec, _ = cv2.solvePnP(d.object_points, d.image_points, K, None)
        if ok:
            normals.append(cv2.Rodrigues(rvec)[0][:, 2])
    return max_normal_angle_deg(normals)


def max_normal_angle_deg(normals: list[np.ndarray]) -> float:
    """Largest angle between any two plane normals, degrees."""
    best = 0.0
    for a, b in combinations(normals, 2):
        best = max(best, float(np.degrees(np.arccos(np.clip(abs(a @ b), -1.0, 1.0)))))
    return best
