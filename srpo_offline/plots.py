"""Progress curves of successes and failures per task, one column per encoder (Progress Reward Benchmark)."""

import re
from pathlib import Path

import numpy as np

COLOURS = {True: "tab:green", False: "tab:red", None: "tab:grey"}
LABELS = {True: "success", False: "failure", None: "unlabelled"}


def slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "_", text).strip("_")[:60] or "task"


def plot_progress_curves(progress: dict[str, list[np.ndarray]], success, tasks, out_dir: str | Path) -> list[Path]:
    """progress: {encoder: per-episode curves}. Writes <out_dir>/progress_<task>.png per task; returns paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for t_index, task in enumerate(dict.fromkeys(tasks)):
        fig, axes = plt.subplots(1, len(progress), figsize=(4.2 * len(progress), 3.4), squeeze=False,
                                 sharey=True)
        for ax, (name, curves) in zip(axes[0], progress.items()):
            seen = set()
            for curve, ok, t in zip(curves, success, tasks):
                if t != task or not np.isfinite(curve).all():
                    continue
                ax.plot(np.arange(len(curve)), curve, color=COLOURS[ok], alpha=0.7, lw=1.2,
                        label=None if ok in seen else LABELS[ok])
                seen.add(ok)
            ax.set_title(name)
            ax.set_xlabel("step")
            ax.set_ylim(-0.05, 1.05)
            ax.grid(alpha=0.3)
            if seen:
                ax.legend(loc="upper left", fontsize=8)
        axes[0][0].set_ylabel("progress R(t)")
        fig.suptitle(task[:100], fontsize=10)
        fig.tight_layout()
        path = out_dir / f"progress_{t_index:02d}_{slug(task)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
