"""Progress Reward Benchmark (paper appendix A): how well per-step progress tracks and separates outcomes.

Per task, then averaged over tasks (tasks lacking what a metric needs are left out of its average):
  SC    Spearman rank correlation of progress with the frame index, mean over successful episodes (eq. 10).
        A constant curve has no rank correlation and counts as 0.
  Mono  fraction of steps t with R(t+1) > R(t) (strictly), mean over successful episodes (eq. 11).
  MMD   squared maximum mean discrepancy (biased V-statistic) between the final progress of successes and of
        failures (eq. 12), Gaussian kernel k(x, y) = exp(-(x - y)^2 / (2 h^2)) with fixed bandwidth h = 0.25
        (progress lives in [0, 1]; a fixed h keeps encoders comparable, a data-driven one would not).
  JS    Jensen-Shannon divergence (natural log, at most ln 2) between histograms of the final progress of
        successes and failures (eq. 13): 10 equal bins over [0, 1], values clipped into [0, 1].
  SMD   (mean_success - mean_failure) / pooled std of final progress (eq. 14, ddof = 1 in each group); the
        pooled std is floored at 1e-3 so identical finals give a large finite number, not infinity.
Unlabelled episodes and episodes without progress (NaN) are ignored.
"""

from collections.abc import Sequence

import numpy as np

MMD_BANDWIDTH = 0.25  # Gaussian kernel bandwidth h on progress values
JS_BINS = 10  # histogram bins over [0, 1]
SMD_STD_FLOOR = 1e-3  # floor on the pooled standard deviation
METRICS = ("SC", "Mono", "MMD", "JS", "SMD")


def spearman_with_time(curve: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(curve) < 2 or np.all(curve == curve[0]):
        return 0.0
    return float(spearmanr(np.arange(len(curve)), curve).statistic)


def monotonicity(curve: np.ndarray) -> float:
    return float(np.mean(np.diff(curve) > 0)) if len(curve) > 1 else 0.0


def mmd2(x: np.ndarray, y: np.ndarray, h: float = MMD_BANDWIDTH) -> float:
    def k(a, b):
        return np.exp(-((a[:, None] - b[None, :]) ** 2) / (2 * h * h))

    return float(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())


def js_divergence(x: np.ndarray, y: np.ndarray, bins: int = JS_BINS) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    p = np.histogram(np.clip(x, 0, 1), edges)[0] / len(x)
    q = np.histogram(np.clip(y, 0, 1), edges)[0] / len(y)
    m = (p + q) / 2

    def kl(a, b):
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / b[nz])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def smd(x: np.ndarray, y: np.ndarray) -> float | None:
    n, m = len(x), len(y)
    if n + m <= 2:
        return None
    var = ((n - 1) * (x.var(ddof=1) if n > 1 else 0.0) + (m - 1) * (y.var(ddof=1) if m > 1 else 0.0)) / (n + m - 2)
    return float((x.mean() - y.mean()) / max(np.sqrt(var), SMD_STD_FLOOR))


def task_metrics(successes: list[np.ndarray], failures: list[np.ndarray]) -> dict:
    out: dict = {"n_success": len(successes), "n_failure": len(failures)}
    out["SC"] = float(np.mean([spearman_with_time(c) for c in successes])) if successes else None
    out["Mono"] = float(np.mean([monotonicity(c) for c in successes])) if successes else None
    if successes and failures:
        fs = np.array([c[-1] for c in successes])
        ff = np.array([c[-1] for c in failures])
        out.update(MMD=mmd2(fs, ff), JS=js_divergence(fs, ff), SMD=smd(fs, ff))
    else:
        out.update(MMD=None, JS=None, SMD=None)
    return out


def progress_metrics(progress: Sequence[np.ndarray], success: Sequence[bool | None],
                     tasks: Sequence[str]) -> dict:
    """SC, Mono, MMD, JS, SMD per task and averaged: {"per_task": {task: {...}}, "mean": {...}, "settings"}."""
    if not len(progress) == len(success) == len(tasks):
        raise ValueError(f"{len(progress)} curves, {len(success)} labels, {len(tasks)} tasks: give one of each")
    per_task = {}
    for task in dict.fromkeys(tasks):
        curves = [(np.asarray(p, dtype=np.float64), s) for p, s, t in zip(progress, success, tasks)
                  if t == task and s is not None and len(p) and np.isfinite(p).all()]
        per_task[task] = task_metrics([c for c, s in curves if s], [c for c, s in curves if not s])
    mean = {}
    for name in METRICS:
        vals = [m[name] for m in per_task.values() if m[name] is not None]
        mean[name] = float(np.mean(vals)) if vals else None
    settings = {"mmd_kernel": "gaussian", "mmd_bandwidth": MMD_BANDWIDTH, "mmd": "squared, biased",
                "js_bins": JS_BINS, "js_log": "natural", "smd_std_floor": SMD_STD_FLOOR}
    return {"per_task": per_task, "mean": mean, "settings": settings}
