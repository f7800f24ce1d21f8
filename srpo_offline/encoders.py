"""World-model and baseline video encoders behind one interface: `encode(videos) -> np.ndarray [N, D]`.

videos: a list of uint8 arrays T x H x W x 3 (RGB), any length T >= 1 and any size (each encoder resizes).
  vjepa2  V-JEPA 2 via transformers (`VJEPA2Model` + its video processor); the paper's world model. A fixed
          number of frames (the checkpoint's frames_per_clip, 64) is picked by linspace over the video;
          shorter videos are padded by looping, as the authors' code does. Tokens are mean-pooled.
  image   a general image encoder from transformers, frame features averaged over time: the stand-in for
          the paper's ImageBind baseline (whose image tower is a frozen OpenCLIP ViT-H/14, the default here).
  pixel   the paper's pixel-level baseline: the video's last frame, downscaled, as a flat vector.
Heavy imports (torch, transformers) happen inside the encoders, so importing this module is cheap.
"""

from dataclasses import dataclass

import numpy as np

from srpo.errors import UserFacingError

DEFAULT_MODELS = {
    "vjepa2": "facebook/vjepa2-vitl-fpc64-256",  # ViT-L, 256 px, 64 frames; the authors used ViT-g below
    "image": "laion/CLIP-ViT-H-14-laion2B-s32B-b79K",  # the OpenCLIP ViT-H/14 ImageBind's image tower is
}
VJEPA2_VITG = "facebook/vjepa2-vitg-fpc64-384"  # the checkpoint the authors' online code uses


def sample_frame_indices(length: int, num_frames: int) -> np.ndarray:
    """num_frames indices spread by linspace over [0, length); a shorter video is looped to fill them."""
    if length < 1:
        raise UserFacingError("cannot encode an empty video (0 frames)")
    if length >= num_frames:
        return np.linspace(0, length - 1, num_frames).round().astype(int)
    return np.arange(num_frames) % length


def check_videos(videos) -> list[np.ndarray]:
    """The videos as a list of uint8 T x H x W x 3 arrays, or a UserFacingError saying what is wrong."""
    if isinstance(videos, np.ndarray) and videos.ndim == 4:
        raise UserFacingError("encode() takes a LIST of videos (T x H x W x 3 each); wrap a single video: [video]")
    out = []
    for i, v in enumerate(videos):
        v = np.asarray(v)
        if v.ndim != 4 or v.shape[-1] != 3 or v.dtype != np.uint8 or v.shape[0] < 1:
            raise UserFacingError(
                f"video {i} has shape {v.shape} and dtype {v.dtype}; expected uint8 T x H x W x 3 with T >= 1"
            )
        out.append(v)
    return out


def weights_error(kind: str, model: str, err: Exception) -> UserFacingError:
    return UserFacingError(
        f"could not load {kind} weights {model!r} ({type(err).__name__}: {str(err).splitlines()[0][:200]}). "
        f"On a machine that reaches the Hugging Face hub run `hf download {model} --local-dir models/{model.split('/')[-1]}` "
        f"(older clients: `huggingface-cli download {model} --local-dir ...`) and pass that directory as "
        "--model / model=; or unset HF_HUB_OFFLINE so transformers can fetch it."
    )


def torch_dtype(device: str, half: bool | None):
    import torch

    use_half = device.startswith("cuda") if half is None else half
    return torch.float16 if use_half else torch.float32


def batches(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


class VJEPA2Encoder:
    """V-JEPA 2 encoder (transformers VJEPA2Model); one mean-pooled token vector per video."""

    name = "vjepa2"

    def __init__(self, model: str | None = None, device: str = "cpu", batch_size: int = 4,
                 num_frames: int | None = None, half: bool | None = None):
        from transformers import AutoVideoProcessor, VJEPA2Model

        self.model_id = model or DEFAULT_MODELS["vjepa2"]
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


class ImageEncoder:
    """A transformers image encoder applied to frames spread over the video, features averaged over time."""

    name = "image"

    def __init__(self, model: str | None = None, device: str = "cpu", batch_size: int = 32,
                 num_frames: int = 8, half: bool | None = None):
        from transformers import AutoImageProcessor, AutoModel

        self.model_id = model or DEFAULT_MODELS["image"]
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


@dataclass(frozen=True)
class PixelEncoder:
    """The pixel-level baseline: the last frame of the video, area-downscaled to size x size, in [0, 1]."""

    size: int = 64  # side of the downscaled frame; the vector has size * size * 3 entries
    name: str = "pixel"  # encoder name in reports and provenance

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


def build_encoder(name: str, model: str | None = None, device: str = "cpu", **kw):
    """An encoder by name: "vjepa2" (default world model), "image" or "pixel".

    model: a hub id or a local directory (vjepa2, image); kw: batch_size, num_frames, half (vjepa2, image),
    size (pixel).
    """
    if name == "vjepa2":
        return VJEPA2Encoder(model, device=device, **kw)
    if name == "image":
        return ImageEncoder(model, device=device, **kw)
    if name == "pixel":
        if model is not None:
            raise UserFacingError("the pixel encoder has no model; drop --model")
        return PixelEncoder(**kw)
    raise UserFacingError(f"unknown encoder {name!r}; use vjepa2, image or pixel")
