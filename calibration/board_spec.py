"""The ChArUco board's definition, light to import (the command line parses it; OpenCV stays in board.py)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class BoardSpec:
    """A ChArUco board. The default fits on A4 paper at 100% scale (240 x 180 mm)."""

    squares_x: int = 8  # chessboard squares along the board's x axis (columns)
    squares_y: int = 6  # chessboard squares along the board's y axis (rows)
    square_length: float = 0.030  # side of one chessboard square, metres (measure the print!)
    marker_length: float = 0.022  # side of one ArUco marker, metres
    dictionary: str = "DICT_4X4_50"  # OpenCV predefined ArUco dictionary name

    @property
    def size(self) -> tuple[float, float]:
        """Board width and height in metres."""
        return self.squares_x * self.square_length, self.squares_y * self.square_length

    def to_dict(self) -> dict:
        return {
            "squares_x": self.squares_x,
            "squares_y": self.squares_y,
            "square_length": self.square_length,
            "marker_length": self.marker_length,
            "dictionary": self.dictionary,
        }
