"""From per-step progress to AWR weights (paper appendix G.1; Peng et al. 2019).

D(i,t) = R(i,t) - R(i,t-1) with D(i,0) = 0 (the first step has no predecessor; its progress is the start level
every episode of the task shares, see `step_progress`); A = (D - mu) / sigma with mu, sigma over every step
of every scored episode of the dataset; w = min(exp(A / beta), w_max).

`awr_weight_table` is the one definition of the AWR weight: the reward stage stores its weights and clip
flags, and training uses those (or calls this same function when asked for another beta / w_max).
"""

import numpy as np

from srpo_offline.errors import RewardInputError

SIGMA_FLOOR = 1e-12  # increments with a spread at or below this give A = 0 everywhere (all weights 1)
DEFAULT_BETA = 1.0  # AWR temperature: the paper's offline setting
DEFAULT_W_MAX = 20.0  # AWR weight clip (Peng et al. 2019 clip exp(A / beta) at 20)


def increments(progress: np.ndarray) -> np.ndarray:
    """D(t) = R(t) - R(t-1) for one episode, D(0) = 0."""
    progress = np.asarray(progress, dtype=np.float64)
    return np.diff(progress, prepend=progress[:1]) if len(progress) else progress


def standardise(values: list[np.ndarray]) -> tuple[list[np.ndarray], float, float]:
    """(v - mu) / sigma over all finite entries of all episodes; returns (advantages, mu, sigma).

    Non-finite entries (episodes without a reference) get advantage 0, i.e. weight exp(0) = 1.
    """
    flat = np.concatenate([np.asarray(v, dtype=np.float64) for v in values]) if values else np.zeros(0)
    finite = flat[np.isfinite(flat)]
    mu = float(finite.mean()) if finite.size else 0.0
    sigma = float(finite.std()) if finite.size else 0.0
    out = []
    for v in values:
        v = np.asarray(v, dtype=np.float64)
        a = (v - mu) / sigma if sigma > SIGMA_FLOOR else np.zeros_like(v)
        out.append(np.where(np.isfinite(a), a, 0.0))
    return out, mu, sigma


def awr_weight_table(advantage: np.ndarray, beta: float = DEFAULT_BETA,
                     w_max: float = DEFAULT_W_MAX) -> tuple[np.ndarray, np.ndarray]:
    """(w, clipped): w = min(exp(A / beta), w_max), the clipped advantage-weighted-regression weight, and
    where the clip applied (exp(A / beta) >= w_max)."""
    if beta <= 0:
        raise RewardInputError(f"beta (--beta) must be > 0, got {beta}; a smaller beta sharpens the weighting")
    if w_max <= 0:
        raise RewardInputError(f"w_max (--w-max) must be > 0, got {w_max}")
    scaled = np.asarray(advantage, dtype=np.float64) / beta
    clipped = scaled >= np.log(w_max)
    exponent = np.minimum(scaled, np.log(w_max) + 1.0)  # no overflow
    return np.minimum(np.exp(exponent), w_max), clipped


def awr_weights(advantage: np.ndarray, beta: float = DEFAULT_BETA, w_max: float = DEFAULT_W_MAX) -> np.ndarray:
    """w = min(exp(A / beta), w_max) (the weights of `awr_weight_table`)."""
    return awr_weight_table(advantage, beta, w_max)[0]
