"""Self-referential world-progress rewards (paper sec. 3.2, eqs. 2-5; appendices B-D).

`trajectory_rewards` gives one reward per trajectory of one task group (the online trainer); `step_progress`
gives per-step progress, increments, advantages and AWR weights for recorded episodes (the offline pipeline).
Both measure the L2 distance from an embedding to the nearest centre of the task's successful references.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from srpo.errors import UserFacingError
from srpo_offline.clustering import ClusterConfig, cluster_references

log = logging.getLogger(__name__)

VARIANTS = ("paper", "siirl", "nearest", "fixed-reference")
SIIRL_SCALE = 0.6  # the authors' code hard-codes 0.6 * sigmoid(10 * (0.5 - nd)); alpha does not apply
SIIRL_SLOPE = 10.0
STD_FLOOR = 1e-12  # a spread at or below this (relative to the mean distance) counts as zero


class RewardInputError(UserFacingError, ValueError):
    """Embeddings, labels or options that no reward can be computed from; the message says what to fix."""


@dataclass(frozen=True, eq=False)
class TrajectoryRewards:
    """Rewards of one task group, with what the clustering did (for logging and tests)."""

    rewards: np.ndarray  # [N] float64: 1.0 for successes; failures in [0, alpha) (siirl: [0, 0.6))
    distances: np.ndarray  # [N] L2 distance of every trajectory to its nearest centre; NaN without references
    centres: np.ndarray  # [K, D] reference centres used (K = 0 without references)
    n_clusters: int  # DBSCAN clusters among the references (nearest: number of references; 0 on fallback)
    n_noise: int  # references DBSCAN labelled noise (not used as centres)
    fell_back_to_mean: bool  # DBSCAN found no cluster, so the centre is the mean of the references
    eps: float | None  # DBSCAN radius used (None: no DBSCAN ran)
    variant: str  # paper | siirl | nearest | fixed-reference
    n_success: int  # successes in the group
    n_failure: int  # failures in the group
    note: str | None = None  # why the failures were left unshaped, when they were


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))  # overflow-free logistic


def check_embeddings(embeddings, what: str = "embeddings") -> np.ndarray:
    """float64 [N, D] array, refusing NaN/inf (a corrupt video or a broken encoder) with the rows named."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise RewardInputError(f"{what} must be a 2-D array [N, D], got shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        raise RewardInputError(
            f"{what} of rows {bad[:10].tolist()}{' ...' if bad.size > 10 else ''} contain NaN or inf; "
            "re-encode those videos or drop those trajectories before computing rewards"
        )
    return x


def nearest_centre_distance(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """[N] L2 distance from each row of x to its nearest centre (eq. 4)."""
    d2 = (x**2).sum(1)[:, None] - 2.0 * x @ centres.T + (centres**2).sum(1)[None, :]
    return np.sqrt(np.maximum(d2.min(axis=1), 0.0))


def standardised(d: np.ndarray) -> np.ndarray:
    """(d - mean) / std over the given distances (population std); all zeros when the spread is zero."""
    mean, std = d.mean(), d.std()
    if std <= STD_FLOOR * max(1.0, abs(mean)):
        return np.zeros_like(d)
    return (d - mean) / std


def paper_phi(d_fail: np.ndarray, alpha: float) -> np.ndarray:
    """Eq. 5 with the paper's activation: alpha * sigmoid(-(d - mean_fail) / std_fail).

    The minus sign makes a smaller distance a larger reward. A lone failure, or failures all at the same
    distance, sit at the mean: alpha / 2.
    """
    return alpha * sigmoid(-standardised(d_fail))


def siirl_phi(d_fail: np.ndarray) -> np.ndarray:
    """The authors' code: nd = min-max over failures, 0.6 * sigmoid(10 * (0.5 - nd)); zero range gives nd = 0."""
    span = d_fail.max() - d_fail.min()
    nd = (d_fail - d_fail.min()) / span if span > STD_FLOOR * max(1.0, d_fail.max()) else np.zeros_like(d_fail)
    return SIIRL_SCALE * sigmoid(SIIRL_SLOPE * (0.5 - nd))


def trajectory_rewards(
    embeddings: np.ndarray,
    success: np.ndarray,
    variant: str = "paper",
    alpha: float = 0.8,
    *,
    reference: np.ndarray | None = None,
    cluster: ClusterConfig | None = None,
) -> TrajectoryRewards:
    """One reward per trajectory of ONE task group (call it per task; the reference set is the group's own).

    embeddings [N, D] world-model embeddings (eq. 2); success [N] bool. Successes get 1.0; a failure gets
    phi(standardised distance to the nearest success centre) (eq. 5). Variants:
      paper            DBSCAN centres of the group's successes, alpha * sigmoid(-(d - mean_fail)/std_fail)
      siirl            the authors' code: StandardScaler + DBSCAN(eps=0.5) (unless `cluster` is given),
                       0.6 * sigmoid(10 * (0.5 - minmax(d)))  (alpha is not used)
      nearest          no clustering: distance to the nearest single success (ablation C.2)
      fixed-reference  centres of `reference` [M, D] (e.g. expert demos of the task) instead of the
                       group's successes (ablation C.1)
    Edge cases: no failures -> all 1.0; no successes (and no fixed reference) -> failures get 0.0, i.e.
    plain GRPO, with a warning; one failure or equal distances -> alpha / 2 (siirl: 0.6*sigmoid(5));
    NaN/inf embeddings -> RewardInputError naming the rows.
    """
    if variant not in VARIANTS:
        raise RewardInputError(f"unknown reward variant {variant!r}; use one of {', '.join(VARIANTS)}")
    if not 0.0 <= alpha <= 1.0:
        raise RewardInputError(f"alpha must lie in [0, 1] (the paper's best is 0.8), got {alpha}")
    if (reference is not None) != (variant == "fixed-reference"):
        raise RewardInputError("pass `reference` embeddings exactly when variant='fixed-reference'")
    x = check_embeddings(embeddings)
    ok = np.asarray(success)
    if ok.shape != (x.shape[0],):
        raise RewardInputError(f"success must have shape ({x.shape[0]},) like the embeddings, got {ok.shape}")
    ok = ok.astype(bool)
    n, fail = x.shape[0], ~ok
    rewards = np.where(ok, 1.0, 0.0)

    refs = check_embeddings(reference, "reference embeddings") if reference is not None else x[ok]
    if refs.shape[0] and refs.shape[1] != x.shape[1]:
        raise RewardInputError(f"reference embeddings have dim {refs.shape[1]}, trajectories {x.shape[1]}")
    if refs.shape[0] == 0:
        note = "no successful reference: failures get 0 (plain GRPO)" if fail.any() else None
        if note:
            log.warning("trajectory_rewards: %s", note)
        return TrajectoryRewards(rewards, np.full(n, np.nan), np.zeros((0, x.shape[1])), 0, 0, False, None,
                                 variant, int(ok.sum()), int(fail.sum()), note)

    if variant == "nearest":
        centres, n_clusters, n_noise, fell_back, eps = refs, refs.shape[0], 0, False, None
    else:
        config = cluster or (ClusterConfig.siirl() if variant == "siirl" else ClusterConfig())
        c = cluster_references(refs, config)
        centres, n_clusters, n_noise, fell_back, eps = c.centres, c.n_clusters, c.n_noise, c.fell_back_to_mean, c.eps
    distances = nearest_centre_distance(x, centres)
    if fail.any():
        d_fail = distances[fail]
        rewards[fail] = siirl_phi(d_fail) if variant == "siirl" else paper_phi(d_fail, alpha)
    return TrajectoryRewards(rewards, distances, centres, n_clusters, n_noise, fell_back, eps, variant,
                             int(ok.sum()), int(fail.sum()))


def grouped_trajectory_rewards(
    embeddings: np.ndarray, success: np.ndarray, groups: Sequence, **kwargs
) -> tuple[np.ndarray, dict]:
    """`trajectory_rewards` run separately on each task group; returns ([N] rewards, {group: result})."""
    x, ok, groups = np.asarray(embeddings), np.asarray(success), np.asarray(groups)
    if groups.shape != ok.shape:
        raise RewardInputError(f"groups must have one entry per trajectory ({ok.shape}), got {groups.shape}")
    rewards = np.zeros(len(ok), dtype=np.float64)
    results = {}
    for g in dict.fromkeys(groups.tolist()):
        idx = np.flatnonzero(groups == g)
        results[g] = trajectory_rewards(x[idx], ok[idx], **kwargs)
        rewards[idx] = results[g].rewards
    return rewards, results

