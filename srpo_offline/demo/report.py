"""The demo's report: a Markdown page with figures a person can look at.

Sections: setup and stage wall times, progress curves, advantage histogram, training curves, and the success
rates of the AWR and uniform policies with 95% Wilson intervals per seed and pooled.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SECTIONS = ("Setup", "Stage wall times", "Progress curves", "Advantages", "Training curves", "Success rates")


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion (well-behaved at 0 and 1, unlike the normal one)."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_p_value(s1: int, n1: int, s2: int, n2: int) -> float:
    """Two-sided p-value of a pooled two-proportion z-test (1.0 when there is no variance to test)."""
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (s1 + s2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (s1 / n1 - s2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


@dataclass
class PolicyResult:
    """Evaluation of one trained policy."""

    weighting: str  # "awr" or "uniform"
    seed: int  # training seed
    successes: int  # successful evaluation episodes
    episodes: int  # evaluation episodes
    train_losses: list[float] = field(default_factory=list)  # per logged step
    val_losses: list[float] = field(default_factory=list)  # held-out loss per evaluation point

    @property
    def rate(self) -> float:
        return self.successes / self.episodes if self.episodes else float("nan")


@dataclass
class DemoReport:
    """Everything the report shows; filled in by the demo as the stages run."""

    task: str  # sim task name
    encoder: str  # encoder actually used for progress
    encoder_note: str  # why that encoder (e.g. V-JEPA 2 weights not available locally)
    policy_type: str  # LeRobot policy type trained
    n_episodes: int  # recorded episodes
    n_success: int  # of which successful
    stage_seconds: dict[str, float] = field(default_factory=dict)  # stage name -> wall time
    progress_curves: list[tuple[np.ndarray, bool]] = field(default_factory=list)  # (R per step, success)
    advantages: np.ndarray | None = None  # per-step advantages
    weights: np.ndarray | None = None  # per-step AWR weights
    results: list[PolicyResult] = field(default_factory=list)

    def pooled(self, weighting: str) -> tuple[int, int]:
        rows = [r for r in self.results if r.weighting == weighting]
        return sum(r.successes for r in rows), sum(r.episodes for r in rows)


def _plot_progress(report: DemoReport, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for curve, success in report.progress_curves:
        ax.plot(np.linspace(0, 1, len(curve)), curve, color="tab:green" if success else "tab:red", alpha=0.5, lw=1)
    ax.plot([], [], color="tab:green", label="success")
    ax.plot([], [], color="tab:red", label="failure")
    ax.set(xlabel="normalised time", ylabel="progress R(i,t)", title=f"World-progress ({report.encoder})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_advantages(report: DemoReport, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    axes[0].hist(report.advantages, bins=50, color="tab:blue")
    axes[0].set(xlabel="advantage A(i,t)", ylabel="steps", title="Standardised advantages")
    axes[1].hist(report.weights, bins=50, color="tab:purple")
    axes[1].set(xlabel="AWR weight", title="AWR weights (clipped)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_training(report: DemoReport, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for r in report.results:
        colour = "tab:orange" if r.weighting == "awr" else "tab:gray"
        ax.plot(r.train_losses, color=colour, alpha=0.7, label=f"{r.weighting} seed {r.seed}")
    ax.set(xlabel="logged step", ylabel="training loss", yscale="log", title="Training curves")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_success(report: DemoReport, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    labels, rates, lows, highs = [], [], [], []
    for weighting in ("awr", "uniform"):
        s, n = report.pooled(weighting)
        lo, hi = wilson_interval(s, n)
        labels.append(weighting)
        rates.append(s / n if n else 0.0)
        lows.append(rates[-1] - lo)
        highs.append(hi - rates[-1])
    ax.bar(labels, rates, yerr=[lows, highs], capsize=8, color=["tab:orange", "tab:gray"])
    ax.set(ylim=(0, 1), ylabel="sim success rate (pooled over seeds)", title="Deployment, 95% Wilson CI")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: DemoReport, out_dir: str | Path) -> Path:
    """Write report.md and its figures into out_dir; returns the path of report.md."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _plot_progress(report, out_dir / "progress_curves.png")
    _plot_advantages(report, out_dir / "advantages.png")
    _plot_training(report, out_dir / "training_curves.png")
    _plot_success(report, out_dir / "success_rates.png")

    lines = [
        "# SRPO demo on the simulated xArm 7",
        "",
        "## Setup",
        f"- task: `{report.task}`; {report.n_episodes} recorded episodes, {report.n_success} successful",
        f"- progress encoder: **{report.encoder}** — {report.encoder_note}",
        f"- policy: LeRobot `{report.policy_type}`, trained twice on the same data: AWR weights vs uniform",
        "",
        "## Stage wall times",
        "| stage | seconds |",
        "|---|---|",
        *[f"| {name} | {sec:.1f} |" for name, sec in report.stage_seconds.items()],
        "",
        "## Progress curves",
        "Per-step world-progress R(i,t) of every recorded episode (green: success, red: failure).",
        "",
        "![progress](progress_curves.png)",
        "",
        "## Advantages",
    ]
    adv, w = report.advantages, report.weights
    lines += [
        f"A(i,t) over {len(adv)} steps: mean {adv.mean():.3f}, std {adv.std():.3f}; AWR weights: mean "
        f"{w.mean():.3f}, max {w.max():.3f}, effective sample size {w.sum() ** 2 / (w**2).sum() / len(w):.1%}.",
        "",
        "![advantages](advantages.png)",
        "",
        "## Training curves",
        "![training](training_curves.png)",
        "",
        "## Success rates",
        "| policy | seed | successes | episodes | rate | 95% CI | final train loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report.results:
        lo, hi = wilson_interval(r.successes, r.episodes)
        final = f"{r.train_losses[-1]:.4f}" if r.train_losses else "n/a"
        lines.append(
            f"| {r.weighting} | {r.seed} | {r.successes} | {r.episodes} | {r.rate:.2f} | [{lo:.2f}, {hi:.2f}] | {final} |"
        )
    (sa, na), (su, nu) = report.pooled("awr"), report.pooled("uniform")
    lo_a, hi_a = wilson_interval(sa, na)
    lo_u, hi_u = wilson_interval(su, nu)
    p = two_proportion_p_value(sa, na, su, nu)
    lines += [
        f"| **awr, pooled** | all | {sa} | {na} | {sa / max(na, 1):.2f} | [{lo_a:.2f}, {hi_a:.2f}] | |",
        f"| **uniform, pooled** | all | {su} | {nu} | {su / max(nu, 1):.2f} | [{lo_u:.2f}, {hi_u:.2f}] | |",
        "",
        f"Difference AWR − uniform: {sa / max(na, 1) - su / max(nu, 1):+.2f} (two-proportion z-test p = {p:.3f}). "
        "Reported whatever the outcome; a small demo has wide intervals.",
        "",
        "![success](success_rates.png)",
        "",
    ]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path
