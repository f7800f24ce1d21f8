"""V-JEPA 2 via transformers (`VJEPA2Model` + its video processor): the paper's world model.

A fixed number of frames (the checkpoint's frames_per_clip, 64) is picked by linspace over the video; shorter
videos are padded by looping, as the authors' code does. Tokens are mean-pooled.
"""

import numpy as np

from srpo_offline.encoders.common import (
    batches,
    check_videos,
    sample_frame_indices,
    torch_dtype,
    weights_error,
)


class VJEPA2Encoder:
    """V-JEPA 2 encoder (transformers VJEPA2Model); one mean-pooled token vector per video."""

    name = "vjepa2"
    default_model = "facebook/vjepa2-vitl-fpc64-256"  # ViT-L, 256 px, 64 frames (the authors used ViT-g, 384 px)
    camera = "front"  # the fixed scene camera, as the paper scores its third-person view

    @classmethod
    def build(cls, model: str | None = None, device: str = "cpu", batch_size: int | None = None,
              num_frames: int | None = None, half: bool | None = None):
        """The registry's constructor (None keeps this encoder's own default)."""
        kw = {k: v for k, v in (("batch_size", batch_size), ("num_frames", num_frames)) if v is not None}
        return cls(model, device=device, half=half, **kw)

    def __init__(self, model: str | None = None, device: str = "cpu", batch_size: int = 4,
                 num_frames: int | None = None, half: bool | None = None):
        from transformers import AutoVideoProcessor, VJEPA2Model

        self.model_id = model or self.default_model
        self.device = device
        self.batch_size = batch_size
        self.dtype = torch_dtype(device, half)
        try:
            self.processor = AutoVideoProcessor.from_pretrained(self.model_id)
            self.model = VJEPA2Model.from_pretrained(self.model_id, dtype=self.dtype)
        except OSError as err:
            raise weights_error("V-JEPA 2", self.model_id, err) from err
        self.model.to(device).eval()
        self.num_frames = num_frames or self.model.config.frames_per_clip
        self.dim = self.model.config.hidden_size

    def encode(self, videos: list[np.ndarray]) -> np.ndarray:
        import torch

        videos = check_videos(videos)
        out = np.zeros((len(videos), self.dim), dtype=np.float32)
        for sl in batches(len(videos), self.batch_size):
            clips = [v[sample_frame_indices(len(v), self.num_frames)] for v in videos[sl]]
            pixels = self.processor(videos=clips, return_tensors="pt")["pixel_values_videos"]
            with torch.inference_mode():
                hidden = self.model(pixels.to(self.device, self.dtype), skip_predictor=True).last_hidden_state
            out[sl] = hidden.float().mean(dim=1).cpu().numpy()
        return out
