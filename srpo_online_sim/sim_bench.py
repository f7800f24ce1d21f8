"""`srpo bench online`: online SRPO against GRPO (and an oracle upper bound) on the simulated xArm, at one budget
of environment steps, across seeds, with a small MLP warm-started by BC (`srpo_online_sim.warm_start`).

Every (reward, seed) run starts from the same BC policy of its seed and trains with the same algorithm
(`srpo_online_sim.online`), differing only in the trajectory reward: grpo (binary), srpo (world-progress shaped
failures from the reward camera's frames), oracle (the simulator's dense progress). Every `eval_every` updates,
the policy is evaluated on fixed held-out initial states (sampled at the rollout temperature; these env steps
do not count against the budget). Runs execute in `workers` processes (one core each).

The report (report.md, report.json, curves_env_steps.png, curves_updates.png): success against env steps and
against updates with 95 % t-intervals across seeds, env steps to 50 % and 80 % success, the fraction of groups
that carry signal (non-zero reward variance) under each reward, and each reward's Spearman agreement with the
oracle progress of the same trajectories.
"""

from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from srpo.errors import UserFacingError
from srpo_online_sim.algorithm import Algorithm

THRESHOLDS = (0.5, 0.8)  # success rates whose first crossing the report gives (env steps)
# The bench's algorithm: every group trained on, 2 epochs, lr 1e-4 (1e-3 collapsed sampled success:
# docs/online.md), temperature 1.0, whole rollout batch per forward pass. The reward is set per run.
BENCH_ALGORITHM = Algorithm(keep_mixed_only=False, temperature=1.0, lr=1e-4, mini_batch=16, micro_batch=4096,
                            epochs=2)


@dataclass(frozen=True)
class OnlineBenchConfig:
    """Online SRPO vs GRPO vs an oracle reward on the simulated xArm: one env-step budget, several seeds; writes
    report.md / report.json and learning-curve plots to --output-dir (--preset reduced: the CI size)."""

    preset: str = "full"  # the named config to start from: full | reduced (the CI size, about a minute)
    output_dir: str = "outputs/bench_online"  # report, plots and one folder per run
    tasks: str = "lift"  # sim tasks, comma-separated (the policy is multi-task; place needs a larger budget)
    rewards: str = "grpo,srpo,oracle"  # rewards compared, comma-separated: grpo | srpo | oracle
    seeds: int = 3  # seeds per reward (each seed has its own BC warm start, shared by the rewards)
    env_steps: int = 200_000  # training env-step budget of every run (the default comparison: ~40 min on 2 cores)
    algo: Algorithm = field(default_factory=lambda: BENCH_ALGORITHM)  # the online algorithm (--algo.lr, ...)
    eval_temperature: float = 0.0  # evaluation temperature: 0 = greedy (siiRL's and OFT's protocol)
    eval_every: int = 2  # updates between evaluations
    eval_episodes: int = 24  # held-out initial states per task in each evaluation
    encoder: str = "auto"  # srpo's encoder: auto or a name (srpo_offline.encoders.choose_encoder)
    model: str | None = None  # encoder weights (hub id or folder); None = the encoder's default
    reward_camera: str = "auto"  # camera the encoder sees: auto (the encoder's own) | front | wrist
    demos_per_task: int = 4  # clean scripted demonstrations per task for the BC warm start
    bc_epochs: int = 60  # BC epochs (sets how often the warm start succeeds; the target is 5-30 percent)
    hidden: int = 256  # MLP width
    num_envs: int = 8  # envs per run (in the run's own process)
    workers: int = 2  # runs executed at once, one process each

    PRESETS: ClassVar[dict[str, OnlineBenchConfig]]  # name -> whole config (filled below the class)

    def __post_init__(self):
        from srpo_online_sim.rewards import REWARDS

        bad = [r for r in self.reward_list if r not in REWARDS]
        if bad:
            raise UserFacingError(f"unknown rewards {bad}: choose from {', '.join(REWARDS)}")
        if self.seeds < 1 or self.env_steps < 1:
            raise UserFacingError("--seeds and --env-steps must be positive")

    @property
    def reward_list(self) -> list[str]:
        return [r.strip() for r in self.rewards.split(",") if r.strip()]

    @property
    def task_list(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in self.tasks.split(",") if t.strip())


OnlineBenchConfig.PRESETS = {
    "full": OnlineBenchConfig(),
    "reduced": OnlineBenchConfig(  # the CI size: about a minute on 2 cores
        preset="reduced", tasks="lift", seeds=2, env_steps=600, eval_every=1, eval_episodes=3, demos_per_task=2,
        bc_epochs=20, hidden=64,
        algo=dataclasses.replace(BENCH_ALGORITHM, groups_per_step=2, n_rollouts=4, mini_batch=8)),
}


def _warm_start(config: OnlineBenchConfig, spec, seed: int, folder: Path):
    """The seed's BC policy, trained once and cached in `folder` (every reward starts from it)."""
    from srpo_online_sim.mlp_policy import MLPPolicy
    from srpo_online_sim.warm_start import WarmStartConfig, behaviour_clone

    if (folder / "model.pt").exists():
        return MLPPolicy.load(folder), json.loads((folder / "bc.json").read_text())
    policy, info = behaviour_clone(spec, WarmStartConfig(demos_per_task=config.demos_per_task,
                                                         epochs=config.bc_epochs, hidden=config.hidden, seed=seed))
    policy.save(folder)
    (folder / "bc.json").write_text(json.dumps(info))
    return policy, info


def run_one(config: OnlineBenchConfig, reward: str, seed: int, encoder_name: str, camera: str) -> dict:
    """Train one (reward, seed) run to the env-step budget; returns its eval curve and training statistics."""
    import logging

    import torch

    torch.set_num_threads(1)  # one core per run; `workers` runs share the machine
    logging.getLogger("srpo_offline.progress").setLevel(logging.ERROR)  # "no successful reference" is expected
    from srpo_online_sim.online import OnlineTrainer
    from srpo_online_sim.pool import EnvPool
    from srpo_online_sim.warm_start import eval_requests, success_rate
    from srpo_online_sim.xarm_sim import SimXArmSpec

    out = Path(config.output_dir)
    spec = SimXArmSpec(tasks=config.task_list, reward_camera=camera, render=reward == "srpo")
    policy, bc = _warm_start(config, spec, seed, out / "warm_start" / f"seed_{seed}")
    encoder = None
    if reward == "srpo":
        from srpo_offline.encoders import build_encoder

        encoder = build_encoder(encoder_name, config.model)
    algo = dataclasses.replace(config.algo, reward=reward, seed=seed)
    run_dir = out / "runs" / f"{reward}_seed{seed}"
    trainer = OnlineTrainer(spec, policy, algo, run_dir, encoder=encoder, num_envs=config.num_envs,
                            subprocess=False, header={"bench": asdict(config), "algorithm": asdict(algo),
                                                      "reward": reward, "seed": seed, "bc": bc})
    t0 = time.perf_counter()
    with EnvPool(spec, config.num_envs, subprocess=False) as pool:
        requests = eval_requests(spec, pool, config.eval_episodes)

        def evaluate() -> None:
            rate, per_task, _ = success_rate(policy, pool, requests, config.eval_temperature,
                                             seed=10_000 + trainer.step)
            trainer.log.add("eval", trainer.step, {"env_steps": trainer.env_steps, "success_rate": rate,
                                                   **{f"success_{spec.tasks[k]}": v for k, v in per_task.items()}})
            trainer.log.flush()

        evaluate()
        while trainer.env_steps < config.env_steps:
            trainer.train_step(pool)
            if trainer.step % config.eval_every == 0 or trainer.env_steps >= config.env_steps:
                evaluate()
    trainer.log.add("time", trainer.step, {"seconds": time.perf_counter() - t0})
    trainer.log.close()
    return {"reward": reward, "seed": seed, "bc": bc, "eval": trainer.log.records("eval"),
            "train": trainer.log.records("train"), "seconds": time.perf_counter() - t0}


def _run_one_star(args) -> dict:
    return run_one(*args)


def _warm_start_star(args) -> None:
    import torch

    torch.set_num_threads(1)
    from srpo_online_sim.xarm_sim import SimXArmSpec

    config, seed = args
    _warm_start(config, SimXArmSpec(tasks=config.task_list, render=False), seed,
                Path(config.output_dir) / "warm_start" / f"seed_{seed}")


# ---------------------------------------------------------------------------------------------- statistics
def t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """(mean, low, high) of a 95 % Student-t interval across seeds (the mean alone for one seed)."""
    from scipy.stats import t

    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    if len(v) < 2:
        return mean, mean, mean
    half = float(t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, mean - half, mean + half


def curve_on_grid(xs: np.ndarray, ys: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A seed's eval curve at the grid points (linear interpolation; held flat past its last point)."""
    return np.interp(grid, xs, ys)


def first_crossing(xs, ys, threshold: float) -> float | None:
    """The first x at which y reaches `threshold` (None if it never does)."""
    for x, y in zip(xs, ys):
        if y >= threshold - 1e-12:
            return float(x)
    return None


def summarise(results: list[dict], config: OnlineBenchConfig) -> dict:
    """Per reward: final success (mean, CI), steps to the thresholds, signal fraction, oracle agreement."""
    summary = {}
    for reward in config.reward_list:
        runs = [r for r in results if r["reward"] == reward]
        if not runs:
            continue
        finals = np.array([r["eval"][-1]["success_rate"] for r in runs])
        starts = np.array([r["eval"][0]["success_rate"] for r in runs])
        row = {"seeds": len(runs), "start": t_interval(starts), "final": t_interval(finals),
               "final_per_seed": finals.tolist(), "updates": float(np.mean([len(r["train"]) for r in runs])),
               "env_steps": float(np.mean([r["train"][-1]["env_steps"] for r in runs if r["train"]] or [0])),
               "minutes": float(np.mean([r["seconds"] for r in runs]) / 60)}
        for th in THRESHOLDS:
            hits = [first_crossing([e["env_steps"] for e in r["eval"]], [e["success_rate"] for e in r["eval"]], th)
                    for r in runs]
            reached = [h for h in hits if h is not None]
            row[f"steps_to_{int(th * 100)}"] = {"reached": len(reached), "of": len(runs),
                                                "mean": float(np.mean(reached)) if reached else None,
                                                "per_seed": hits}
        for key in ("signal_fraction", "signal_fraction_binary", "groups_all_failed", "oracle_spearman", "oracle_spearman_failures", "failure_reward_mean",
                    "success_rate"):
            values = [m[key] for r in runs for m in r["train"] if key in m]
            row[key] = float(np.mean(values)) if values else None
        third = [max(1, len(r["train"]) // 3) for r in runs]
        row["rollout_success_first_third"] = float(np.mean(
            [m["success_rate"] for r, k in zip(runs, third) for m in r["train"][:k]] or [0]))
        row["rollout_success_last_third"] = float(np.mean(
            [m["success_rate"] for r, k in zip(runs, third) for m in r["train"][-k:]] or [0]))
        early = [m["signal_fraction"] for r in runs for m in r["train"][: max(1, len(r["train"]) // 3)]]
        row["signal_fraction_first_third"] = float(np.mean(early)) if early else None
        summary[reward] = row
    return summary


# ---------------------------------------------------------------------------------------------- report
def plot_curves(results: list[dict], config: OnlineBenchConfig, out: Path) -> list[Path]:
    """Mean success with 95 % t-intervals across seeds, against env steps and against updates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for axis, key, label in (("env_steps", "env_steps", "training env steps"), ("updates", "step", "updates")):
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        for reward in config.reward_list:
            runs = [r for r in results if r["reward"] == reward]
            if not runs:
                continue
            end = min(max(e[key] for e in r["eval"]) for r in runs)
            grid = np.linspace(0, end, 60) if end > 0 else np.zeros(1)
            ys = np.stack([curve_on_grid(np.array([e[key] for e in r["eval"]], float),
                                         np.array([e["success_rate"] for e in r["eval"]]), grid) for r in runs])
            stats = np.array([t_interval(ys[:, i]) for i in range(len(grid))])
            ax.plot(grid, stats[:, 0], label=f"{reward} ({len(runs)} seeds)")
            ax.fill_between(grid, np.clip(stats[:, 1], 0, 1), np.clip(stats[:, 2], 0, 1), alpha=0.2)
        for th in THRESHOLDS:
            ax.axhline(th, color="grey", lw=0.6, ls=":")
        ax.set_xlabel(label)
        ax.set_ylabel("success rate (held-out states)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend()
        ax.set_title(f"sim xArm {config.tasks}: mean and 95 % CI across seeds")
        path = out / f"curves_{axis}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _fmt_ci(ci) -> str:
    mean, low, high = ci
    return f"{100 * mean:.1f} % [{100 * low:.1f}, {100 * high:.1f}]"


def _fmt_steps(entry: dict) -> str:
    if not entry["reached"]:
        return f"not reached (0/{entry['of']})"
    return f"{entry['mean']:,.0f} ({entry['reached']}/{entry['of']})"


def _fmt(value, pattern: str = "{:.2f}") -> str:
    return "–" if value is None else pattern.format(value)


def markdown_report(summary: dict, config: OnlineBenchConfig, encoder_note: str, wall_minutes: float) -> str:
    lines = [
        f"# Online SRPO vs GRPO on the simulated xArm ({config.tasks})", "",
        f"Budget {config.env_steps:,} training env steps per run, {config.seeds} seeds per reward, groups of "
        f"{config.algo.n_rollouts} rollouts x {config.algo.groups_per_step} per update, lr {config.algo.lr}, "
        f"temperature {config.algo.temperature}; evaluation every {config.eval_every} updates on {config.eval_episodes} held-out "
        f"states per task at temperature {config.eval_temperature} (0 = greedy). SRPO encoder: {encoder_note}. Wall time {wall_minutes:.1f} min.", "",
        "| reward | warm start | final success (95 % CI) | env steps to 50 % | env steps to 80 % | signal fraction "
        "(all / first third) | binary signal, same rollouts | groups all failed | Spearman with oracle (all / "
        "failures) | rollout success (first / last third) | updates |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for reward, row in summary.items():
        lines.append(
            f"| {reward} | {100 * row['start'][0]:.1f} % | {_fmt_ci(row['final'])} | {_fmt_steps(row['steps_to_50'])} | "
            f"{_fmt_steps(row['steps_to_80'])} | {_fmt(row['signal_fraction'])} / "
            f"{_fmt(row['signal_fraction_first_third'])} | {_fmt(row['signal_fraction_binary'])} | "
            f"{_fmt(row['groups_all_failed'])} | {_fmt(row['oracle_spearman'])} / "
            f"{_fmt(row['oracle_spearman_failures'])} | {100 * row['rollout_success_first_third']:.1f} % / "
            f"{100 * row['rollout_success_last_third']:.1f} % | {row['updates']:.0f} |")
    lines += ["", "Signal fraction: share of rollout groups whose rewards vary (their advantages are not all zero); "
              "binary signal: the share binary success rewards would give the same rollouts (groups with mixed "
              "outcomes). "
              "Spearman: rank agreement of the run's trajectory rewards with the oracle progress of the same "
              "trajectories (grpo's binary reward agrees only through success).", "",
              "![success vs env steps](curves_env_steps.png)", "![success vs updates](curves_updates.png)", ""]
    return "\n".join(lines)


def write_report(out: Path, config: OnlineBenchConfig, results: list[dict], encoder_note: str,
                 wall_minutes: float) -> dict:
    """report.json, report.md and the plots from the runs' results; returns the summary."""
    summary = summarise(results, config)
    plot_curves(results, config, out)
    (out / "report.json").write_text(json.dumps({"config": dataclasses.asdict(config), "encoder": encoder_note,
                                                 "wall_minutes": wall_minutes, "summary": summary,
                                                 "runs": results}, indent=1, default=float))
    (out / "report.md").write_text(markdown_report(summary, config, encoder_note, wall_minutes))
    return summary


def run_bench(config: OnlineBenchConfig, progress: bool = True) -> dict:
    """Every (reward, seed) run, then the report; returns the summary (also in report.json)."""
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    from srpo_offline.encoders import choose_encoder

    encoder, camera, why = choose_encoder(config.encoder, config.model, config.reward_camera)
    encoder_note = f"{encoder} on the {camera} camera ({why})"
    if progress:
        print(f"srpo bench online: {encoder_note}", flush=True)
    t0 = time.perf_counter()
    seeds = list(range(config.seeds))
    jobs = [(config, r, s, encoder, camera) for s in seeds for r in config.reward_list]
    results = []
    workers = max(1, min(config.workers, len(jobs)))
    with mp.get_context("spawn").Pool(workers) as pool:
        # the BC warm starts first (one per seed, cached), so that every reward of a seed starts from it
        list(pool.imap_unordered(_warm_start_star, [(config, s) for s in seeds]))
        for r in pool.imap_unordered(_run_one_star, jobs):
            results.append(r)
            if progress:
                print(f"  {r['reward']} seed {r['seed']}: success {r['eval'][0]['success_rate']:.2f} -> "
                      f"{r['eval'][-1]['success_rate']:.2f} in {r['seconds'] / 60:.1f} min", flush=True)
    return write_report(out, config, results, encoder_note, (time.perf_counter() - t0) / 60)
