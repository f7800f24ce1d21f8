"""The GRPO-style pieces of online SRPO: group filtering, group-normalised advantages, the clipped objective."""

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


def group_advantages(rewards: np.ndarray, groups: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """(r - mean_group) / (std_group + eps) per group of rollouts from the same (task, initial state)."""
    adv = np.zeros(len(rewards), dtype=np.float64)
    for g in np.unique(groups):
        idx = groups == g
        r = rewards[idx]
        adv[idx] = (r - r.mean()) / (r.std() + eps)
    return adv


def clipped_loss(new_logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                 clip_low: float, clip_high: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Token-level clipped surrogate (asymmetric clip, as siiRL/DAPO), summed over tokens.

    new_logp/old_logp [B, T]; advantages [B] (one per trajectory, shared by all its tokens).
    Returns the SUM of per-token losses (the caller divides by the global token count) and statistics.
    """
    ratio = torch.exp(new_logp - old_logp)
    adv = advantages[:, None].to(ratio.dtype)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * adv
    loss = -torch.minimum(unclipped, clipped).sum()
    with torch.no_grad():
        log_ratio = new_logp - old_logp
        stats = {
            "clipped_tokens": (unclipped != torch.minimum(unclipped, clipped)).float().sum(),
            "kl_old_sum": (torch.exp(log_ratio) - 1 - log_ratio).sum(),  # k3 estimate of KL(old || new)
        }
    return loss, stats


def kl_to_reference(new_logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """k3 estimator of KL(pi || pi_ref) per token: exp(ref - new) - (ref - new) - 1 (>= 0)."""
    d = ref_logp - new_logp
    return torch.exp(d) - d - 1
