"""The paper's pixel-level baseline: the video's last frame, downscaled, as a flat vector."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from srpo.errors import UserFacingError
from srpo_offline.encoders.common import check_videos


@dataclass(frozen=True)
class PixelEncoder:
    """The pixel-level baseline: the last frame of the video, area-downscaled to size x size, in [0, 1]."""

    size: int = 64  # side of the downscaled frame; the vector has size * size * 3 entries
    name: ClassVar[str] = "pixel"  # encoder name in reports and provenance
    default_model: ClassVar[None] = None  # no weights
    camera: ClassVar[str] = "wrist"  # in the front view the arm's pose and the cube's place dominate pixel distances and progress stays flat (Spearman with the oracle 0.00 on successes from the front camera at 64 px, 0.45 from the wrist; docs/offline_bench.md)
    fallback_note: ClassVar[str] = "progress is less faithful than the paper's world model"  # said when auto picks it

    @classmethod
    def build(cls, model: str | None = None, device: str = "cpu", batch_size: int | None = None,
              num_frames: int | None = None, size: int = 64) -> "PixelEncoder":
        """The registry's constructor: a CPU resize of one frame has no weights, device, batches or clip length."""
        if model is not None:
            raise UserFacingError("the pixel encoder has no model; drop --model")
        return cls(size=size)

    @property
    def model_id(self) -> str:
        return f"pixel-last-frame-{self.size}"

    def encode(self, videos: list[np.ndarray]) -> np.ndarray:
        import cv2

        videos = check_videos(videos)
        out = np.zeros((len(videos), self.size * self.size * 3), dtype=np.float32)
        for i, v in enumerate(videos):
            small = cv2.resize(v[-1], (self.size, self.size), interpolation=cv2.INTER_AREA)
            out[i] = small.reshape(-1).astype(np.float32) / 255.0
        return out
