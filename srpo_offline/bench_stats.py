"""Statistics of the offline benchmark: success rates with intervals, and paired comparisons between methods.

Every method of one seed is evaluated on the same initial states (the deployment seed fixes the object
placements), so outcomes pair episode by episode: the paired test is McNemar's exact test (a two-sided
binomial test on the discordant pairs), and the difference's interval is a paired bootstrap that resamples
episodes within each seed. Over seeds, a sign test asks whether one method beat the other in more seeds than
chance would give.
"""

import math

import numpy as np


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a binomial proportion (well-behaved at 0 and 1, unlike the normal one)."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value of k successes in n fair coin flips (1.0 when n is 0)."""
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(0, min(k, n - k) + 1)) / 2**n
    return min(1.0, 2 * tail)


def rate(outcomes) -> dict:
    """Success count, rate and 95 % Wilson interval of a list of booleans."""
    k, n = int(np.sum(outcomes)), len(outcomes)
    lo, hi = wilson_interval(k, n)
    return {"successes": k, "episodes": n, "rate": k / n if n else float("nan"), "ci95": [lo, hi]}


def paired_comparison(a: dict[int, list[bool]], b: dict[int, list[bool]], resamples: int = 2000,
                      seed: int = 0) -> dict:
    """Method a against method b on paired episodes, per seed: {seed: outcomes}. Returns the pooled difference
    of success rates (a - b), its 95 % paired-bootstrap interval, McNemar's exact p and the sign test over seeds."""
    seeds = sorted(set(a) & set(b))
    pairs = [(np.asarray(a[s], bool), np.asarray(b[s], bool)) for s in seeds]
    x = np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0, bool)
    y = np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0, bool)
    a_only, b_only = int(np.sum(x & ~y)), int(np.sum(~x & y))
    rng = np.random.default_rng(seed)
    boots = np.empty(resamples)
    for r in range(resamples):
        diffs = [(xa[idx].astype(float) - yb[idx].astype(float)).sum()
                 for xa, yb in pairs for idx in [rng.integers(0, len(xa), len(xa))]]
        boots[r] = np.sum(diffs) / max(len(x), 1)
    per_seed = [float(np.mean(xa) - np.mean(yb)) for xa, yb in pairs]
    wins, losses = sum(d > 0 for d in per_seed), sum(d < 0 for d in per_seed)
    return {
        "difference": float(np.mean(x) - np.mean(y)) if len(x) else float("nan"),
        "ci95": [float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))] if len(x) else [float("nan")] * 2,
        "a_only": a_only, "b_only": b_only, "mcnemar_p": binomial_two_sided(a_only, a_only + b_only),
        "per_seed": per_seed, "seed_wins": wins, "seed_losses": losses,
        "sign_p": binomial_two_sided(wins, wins + losses),
    }


def verdict(name_a: str, name_b: str, comparison: dict, alpha: float = 0.05) -> str:
    """One plain sentence: who won and by how much, or that the evidence is inconclusive."""
    d, (lo, hi), p = comparison["difference"], comparison["ci95"], comparison["mcnemar_p"]
    span = f"{100 * d:+.0f} points (95 % CI {100 * lo:+.0f} to {100 * hi:+.0f}, McNemar p = {p:.3g})"
    if p < alpha and lo > 0:
        return f"{name_a} beat {name_b} by {span}."
    if p < alpha and hi < 0:
        return f"{name_b} beat {name_a} by {100 * -d:.0f} points ({name_a} - {name_b}: {span[span.index('(') + 1:-1]})."
    return f"inconclusive: {name_a} - {name_b} = {span}; the data do not separate them."
