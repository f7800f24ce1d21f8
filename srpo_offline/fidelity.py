"""How faithfully a progress reward run tracks the oracle (simulator-state) progress of the same episodes.

`reward_fidelity(store, run, oracle_run)` compares two derived runs of one store, episode by episode:
  spearman   Spearman rank correlation of the run's progress with the oracle's over the episode's steps,
             summarised over successful and over failed episodes. A constant run curve against a moving oracle
             tracks nothing and counts as 0 (as SC does in `benchmark`); where the oracle itself is constant the
             correlation is undefined and the episode is left out (counted in n_undefined).
  abs_error  mean |R_run - R_oracle| over the episode's steps.
  approach   over the oracle's approach stage (its steps before the first grasp-stage step; needs the oracle run's
             `stage` array): how much of the run's own rise happens there. share = (R(t_g) - R(0)) / (R(T) - R(0))
             for episodes that reach the grasp stage at t_g; the oracle's own share is 1/3 (lift) or 1/4 (place).
             A run that stays flat until the grasp has share ~0: the approach, where the policy must find the
             cube, gets no advantage.
  metrics    `progress_metrics` (SC, Mono, MMD, JS, SMD) of the run and of the oracle.
Unlabelled episodes count in neither group; episodes without progress (NaN) are left out (n_undefined counts,
per group, the episodes where a quantity is undefined).
"""

import numpy as np

from srpo.errors import UserFacingError
from srpo_offline.benchmark import progress_metrics


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    if len(x) < 2 or np.all(y == y[0]):
        return None
    if np.all(x == x[0]):
        return 0.0
    return float(spearmanr(x, y).statistic)


def summarise(values: list) -> dict:
    """n, mean, median, std, quartiles of the defined values; n_undefined counts the None ones."""
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    out = {"n": int(v.size), "n_undefined": int(sum(x is None for x in values))}
    if v.size:
        out.update(mean=float(v.mean()), median=float(np.median(v)), std=float(v.std()),
                   q25=float(np.quantile(v, 0.25)), q75=float(np.quantile(v, 0.75)))
    else:
        out.update(mean=None, median=None, std=None, q25=None, q75=None)
    return out


def _approach_share(run: np.ndarray, stage: np.ndarray) -> float | None:
    reached = np.flatnonzero(stage >= 1)
    total = run[-1] - run[0]
    if not reached.size or abs(total) < 1e-9:
        return None
    return float((run[reached[0]] - run[0]) / total)


def _split(values: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
    return np.split(np.asarray(values, dtype=np.float64), ends[:-1])


def reward_fidelity(store, run: str, oracle_run: str = "oracle") -> dict:
    """Per-episode agreement of derived/<run>'s progress with derived/<oracle_run>'s (see the module docstring).
    `store`: an EpisodeStore or its path. Returns a JSON-serialisable dict."""
    from srpo.store import EpisodeStore

    store = store if isinstance(store, EpisodeStore) else EpisodeStore.open(store, mode="r")
    for name in (run, oracle_run):
        if name not in store.derived_runs():
            raise UserFacingError(f"{store.path} has no derived/{name}; its runs: {', '.join(store.derived_runs())}")
    ours, _ = store.read_derived(run)
    oracle, _ = store.read_derived(oracle_run)
    ends = store.episode_ends
    episodes = store.episodes()
    r_run, r_oracle = _split(ours["progress"], ends), _split(oracle["progress"], ends)
    stages = _split(oracle["stage"], ends) if "stage" in oracle else None
    labels = [e.success for e in episodes]
    tasks = [e.task for e in episodes]

    per_episode = []
    for i, (a, b) in enumerate(zip(r_run, r_oracle)):
        finite = bool(np.isfinite(a).all() and np.isfinite(b).all())
        per_episode.append({
            "episode": i, "success": labels[i],
            "spearman": _spearman(a, b) if finite else None,
            "abs_error": float(np.abs(a - b).mean()) if finite else None,
            "approach_share": _approach_share(a, stages[i]) if finite and stages is not None else None,
            "oracle_approach_share": _approach_share(b, stages[i]) if finite and stages is not None else None,
        })

    def by_outcome(key: str) -> dict:
        return {group: summarise([p[key] for p in per_episode if p["success"] is want])
                for group, want in (("success", True), ("failure", False))}

    return {
        "run": run, "oracle_run": oracle_run,
        "spearman": by_outcome("spearman"),
        "abs_error": by_outcome("abs_error"),
        "approach": {"run_share": by_outcome("approach_share"), "oracle_share": by_outcome("oracle_approach_share")}
        if stages is not None else None,
        "metrics": {"run": progress_metrics(r_run, labels, tasks), "oracle": progress_metrics(r_oracle, labels, tasks)},
        "per_episode": per_episode,
    }
