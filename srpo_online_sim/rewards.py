"""Trajectory rewards of the online trainer, and the statistics that say whether a reward carries signal.

  grpo    binary: 1 for a success, 0 for a failure
  srpo    successes 1; failures shaped by the world-model distance of their video to the task's successes in
          the same batch (`srpo_offline.progress.grouped_trajectory_rewards`, the shared reward code)
  oracle  successes 1; failures get the world's dense progress from privileged simulator state (in [0, 1))
  shuffled  the no-information control: grpo's binary rewards, whose advantages the trainer then deals to the
          batch's trajectories in a random order (`objective.shuffle_advantages`)

The mechanism the paper claims is that shaped failures give a group of rollouts non-zero reward variance even
when none of its rollouts succeeded: `signal_fraction` measures it (groups whose advantages are not all zero).
"""

from __future__ import annotations

import numpy as np

from srpo_offline.progress import grouped_trajectory_rewards

REWARDS = ("srpo", "grpo", "oracle", "shuffled")
VARIANCE_FLOOR = 1e-12  # a group whose reward variance is at or below this carries no signal


def trajectory_rewards(kind: str, success: np.ndarray, tasks: np.ndarray, embeddings: np.ndarray,
                       oracle: np.ndarray, *, alpha: float, keep: np.ndarray | None = None,
                       variant: str = "paper") -> tuple[np.ndarray, dict]:
    """[N] rewards (NaN where `keep` is False) and the per-task clustering results ({} for grpo/oracle)."""
    success = np.asarray(success, dtype=bool)
    if kind == "oracle":
        rewards = np.where(success, 1.0, np.clip(np.asarray(oracle, dtype=np.float64), 0.0, 1.0))
        if keep is not None:
            rewards = np.where(keep, rewards, np.nan)
        return rewards, {}
    if kind in ("grpo", "shuffled"):
        alpha = 0.0
    return grouped_trajectory_rewards(embeddings, success, tasks, keep=keep, variant=variant, alpha=alpha)


def signal_fraction(rewards: np.ndarray, groups: np.ndarray) -> float:
    """Fraction of groups (ignoring NaN rewards; a group with none left counts as no signal) whose rewards
    vary, i.e. whose group-normalised advantages are not all zero."""
    rewards, groups = np.asarray(rewards, dtype=np.float64), np.asarray(groups)
    ids = np.unique(groups)
    if not len(ids):
        return 0.0
    varied = 0
    for g in ids:
        r = rewards[(groups == g) & ~np.isnan(rewards)]
        varied += len(r) > 1 and float(r.var()) > VARIANCE_FLOOR
    return varied / len(ids)


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def oracle_agreement(rewards: np.ndarray, oracle: np.ndarray, success: np.ndarray) -> dict[str, float]:
    """Spearman correlation of the reward with the oracle's progress, over all rewarded trajectories and over
    the failures alone (where shaping decides); the mean oracle progress of failures. Undefined ones are left
    out (fewer than 3 values, or a constant side)."""
    ok = ~np.isnan(rewards)
    fail = ok & ~np.asarray(success, dtype=bool)
    out = {"oracle_failure_mean": float(oracle[fail].mean())} if fail.any() else {}
    for key, mask in (("oracle_spearman", ok), ("oracle_spearman_failures", fail)):
        value = _spearman(rewards[mask], oracle[mask])
        if value is not None:
            out[key] = value
    return out
