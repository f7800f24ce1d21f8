"""A general image encoder from transformers, frame features averaged over time: the stand-in for the paper's
ImageBind baseline (whose image tower is a frozen OpenCLIP ViT-H/14, the default here)."""

import numpy as np

from srpo_offline.encoders.common import (
    batches,
    check_videos,
    sample_frame_indices,
    torch_dtype,
    weights_error,
)


class ImageEncoder:
    """A transformers image encoder applied to frames spread over the video, features averaged over time."""

    name = "image"
    default_model = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"  # the OpenCLIP ViT-H/14 that is ImageBind's image tower
    camera = "front"  # the fixed scene camera, as the paper scores its third-person view

    @classmethod
    def build(cls, model: str | None = None, device: str = "cpu", batch_size: int | None = None,
              num_frames: int | None = None, half: bool | None = None):
        """The registry's constructor (None keeps this encoder's own default)."""
        kw = {k: v for k, v in (("batch_size", batch_size), ("num_frames", num_frames)) if v is not None}
        return cls(model, device=device, half=half, **kw)

    def __init__(self, model: str | None = None, device: str = "cpu", batch_size: int = 32,
                 num_frames: int = 8, half: bool | None = None):
        from transformers import AutoImageProcessor, AutoModel

        self.model_id = model or self.default_model
        self.device = device
        self.batch_size = batch_size
        self.num_frames = num_frames
        self.dtype = torch_dtype(device, half)
        try:
            self.processor = AutoImageProcessor.from_pretrained(self.model_id)
            self.model = AutoModel.from_pretrained(self.model_id, dtype=self.dtype)
        except OSError as err:
            raise weights_error("image encoder", self.model_id, err) from err
        self.model.to(device).eval()

    def frame_features(self, frames: np.ndarray):
        """[F, D] features of a stack of frames: projected image embeddings when the model has them."""
        pixels = self.processor(images=list(frames), return_tensors="pt")["pixel_values"]
        pixels = pixels.to(self.device, self.dtype)
        if hasattr(self.model, "get_image_features"):  # CLIP / SigLIP: the embedding the model was trained on
            out = self.model.get_image_features(pixel_values=pixels)
        else:  # plain vision backbones (DINOv2, ViT): pooled output
            out = self.model(pixel_values=pixels)
        if not hasattr(out, "pooler_output"):
            return out
        return out.pooler_output if out.pooler_output is not None else out.last_hidden_state.mean(dim=1)

    def encode(self, videos: list[np.ndarray]) -> np.ndarray:
        import torch

        videos = check_videos(videos)
        if not videos:
            return np.zeros((0, 0), dtype=np.float32)
        frames = np.concatenate([v[sample_frame_indices(len(v), self.num_frames)] for v in videos])
        feats = []
        with torch.inference_mode():
            for sl in batches(len(frames), self.batch_size):
                feats.append(self.frame_features(frames[sl]).float().cpu().numpy())
        feats = np.concatenate(feats).reshape(len(videos), self.num_frames, -1)
        return feats.mean(axis=1)
