"""AWR weights (Peng et al. 2019) of a reward run, as a LeRobot `SampleWeighter`.

A step's weight is w = min(exp(A / beta), w_max) (`srpo_offline.advantages.awr_weight_table`, the one
definition). A training sample is (observation at step t, action chunk a[t : t+H]); its weight is the weight
the reward stage stored for step t, with the clip flags it stored ("start": the chunk is the policy's
decision at t, and the advantage stored for t is that decision's score). Only when training asks for
another beta or w_max, or for chunk_weight="mean" (the mean of A over the chunk's real steps, then
exponentiated and clipped), are the weights recomputed from the stored advantages, by the same function.

Policies whose LeRobot loss is a mean over every real token / valid step of the batch (π0-FAST, ACT) give a
`counts(batch)` function (`srpo_offline.awr.losses.loss_counts`): each sample's weight is multiplied by its
count, so equal weights reproduce LeRobot's own loss exactly (see losses.py).

Per batch the weights are rescaled to sum to the batch size (as LeRobot's RA-BC weighter does). LeRobot's
update divides by sum(w) anyway, so this changes no update; it keeps the logged batch weights on one scale.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from lerobot.utils.sample_weighting import SampleWeighter

from srpo.errors import UserFacingError
from srpo_offline.advantages import DEFAULT_BETA, DEFAULT_W_MAX, awr_weight_table

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

    weight: np.ndarray  # float [num_steps]
    clipped: np.ndarray  # bool [num_steps]


def weight_table(advantage: np.ndarray, episode_ends: np.ndarray, horizon: int, beta: float, w_max: float,
                 chunk_weight: str = "start") -> WeightTable:
    if chunk_weight not in CHUNK_WEIGHTS:
        raise UserFacingError(f"chunk weight {chunk_weight!r} is unknown; use one of {', '.join(CHUNK_WEIGHTS)}")
    adv = advantage if chunk_weight == "start" else chunk_mean_advantage(advantage, episode_ends, horizon)
    if not np.all(np.isfinite(adv)):
        raise UserFacingError("the reward run's advantages contain NaN or inf; recompute them (`srpo reward compute`).")
    weight, clipped = awr_weight_table(adv, beta, w_max)
    return WeightTable(weight=weight, clipped=clipped)


def reward_run_weights(store, run: str | None, horizon: int, beta: float | None = None, w_max: float | None = None,
                       chunk_weight: str = "start") -> tuple[WeightTable, dict]:
    """Per-step sample weights of a reward run: the stored weights and clip flags as they are, or (when beta,
    w_max or chunk_weight ask for something else) recomputed from its advantages. Returns (table, how)."""
    if not run:
        runs = store.derived_runs()
        hint = f"its reward runs: {', '.join(runs)}" if runs else "run `srpo reward compute` on it first"
        raise UserFacingError(f"AWR training needs --reward-run NAME ({hint}), or use --weighting uniform.")
    arrays, attrs = store.read_derived(run)
    prov = attrs.get("provenance", {})
    if "advantage" not in arrays:
        raise UserFacingError(f"derived/{run} has no 'advantage' array ({sorted(arrays)}); "
                              "recompute it with `srpo reward compute`.")
    stored_beta, stored_w_max = prov.get("beta"), prov.get("w_max")
    if beta is None and w_max is None and chunk_weight == "start" and "weight" in arrays:
        weight = np.asarray(arrays["weight"], dtype=np.float32)
        if not np.all(np.isfinite(weight)) or (weight < 0).any():
            raise UserFacingError(f"derived/{run}/weight has negative or non-finite values; "
                                  "recompute it, or pass --beta to recompute weights from the advantages.")
        if "clipped" in arrays:
            clipped = np.asarray(arrays["clipped"]) > 0
        elif stored_beta is not None and stored_w_max is not None:  # runs written before the flags were stored
            clipped = awr_weight_table(arrays["advantage"], stored_beta, stored_w_max)[1]
        else:
            raise UserFacingError(f"derived/{run} stores weights without their clip flags or beta/w_max; "
                                  "recompute it with `srpo reward compute`, or pass --beta and --w-max.")
        return WeightTable(weight=weight, clipped=clipped), {"source": "stored", "beta": stored_beta,
                                                             "w_max": stored_w_max}
    beta = beta if beta is not None else (stored_beta or DEFAULT_BETA)
    w_max = w_max if w_max is not None else (stored_w_max or DEFAULT_W_MAX)
    table = weight_table(arrays["advantage"], store.episode_ends, horizon, beta, w_max, chunk_weight)
    return table, {"source": "recomputed from advantage", "beta": beta, "w_max": w_max}


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

    def __init__(self, table: WeightTable, train_steps: np.ndarray, device: torch.device | str = "cpu",
                 counts: Callable[[dict], torch.Tensor | None] | None = None):
        self.table = table
        self.counts = counts  # per-sample loss-element counts (None: every sample counts once)
        self.weights = torch.as_tensor(table.weight, dtype=torch.float32, device=device)
        self.clipped = torch.as_tensor(table.clipped, device=device)
        self.train_steps = np.asarray(train_steps)

    def compute_batch_weights(self, batch: dict) -> tuple[torch.Tensor, dict]:
        index = batch["index"].to(self.weights.device).long()
        awr = self.weights[index]
        total = awr.sum()
        ess = (total**2 / (awr**2).sum().clamp_min(1e-30)).item() if total > 0 else 0.0
        counts = self.counts(batch) if self.counts is not None else None
        raw = awr * counts.to(awr.device, awr.dtype) if counts is not None else awr
        total = raw.sum()
        weights = raw * (len(raw) / total) if total > 0 else raw
        stats = {
            "raw_mean": awr.mean().item(), "ess_fraction": ess / len(raw),
            "clipped_fraction": self.clipped[index].float().mean().item(),
        }
        return weights, stats

    def get_stats(self) -> dict:
        return weight_summary(self.table.weight[self.train_steps], self.table.clipped[self.train_steps])
