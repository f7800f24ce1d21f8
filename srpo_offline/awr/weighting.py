"""AWR weights (Peng et al. 2019) from the reward stage's per-step advantages, as a LeRobot `SampleWeighter`.

A step's weight is w = min(exp(A / beta), w_max). A training sample is (observation at step t, action chunk
a[t : t+H]); its weight is the weight of step t by default ("start": the chunk is the policy's decision at
t, and the advantage the reward stage stored for t is that decision's score). With chunk_weight="mean" the
chunk's advantage is the mean of A over its real (unpadded) steps instead, then exponentiated and clipped.

Per batch the weights are rescaled to sum to the batch size (as LeRobot's RA-BC weighter does), so the
training update loss = sum(w * l) / sum(w) sees the same scale whatever beta is, and multiplying every
weight by a constant changes nothing.
"""

from dataclasses import dataclass

import numpy as np
import torch
from lerobot.utils.sample_weighting import SampleWeighter

from srpo.errors import UserFacingError
from srpo_offline.advantages import awr_weights

CHUNK_WEIGHTS = ("start", "mean")


def chunk_mean_advantage(advantage: np.ndarray, episode_ends: np.ndarray, horizon: int) -> np.ndarray:
    """Per global step t: mean of A over [t, min(t + horizon, episode end)) (cumulative sums per episode)."""
    out = np.empty(len(advantage), dtype=np.float64)
    start = 0
    for end in episode_ends:
        a = np.asarray(advantage[start:end], dtype=np.float64)
        csum = np.concatenate([[0.0], np.cumsum(a)])
        t = np.arange(len(a))
        stop = np.minimum(t + horizon, len(a))
        out[start:end] = (csum[stop] - csum[t]) / (stop - t)
        start = end
    return out


@dataclass(frozen=True)
class WeightTable:
    """Per global step: the sample weight and whether it hit the clip."""

    weight: np.ndarray  # float32 [num_steps]
    clipped: np.ndarray  # bool [num_steps]


def weight_table(advantage: np.ndarray, episode_ends: np.ndarray, horizon: int, beta: float, w_max: float,
                 chunk_weight: str = "start") -> WeightTable:
    if chunk_weight not in CHUNK_WEIGHTS:
        raise UserFacingError(f"chunk weight {chunk_weight!r} is unknown; use one of {', '.join(CHUNK_WEIGHTS)}")
    adv = advantage if chunk_weight == "start" else chunk_mean_advantage(advantage, episode_ends, horizon)
    if not np.all(np.isfinite(adv)):
        raise UserFacingError("the reward run's advantages contain NaN or inf; recompute them (`srpo reward compute`).")
    weight = awr_weights(adv, beta, w_max)
    return WeightTable(weight=weight, clipped=np.asarray(adv, dtype=np.float64) / beta >= np.log(w_max))


def weight_summary(weights: np.ndarray, clipped: np.ndarray) -> dict:
    """Effective sample size (Kish: (sum w)^2 / sum w^2, also as a fraction of N), clipped fraction, range."""
    w = np.asarray(weights, dtype=np.float64)
    ess = float(w.sum() ** 2 / max((w**2).sum(), 1e-30))
    return {
        "n": int(len(w)), "ess": ess, "ess_fraction": ess / max(len(w), 1),
        "clipped_fraction": float(np.mean(clipped)) if len(w) else 0.0,
        "mean": float(w.mean()), "min": float(w.min()), "max": float(w.max()),
        "zero_fraction": float(np.mean(w == 0)),
    }


class AWRWeighter(SampleWeighter):
    """LeRobot SampleWeighter: looks each sample's weight up by its global step index (`batch["index"]`)."""

    def __init__(self, table: WeightTable, train_steps: np.ndarray, device: torch.device | str = "cpu"):
        self.table = table
        self.weights = torch.as_tensor(table.weight, dtype=torch.float32, device=device)
        self.clipped = torch.as_tensor(table.clipped, device=device)
        self.train_steps = np.asarray(train_steps)

    def compute_batch_weights(self, batch: dict) -> tuple[torch.Tensor, dict]:
        index = batch["index"].to(self.weights.device).long()
        raw = self.weights[index]
        total = raw.sum()
        weights = raw * (len(raw) / total) if total > 0 else raw
        ess = (total**2 / (raw**2).sum().clamp_min(1e-30)).item() if total > 0 else 0.0
        stats = {
            "raw_mean": raw.mean().item(), "ess_fraction": ess / len(raw),
            "clipped_fraction": self.clipped[index].float().mean().item(),
        }
        return weights, stats

    def get_stats(self) -> dict:
        return weight_summary(self.table.weight[self.train_steps], self.table.clipped[self.train_steps])
