"""The ChArUco calibration board: its definition, a printable image, and detection in camera frames."""

from dataclasses import dataclass

import cv2
import numpy as np

from calibration.board_spec import BoardSpec
from srpo.errors import UserFacingError


@dataclass(frozen=True)
class Detection:
    """ChArUco corners found in one image, with their positions on the board."""

    image_points: np.ndarray  # [N, 2] float32 pixel coordinates of the interpolated chessboard corners
    object_points: np.ndarray  # [N, 3] float32 the same corners in the board frame (metres, z = 0)
    ids: np.ndarray  # [N] int32 ChArUco corner ids


def make_board(spec: BoardSpec) -> "cv2.aruco.CharucoBoard":
    """The OpenCV board object for `spec`."""
    if spec.marker_length >= spec.square_length:
        raise UserFacingError(
            f"marker length {spec.marker_length} must be smaller than the square length {spec.square_length}"
        )
    name = spec.dictionary
    if not hasattr(cv2.aruco, name):
        raise UserFacingError(f"unknown ArUco dictionary {name!r}; use an OpenCV name such as DICT_4X4_50")
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))
    return cv2.aruco.CharucoBoard(
        (spec.squares_x, spec.squares_y), spec.square_length, spec.marker_length, dictionary
    )


def board_image(spec: BoardSpec, pixels_per_square: int = 100) -> np.ndarray:
    """A grey uint8 image of the whole board, no margin; row 0 is the board's y = 0 edge."""
    width, height = spec.squares_x * pixels_per_square, spec.squares_y * pixels_per_square
    return make_board(spec).generateImage((width, height), marginSize=0, borderBits=1)


class BoardDetector:
    """Finds the board's corners in images (OpenCV CharucoDetector)."""

    def __init__(self, spec: BoardSpec, min_corners: int = 6):
        self.spec = spec
        self.min_corners = min_corners  # fewer corners than this counts as "board not found"
        self._board = make_board(spec)
        self._detector = cv2.aruco.CharucoDetector(self._board)

    def detect(self, image: np.ndarray) -> Detection | None:
        """Corners in an RGB or grey uint8 image, or None where the board is not (sufficiently) visible."""
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        corners, ids, _, _ = self._detector.detectBoard(grey)
        if ids is None or len(ids) < self.min_corners:
            return None
        ids = ids.reshape(-1).astype(np.int32)
        object_points = self._board.getChessboardCorners()[ids].astype(np.float32)
        return Detection(corners.reshape(-1, 2).astype(np.float32), object_points, ids)


def draw_detection(
    image: np.ndarray, detection: Detection | None, predicted: np.ndarray | None = None
) -> np.ndarray:
    """A BGR copy of an RGB `image` with detected corners (green) and, if given, predicted ones (red)."""
    canvas = (
        cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    )
    if detection is not None:
        cv2.aruco.drawDetectedCornersCharuco(
            canvas, detection.image_points.reshape(-1, 1, 2), detection.ids.reshape(-1, 1)
        )
    if predicted is not None:
        for u, v in predicted.reshape(-1, 2):
            cv2.drawMarker(canvas, (round(float(u)), round(float(v))), (0, 0, 255), cv2.MARKER_CROSS, 8, 1)
    if detection is None:
        cv2.putText(canvas, "board not found", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 255), 2)
    return canvas
