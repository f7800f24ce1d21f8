"""From per-step progress to AWR weights (paper appendix G.1; Peng et al. 2019).

The paper's advantage: D(i,t) = R(i,t) - R(i,t-1) with D(i,0) = 0 (the first step has no predecessor; its
progress is the start level every episode of the task shares, see `step_progress`); A = (D - mu) / sigma with
mu, sigma over every step of every scored episode of the dataset; w = min(exp(A / beta), w_max).

Other estimators on the same progress reward (`ESTIMATORS`, chosen by name in `AdvantageConfig`) replace D by
a longer-horizon score of step t, then are standardised and weighted the same way:
  paper   R(t) - R(t-1)                       the paper's one-step increment (D(0) = 0)
  n_step  R(min(t+k, T)) - R(t)               progress the next k steps make
  to_go   R(T) - R(t)                         progress still to be made by the episode's end (T: last step)
  gae     sum_l lambda^l r(t+l), r(t) = R(t+1) - R(t)   GAE(lambda) (Schulman et al. 2016) with the progress
          increment as reward, gamma = 1 and no critic (V = 0): lambda = 0 is the one-step forward increment,
          lambda = 1 is to_go
  final   R(T)                                per-episode final progress, the same for every step
  shaped  GAE(lambda) as `gae`, but the episode ends with SRPO's trajectory reward g (paper eq. 5: 1.0 for a
          success, alpha * sigmoid(-(d - mean) / std) of its distance for a failure) as its terminal reward:
          r(T) = g. The progress increments are then potential-based shaping (Ng et al. 1999, gamma = 1) of the
          paper's own sparse reward, so the steps that complete an episode carry its outcome even where the
          progress has flattened (a fitted progress that is nearly time-linear rises least at the release).
          Episodes without a label (g = NaN) end without one, as `gae`.

`awr_weight_table` is the one definition of the AWR weight: the reward stage stores its weights and clip
flags, and training uses those (or calls this same function when asked for another beta / w_max).
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from srpo.errors import RewardInputError

SIGMA_FLOOR = 1e-12  # increments with a spread at or below this give A = 0 everywhere (all weights 1)
DEFAULT_BETA = 1.0  # AWR temperature: the paper's offline setting
DEFAULT_W_MAX = 20.0  # AWR weight clip (Peng et al. 2019 clip exp(A / beta) at 20)


def increments(progress: np.ndarray) -> np.ndarray:
    """D(t) = R(t) - R(t-1) for one episode, D(0) = 0."""
    progress = np.asarray(progress, dtype=np.float64)
    return np.diff(progress, prepend=progress[:1]) if len(progress) else progress


@dataclass(frozen=True)
class AdvantageConfig:
    """Which advantage estimator turns per-step progress into the score that AWR exponentiates."""

    estimator: str = "paper"  # paper (R(t) - R(t-1)), n_step, to_go, gae, final or shaped: srpo_offline.advantages.ESTIMATORS
    n_step: int = 10  # k of the n_step estimator, R(t+k) - R(t)
    gae_lambda: float = 0.95  # lambda of the gae estimator (0: one-step forward increment, 1: to_go)

    def provenance(self) -> dict:
        return asdict(self)


def n_step_gain(progress: np.ndarray, cfg: AdvantageConfig, terminal: float = np.nan) -> np.ndarray:
    """R(min(t + k, T)) - R(t)."""
    r = np.asarray(progress, dtype=np.float64)
    ahead = np.minimum(np.arange(len(r)) + cfg.n_step, len(r) - 1)
    return r[ahead] - r if len(r) else r


def progress_to_go(progress: np.ndarray, cfg: AdvantageConfig, terminal: float = np.nan) -> np.ndarray:
    """R(T) - R(t)."""
    r = np.asarray(progress, dtype=np.float64)
    return r[-1] - r if len(r) else r


def gae_progress(progress: np.ndarray, cfg: AdvantageConfig, terminal: float = np.nan) -> np.ndarray:
    """GAE(lambda), gamma = 1, V = 0, reward r(t) = R(t+1) - R(t) and r(T) = 0: A(t) = r(t) + lambda A(t+1)."""
    return _gae(progress, cfg.gae_lambda, 0.0)


def shaped_gae(progress: np.ndarray, cfg: AdvantageConfig, terminal: float = np.nan) -> np.ndarray:
    """GAE(lambda) as `gae_progress` with the episode's trajectory reward as its last reward: r(T) = terminal
    (0 where the episode has none: NaN)."""
    return _gae(progress, cfg.gae_lambda, 0.0 if np.isnan(terminal) else float(terminal))


def _gae(progress: np.ndarray, lam: float, terminal: float) -> np.ndarray:
    r = np.asarray(progress, dtype=np.float64)
    reward = np.diff(r, append=r[-1:]) if len(r) else r
    if len(r) and np.isfinite(r[-1]):  # NaN progress (no reference) stays NaN
        reward[-1] = terminal
    out = np.zeros_like(reward)
    running = 0.0
    for t in range(len(reward) - 1, -1, -1):
        running = reward[t] + lam * running
        out[t] = running
    return out


def final_progress(progress: np.ndarray, cfg: AdvantageConfig, terminal: float = np.nan) -> np.ndarray:
    """R(T) for every step of the episode."""
    r = np.asarray(progress, dtype=np.float64)
    return np.full_like(r, r[-1]) if len(r) else r


ESTIMATORS: dict[str, Callable[[np.ndarray, AdvantageConfig, float], np.ndarray]] = {
    "paper": lambda progress, cfg, terminal=np.nan: increments(progress),
    "n_step": n_step_gain,
    "to_go": progress_to_go,
    "gae": gae_progress,
    "final": final_progress,
    "shaped": shaped_gae,
}
NEEDS_TERMINAL = ("shaped",)  # estimators that read each episode's trajectory reward


def check_advantage_config(cfg: AdvantageConfig) -> None:
    if cfg.estimator not in ESTIMATORS:
        raise RewardInputError(f"unknown advantage estimator {cfg.estimator!r}; use one of {', '.join(ESTIMATORS)}")
    if cfg.n_step < 1:
        raise RewardInputError(f"n_step (--n-step) must be >= 1, got {cfg.n_step}")
    if not 0.0 <= cfg.gae_lambda <= 1.0:
        raise RewardInputError(f"gae_lambda (--gae-lambda) must lie in [0, 1], got {cfg.gae_lambda}")


def estimate(progress: list[np.ndarray], cfg: AdvantageConfig = AdvantageConfig(),
             terminal: np.ndarray | None = None) -> list[np.ndarray]:
    """The chosen estimator's raw (unstandardised) score per step of every episode; NaN progress stays NaN.
    terminal: [N] trajectory reward of each episode (NaN: none), needed by `shaped` (NEEDS_TERMINAL)."""
    check_advantage_config(cfg)
    if terminal is None:
        if cfg.estimator in NEEDS_TERMINAL:
            raise RewardInputError(f"the {cfg.estimator} estimator needs each episode's trajectory reward (success "
                                   "labels): score a store with labelled episodes")
        terminal = np.full(len(progress), np.nan)
    if len(terminal) != len(progress):
        raise RewardInputError(f"{len(progress)} episodes of progress but {len(terminal)} trajectory rewards")
    return [ESTIMATORS[cfg.estimator](p, cfg, g) for p, g in zip(progress, terminal)]


@dataclass(frozen=True, eq=False)
class Advantages:
    """Per episode: the one-step increment D, the standardised estimator score A, the AWR weight and clip flag."""

    increment: list[np.ndarray]  # D(t) = R(t) - R(t-1) (whatever the estimator; for plots and metrics)
    advantage: list[np.ndarray]  # A = (score - mu) / sigma over all steps; 0 where progress is NaN
    weight: list[np.ndarray]  # min(exp(A / beta), w_max)
    clipped: list[np.ndarray]  # bool: the weight hit w_max
    mu: float  # mean of the estimator's score over the dataset
    sigma: float  # its standard deviation


def progress_advantages(progress: list[np.ndarray], cfg: AdvantageConfig = AdvantageConfig(),
                        beta: float = DEFAULT_BETA, w_max: float = DEFAULT_W_MAX,
                        terminal: np.ndarray | None = None) -> Advantages:
    """Per-step progress of every episode -> estimator score, standardised over all steps, -> AWR weights.
    terminal: each episode's trajectory reward (`srpo_offline.progress.terminal_rewards`), read by `shaped`."""
    advantage, mu, sigma = standardise(estimate(progress, cfg, terminal))
    pairs = [awr_weight_table(a, beta, w_max) for a in advantage]
    return Advantages([increments(p) for p in progress], advantage, [w for w, _ in pairs], [c for _, c in pairs],
                      mu, sigma)


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
