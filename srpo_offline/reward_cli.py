"""`srpo reward ...`: per-step world-progress rewards, advantages and AWR weights; the reward benchmark.

Thin over `srpo_offline.reward_run.compute_reward_run`, `srpo_offline.encoders.fitting.fit_encoder` and
`srpo_offline.reward_bench.run_reward_bench`;
torch and transformers load inside the commands.
"""

from srpo_offline.benchmark import METRICS
from srpo_offline.encoders.fitting import FitConfig
from srpo_offline.reward_bench import BenchConfig
from srpo_offline.reward_run import RewardConfig


def compute(cfg: RewardConfig) -> int:
    """per-step progress, increments, advantages and AWR weights into the store"""
    from srpo_offline.reward_run import compute_reward_run, summary_lines

    run = compute_reward_run(cfg)
    print("\n".join(summary_lines(run)))
    print(f"train on it: srpo train awr {cfg.store} --reward-run {run.name} --out DIR")
    return 0


def fit(cfg: FitConfig) -> int:
    """fit the learned (camera) or state encoder on a store's labelled episodes; prints the cached file"""
    from srpo_offline.encoders.fitting import fit_encoder

    path = fit_encoder(cfg)
    print(f"fitted {cfg.encoder} encoder: {path}")
    print(f"score with it: srpo reward compute {cfg.store} --encoder {cfg.encoder} --model {path}")
    return 0


def bench(cfg: BenchConfig) -> int:
    """Progress Reward Benchmark (SC, Mono, MMD, JS, SMD) comparing encoders"""
    from srpo_offline.reward_bench import run_reward_bench

    report = run_reward_bench(cfg)
    print(f"{'':<24}" + "".join(f"{m:>10}" for m in METRICS))
    for name, r in report.doc["results"].items():
        mean = r["metrics"]["mean"]
        print(f"{name:<24}" + "".join(f"{'-' if mean[m] is None else format(mean[m], '.3f'):>10}" for m in METRICS))
    print(f"report: {report.out / 'report.json'}  plots: {len(report.plots)} PNG in {report.out}")
    return 0


COMMANDS = {"compute": compute, "fit": fit, "bench": bench}
