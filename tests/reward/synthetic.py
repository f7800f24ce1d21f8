"""Synthetic videos and a test-double encoder whose embedding is known in closed form."""

import numpy as np

START = np.array([0.0, 0.0, 4.0])  # embedding of a frame with level 0
GOAL = np.array([3.0, 4.0, 4.0])  # embedding of a frame with level 255 (distance 5 from START)


class LevelEncoder:
    """Test double: a video's embedding slides from START to GOAL with the grey level of its last frame.

    So a video whose level rises steadily moves steadily toward the success embedding, and its distance to
    GOAL is 5 * (1 - level / 255): progress is exactly level / 255.
    """

    name = "level"
    model_id = "level-double"

    def __init__(self):
        self.calls = 0

    def encode(self, videos):
        self.calls += len(videos)
        levels = np.array([v[-1].mean() / 255.0 for v in videos])
        return START + levels[:, None] * (GOAL - START)


def level_video(levels, size: int = 8) -> np.ndarray:
    """A video whose frame t is uniformly grey at levels[t] (0..255)."""
    levels = np.asarray(np.round(levels), dtype=np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (len(levels), size, size, 3)).copy()


def moving_video(t: int, start: float, end: float, size: int = 32) -> np.ndarray:
    """A white square whose position moves linearly from `start` to `end` (fractions of the frame)."""
    video = np.zeros((t, size, size, 3), dtype=np.uint8)
    for i, pos in enumerate(np.linspace(start, end, t)):
        c = int(round(pos * (size - 8)))
        video[i, 8:16, c : c + 8] = 255
    return video
