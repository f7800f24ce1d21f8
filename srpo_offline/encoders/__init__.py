"""World-model and baseline video encoders behind one interface: `encode(videos) -> np.ndarray [N, D]`.

videos: a list of uint8 arrays T x H x W x 3 (RGB), any length T >= 1 and any size (each encoder resizes).
The registry `ENCODERS` names them (the `--encoder` choices of `srpo reward` and `srpo demo`):
  vjepa2  V-JEPA 2, the paper's world model (vjepa2.py)
  image   a transformers image encoder averaged over time, the ImageBind stand-in (image.py)
  pixel   the paper's pixel-level baseline (pixel.py)
  learned a small CNN fitted on the store's own camera frames and success labels (networks.py, fitting.py)
  state   the same fitted metric on proprioception + object pose: the control for the camera encoder's quality
`choose_encoder` is the one place that picks an encoder and the camera it scores, for every caller (`srpo
reward compute`, `srpo bench offline`, `srpo bench online`, `srpo demo`).
Adding an encoder: one module with a class that has `name`, `default_model`, `camera` (the camera it scores
unless told otherwise), `model_id`, `encode` and a `build(model=None, device="cpu", batch_size=None,
num_frames=None, ...)` classmethod, plus one line in `ENCODERS`. Heavy imports (torch, transformers) happen
inside the encoders, so importing this is cheap.
"""

from typing import NamedTuple

from srpo.errors import UserFacingError
from srpo_offline.encoders.common import check_videos, sample_frame_indices
from srpo_offline.encoders.image import ImageEncoder
from srpo_offline.encoders.networks import LearnedEncoder, StateEncoder
from srpo_offline.encoders.pixel import PixelEncoder
from srpo_offline.encoders.vjepa2 import VJEPA2Encoder

ENCODERS: dict[str, type] = {cls.name: cls for cls in (VJEPA2Encoder, ImageEncoder, PixelEncoder, LearnedEncoder,
                                                        StateEncoder)}
FALLBACK = "pixel"  # the encoder `auto` picks without V-JEPA 2's weights: `learned` tracks the oracle better but its AWR policies lost on place (docs/offline_bench.md)
DEFAULT_MODELS: dict[str, str] = {name: cls.default_model for name, cls in ENCODERS.items() if cls.default_model}

SIM_CAMERAS = ("front", "wrist")  # the simulated xArm's cameras, recorded as camera0, camera1 (srpo.robot.backends.sim)

__all__ = ["DEFAULT_MODELS", "ENCODERS", "SIM_CAMERAS", "EncoderChoice", "build_encoder", "check_videos",
           "choose_encoder", "sample_frame_indices", "store_camera", "vjepa2_available"]


class EncoderChoice(NamedTuple):
    """What `choose_encoder` picked; unpacks as (name, camera, why)."""

    name: str  # registry name in ENCODERS
    camera: str  # camera it scores: front | wrist (the sim's names), or a store camera such as camera0
    why: str  # one sentence for logs and reports: why this encoder


def choose_encoder(encoder: str = "auto", model: str | None = None, camera: str = "auto") -> EncoderChoice:
    """The encoder and camera SRPO progress is computed with, said plainly when the world model is replaced.

    encoder: a name in ENCODERS, or auto (vjepa2 when its weights are on this machine, else FALLBACK); model: its
    weights (hub id or local directory); camera: auto (the encoder's own `camera`) or a
    camera name, passed through (the state encoder reads the store's state keys, camera "state", whatever is given).
    """
    if encoder not in ("auto", *ENCODERS):
        raise UserFacingError(f"unknown encoder {encoder!r}; use auto or one of {', '.join(ENCODERS)}")
    if encoder != "auto":
        name, why = encoder, f"chosen with --encoder {encoder}"
    elif vjepa2_available(model):
        name, why = "vjepa2", "V-JEPA 2 weights found locally"
    else:
        name = FALLBACK
        why = (f"V-JEPA 2 weights are not on this machine (download {DEFAULT_MODELS['vjepa2']} or pass --model "
               f"PATH), so the {name} encoder is used on the {ENCODERS[name].camera} camera instead: "
               f"{ENCODERS[name].fallback_note}")
    own = ENCODERS[name].camera
    return EncoderChoice(name, own if camera == "auto" or own == "state" else camera, why)  # state reads no camera


def store_camera(camera: str) -> str:
    """The store's name of a camera: front / wrist -> camera0 / camera1 as the sim records them; others as given."""
    return f"camera{SIM_CAMERAS.index(camera)}" if camera in SIM_CAMERAS else camera


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
