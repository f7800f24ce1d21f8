"""The GRPO-style pieces of online SRPO: group filtering, group-normalised advantages, the clipped objective.

Reference: siiRL siirl/dag_worker/core_algos.py (compute_grpo_outcome_advantage, compute_policy_loss_vanilla),
siirl/user_interface/filter_interface/embodied.py (_filter_batch: accuracy bounds, inclusive).
"""

from __future__ import annotations

import numpy as np
import torch


def mixed_groups(success: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """[N] bool: the trajectory's group has at least one success and at least one failure."""
    keep = np.zeros(len(success), dtype=bool)
    for g in np.unique(groups):
        idx = groups == g
        keep[idx] = 0 < success[idx].sum() < idx.sum()
    return keep


def accuracy_filter(success: np.ndarray, groups: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """[N] bool: the trajectory's group success rate lies in [low, high] (siiRL keeps 0.1 <= acc <= 0.9)."""
    low, high = bounds
    keep = np.zeros(len(success), dtype=bool)
    for g in np.unique(groups):
        idx = groups == g
        keep[idx] = low <= success[idx].mean() <= high
    return keep


def group_advantages(rewards: np.ndarray, groups: np.ndarray, eps: float = 1e-6, ddof: int = 0) -> np.ndarray:
    """(r - mean_group) / (std_group + eps) per group of rollouts from the same (task, initial state).

    ddof=1 is siiRL's torch.std (unbiased), which the trainer uses; a one-rollout group gets 0.
    """
    adv = np.zeros(len(rewards), dtype=np.float64)
    for g in np.unique(groups):
        idx = groups == g
        r = rewards[idx]
        if len(r) > ddof:
            adv[idx] = (r - r.mean()) / (r.std(ddof=ddof) + eps)
    return adv


def clipped_loss(new_logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                 clip_low: float, clip_high: float, weights: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Token-level clipped surrogate (asymmetric clip, as siiRL/DAPO).

    new_logp/old_logp [B, T]; advantages [B] (one per trajectory, shared by all its tokens); weights [B, T]
    (0 for masked tokens). Returns the weighted SUM of per-token losses (plain sum without weights) and
    statistics over the tokens with non-zero weight.
    """
    ratio = torch.exp(new_logp - old_logp)
    adv = advantages[:, None].to(ratio.dtype)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * adv
    per_token = -torch.minimum(unclipped, clipped)
    loss = (per_token * weights).sum() if weights is not None else per_token.sum()
    with torch.no_grad():
        counted = (weights > 0).float() if weights is not None else torch.ones_like(ratio)
        log_ratio = new_logp - old_logp
        stats = {
            "clipped_tokens": ((unclipped != torch.minimum(unclipped, clipped)).float() * counted).sum(),
            "kl_old_sum": ((torch.exp(log_ratio) - 1 - log_ratio) * counted).sum(),  # k3 of KL(old || new)
            "tokens": counted.sum(),
        }
    return loss, stats


def kl_to_reference(new_logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """k3 estimator of KL(pi || pi_ref) per token: exp(ref - new) - (ref - new) - 1 (>= 0)."""
    d = ref_logp - new_logp
    return torch.exp(d) - d - 1


def exact_kl(old_logp: torch.Tensor, new_logp: torch.Tensor) -> torch.Tensor:
    """KL(old || new) over the last axis (the bins), exactly: sum_b p_old(b) (log p_old(b) - log p_new(b))."""
    return (old_logp.exp() * (old_logp - new_logp)).sum(-1)


def entropy(logp: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of the categorical over the last axis."""
    return -(logp.exp() * logp).sum(-1)


def shuffle_advantages(advantages: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The no-information control: the batch's advantages (NaN = not trained on) dealt to its trajectories in a
    random order. Same distribution of advantages, no relation to what each trajectory did."""
    out = advantages.copy()
    trained = np.flatnonzero(~np.isnan(advantages))
    out[trained] = advantages[rng.permutation(trained)]
    return out
