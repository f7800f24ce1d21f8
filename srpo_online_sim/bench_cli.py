"""`srpo bench online`: the online comparison on the simulated xArm (`srpo_online_sim.sim_bench`)."""

from __future__ import annotations

from srpo_online_sim.sim_bench import OnlineBenchConfig


def online(cfg: OnlineBenchConfig) -> int:
    """online SRPO vs GRPO vs oracle vs a shuffled-advantage control on the simulated xArm: sampled-success curves
    across seeds, update diagnostics (--preset reduced: CI size)"""
    from srpo_online_sim.sim_bench import run_bench

    summary = run_bench(cfg)
    for arm, row in summary.items():
        vs = f", minus control {100 * row['minus_control'][0]:+.1f} pts" if "minus_control" in row else ""
        print(f"{arm:>10}: sampled success {100 * row['start'][0]:.1f} % -> {100 * row['final'][0]:.1f} % "
              f"[{100 * row['final'][1]:.1f}, {100 * row['final'][2]:.1f}]{vs}, signal fraction "
              f"{row['signal_fraction']:.2f}")
    print(f"report.md, report.json, curves_*.png and diagnostics.png in {cfg.output_dir}")
    return 0
