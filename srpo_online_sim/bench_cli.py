"""`srpo bench online`: the online comparison on the simulated xArm (`srpo_online_sim.sim_bench`)."""

from __future__ import annotations

from srpo_online_sim.sim_bench import OnlineBenchConfig


def online(cfg: OnlineBenchConfig) -> int:
    """online SRPO vs GRPO vs oracle reward on the simulated xArm: learning curves across seeds (--preset reduced: CI size)"""
    from srpo_online_sim.sim_bench import run_bench

    summary = run_bench(cfg)
    for reward, row in summary.items():
        print(f"{reward:>7}: success {100 * row['start'][0]:.1f} % -> {100 * row['final'][0]:.1f} % "
              f"[{100 * row['final'][1]:.1f}, {100 * row['final'][2]:.1f}], signal fraction "
              f"{row['signal_fraction']:.2f}")
    print(f"report.md, report.json and curves_*.png in {cfg.output_dir}")
    return 0
