"""The fitted encoders: `learned` (a 4-layer CNN on one camera's last frame) and `state` (an MLP on
proprioception + object pose, the control that separates SRPO's reward formula from a camera encoder's quality).

Both embed the LAST step of each video / state sequence they are given, so `step_progress` scores prefix 0..t
by step t. Weights come from `srpo_offline.encoders.fitting.fit_encoder` (`srpo reward fit`); `build(model=PATH)`
loads a fitted file. With no model, `compute_reward_run` fits one on the store it scores (cached).
"""

from pathlib import Path
from typing import ClassVar

import numpy as np

from srpo.errors import UserFacingError


def make_network(kind: str, dim: int, in_dim: int | None = None, stats: dict | None = None):
    """The torch module of a fitted encoder: a CNN on 3 x S x S frames in [0, 1], or an MLP on standardised state."""
    import torch
    from torch import nn

    class ConvNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(3, 32, 4, 2), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
                nn.Conv2d(64, 64, 4, 2), nn.ReLU(), nn.Conv2d(64, 64, 3, 2), nn.ReLU(),
                nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(256, dim))

        def forward(self, x):
            return self.body(x)

    class StateNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor(stats["mean"], dtype=torch.float32))
            self.register_buffer("std", torch.tensor(stats["std"], dtype=torch.float32))
            self.body = nn.Sequential(nn.Linear(in_dim, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                                      nn.Linear(128, dim))

        def forward(self, x):
            return self.body((x - self.mean) / self.std)

    if kind == "learned":
        return ConvNet()
    if kind == "state":
        return StateNet()
    raise UserFacingError(f"no fitted network of kind {kind!r}; use learned or state")


def frames_tensor(frames: np.ndarray):
    """uint8 N x S x S x 3 -> float N x 3 x S x S in [0, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0


class FittedEncoder:
    """A network fitted by `fit_encoder`, embedding the last step of each sequence it is given."""

    name: ClassVar[str] = ""
    default_model: ClassVar[None] = None  # fitted per store: there are no weights to download
    fitted: ClassVar[bool] = True  # `compute_reward_run` fits one on the scored store when no model is given

    @classmethod
    def build(cls, model: str | None = None, device: str = "cpu", batch_size: int | None = None,
              num_frames: int | None = None, half: bool | None = None):
        """The registry's constructor: model is a file written by `srpo reward fit`."""
        if model is None or not Path(model).is_file():
            raise UserFacingError(
                f"the {cls.name} encoder needs a fitted file (`srpo reward fit STORE --encoder {cls.name}` prints "
                f"its path; pass it as --model), or no --model at all to fit one on the scored store; got {model!r}")
        return cls(model, device)

    def __init__(self, model: str, device: str = "cpu"):
        import torch

        blob = torch.load(model, map_location=device, weights_only=False)
        self.meta = blob["meta"]
        if self.meta["encoder"] != self.name:
            raise UserFacingError(f"{model} is a fitted {self.meta['encoder']} encoder, not {self.name}")
        self.net = make_network(self.name, self.meta["settings"]["dim"], self.meta["in_dim"], self.meta["stats"])
        self.net.load_state_dict(blob["state_dict"])
        self.net.to(device).eval()
        self.device = device
        self.model_id = str(model)

    @property
    def fit_provenance(self) -> dict:
        """What the fit saw and how (for the reward run's provenance)."""
        keys = ("settings", "camera", "keys", "store", "episodes", "n_success", "data_hash", "final_loss", "seconds")
        return {k: self.meta[k] for k in keys}

    def last_steps(self, videos) -> np.ndarray:
        raise NotImplementedError

    def encode(self, videos) -> np.ndarray:
        import torch

        if not len(videos):
            return np.zeros((0, self.meta["settings"]["dim"]), np.float32)
        x = self.last_steps(videos)
        with torch.inference_mode():
            return self.net(x.to(self.device)).float().cpu().numpy()


class LearnedEncoder(FittedEncoder):
    """A small CNN fitted on the store's own camera frames (no hub weights), on the last frame of each video."""

    name: ClassVar[str] = "learned"
    camera: ClassVar[str] = "front"  # the fixed scene camera: the probe's best (docs/reward.md)
    fallback_note: ClassVar[str] = "a small CNN fitted on this store's own frames and success labels"  # said when auto picks it

    def last_steps(self, videos):
        from srpo_offline.encoders.common import check_videos
        from srpo_offline.encoders.fitting import resize_frames

        last = np.stack([v[-1] for v in check_videos(videos)])
        return frames_tensor(resize_frames(last, self.meta["settings"]["size"]))


class StateEncoder(FittedEncoder):
    """The control: the same fitted metric over proprioception + the object's (privileged) pose, no camera."""

    name: ClassVar[str] = "state"
    camera: ClassVar[str] = "state"  # reads the store's state keys (`srpo_offline.encoders.fitting.STATE_KEYS`)

    def last_steps(self, videos):
        import torch

        rows = []
        for i, v in enumerate(videos):
            v = np.asarray(v, np.float32)
            if v.ndim != 2 or v.shape[1] != self.meta["in_dim"] or len(v) < 1:
                raise UserFacingError(f"state sequence {i} has shape {v.shape}; expected T x {self.meta['in_dim']}")
            rows.append(v[-1])
        return torch.from_numpy(np.stack(rows))
