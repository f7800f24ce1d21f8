"""What every encoder shares: video checks, frame sampling, weight-loading errors, dtype and batching."""

import numpy as np

from srpo.errors import UserFacingError


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
