"""World-model and baseline video encoders behind one interface: `encode(videos) -> np.ndarray [N, D]`.

videos: a list of uint8 arrays T x H x W x 3 (RGB), any length T >= 1 and any size (each encoder resizes).
The registry `ENCODERS` names them (the `--encoder` choices of `srpo reward` and `srpo demo`):
  vjepa2  V-JEPA 2, the paper's world model (vjepa2.py)
  image   a transformers image encoder averaged over time, the ImageBind stand-in (image.py)
  pixel   the paper's pixel-level baseline (pixel.py)
Adding an encoder: one module with a class that has `name`, `default_model`, `model_id`, `encode` and a
`build(model=None, device="cpu", batch_size=None, num_frames=None, ...)` classmethod, plus one line in
`ENCODERS`. Heavy imports (torch, transformers) happen inside the encoders, so importing this is cheap.
"""

from srpo.errors import UserFacingError
from srpo_offline.encoders.common import check_videos, sample_frame_indices
from srpo_offline.encoders.image import ImageEncoder
from srpo_offline.encoders.pixel import PixelEncoder
from srpo_offline.encoders.vjepa2 import VJEPA2Encoder

ENCODERS: dict[str, type] = {cls.name: cls for cls in (VJEPA2Encoder, ImageEncoder, PixelEncoder)}
DEFAULT_MODELS: dict[str, str] = {name: cls.default_model for name, cls in ENCODERS.items() if cls.default_model}

__all__ = ["DEFAULT_MODELS", "ENCODERS", "build_encoder", "check_videos", "sample_frame_indices", "vjepa2_available"]


def build_encoder(name: str, model: str | None = None, device: str = "cpu", **kw):
    """An encoder by registry name. model: a hub id or a local directory (None: the encoder's default);
    kw: batch_size, num_frames, half (vjepa2, image), size (pixel)."""
    if name not in ENCODERS:
        raise UserFacingError(f"unknown encoder {name!r}; use one of {', '.join(ENCODERS)}")
    return ENCODERS[name].build(model=model, device=device, **kw)


def vjepa2_available(model: str | None = None) -> bool:
    """True when V-JEPA 2 weights are on this machine (a local directory, or the hub cache)."""
    from pathlib import Path

    from huggingface_hub import try_to_load_from_cache

    model = model or DEFAULT_MODELS["vjepa2"]
    if Path(model).is_dir():
        return (Path(model) / "config.json").is_file()
    return isinstance(try_to_load_from_cache(model, "config.json"), str)
