"""Action tokens of OpenVLA*: 256 bins per action dimension, mapped onto the last 256 ids of the Llama vocabulary.

Decoding follows OpenVLA-OFT (moojink/openvla-oft prismatic/extern/hf/modeling_prismatic.py, `bin_centers` and the
discrete branch of `predict_action`) and siiRL (siirl/engine/rollout/embodied_rollout.py): bin edges
``linspace(-1, 1, 256)``, the 255 midpoints between them are the action values, and token id ``i`` decodes to
``centres[clip(vocab_size - i - 1, 0, 254)]`` (so the two smallest action ids decode to the same, largest
value). Encoding is OpenVLA's ``vocab_size - digitize(a, edges)``. Normalised actions in [-1, 1] are
un-normalised with the checkpoint's q01/q99 statistics for the dimensions its ``mask`` marks; the others (the
gripper) pass through.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ActionStats:
    """Per-dimension statistics from the checkpoint's dataset_statistics (norm_stats[<key>]["action"])."""

    q01: np.ndarray  # 1st percentile per action dimension
    q99: np.ndarray  # 99th percentile per action dimension
    mask: np.ndarray  # True where the dimension was normalised (False for the gripper)

    @classmethod
    def from_dict(cls, action_stats: dict) -> ActionStats:
        q01 = np.asarray(action_stats["q01"], dtype=np.float64)
        mask = np.asarray(action_stats.get("mask", np.ones_like(q01, dtype=bool)), dtype=bool)
        return cls(q01=q01, q99=np.asarray(action_stats["q99"], dtype=np.float64), mask=mask)


class ActionTokenizer:
    def __init__(self, vocab_size: int, n_bins: int = 256):
        self.vocab_size = vocab_size  # the tokenizer's vocabulary (32000 for Llama 2), not the padded embedding
        self.n_bins = n_bins
        self.first_id = vocab_size - n_bins  # the sampled action slice is ids [first_id, vocab_size)
        self.bin_edges = np.linspace(-1.0, 1.0, n_bins)
        self.bin_centers = (self.bin_edges[:-1] + self.bin_edges[1:]) / 2.0  # n_bins - 1 values

    def slice_to_token_ids(self, slice_index: torch.Tensor) -> torch.Tensor:
        """Index into the 256-entry action slice of the logits -> vocabulary id."""
        return slice_index + self.first_id

    def token_ids_to_bins(self, token_ids: np.ndarray | torch.Tensor) -> np.ndarray:
        """Vocabulary ids -> index into `bin_centers`."""
        ids = np.asarray(token_ids.cpu() if isinstance(token_ids, torch.Tensor) else token_ids)
        return np.clip(self.vocab_size - ids - 1, 0, len(self.bin_centers) - 1)

    def decode(self, token_ids: np.ndarray | torch.Tensor) -> np.ndarray:
        """Token ids -> normalised actions in (-1, 1) (same shape)."""
        return self.bin_centers[self.token_ids_to_bins(token_ids)]

    def encode(self, actions: np.ndarray) -> np.ndarray:
        """Normalised actions -> token ids, as OpenVLA's ActionTokenizer: vocab_size - digitize(clip(a), edges)."""
        return self.vocab_size - np.digitize(np.clip(actions, -1.0, 1.0), self.bin_edges)


def unnormalize(actions: np.ndarray, stats: ActionStats) -> np.ndarray:
    """[-1, 1] -> the robot's action space: 0.5 (a + 1)(q99 - q01 + 1e-8) + q01 on masked dims, identity elsewhere
    (OFT's _unnormalize_actions, including its 1e-8)."""
    scaled = 0.5 * (actions + 1.0) * (stats.q99 - stats.q01 + 1e-8) + stats.q01
    return np.where(stats.mask, scaled, actions)
