"""`srpo bench online`: online SRPO against GRPO, an oracle reward and a no-information control on the simulated
xArm, at one budget of environment steps, across seeds, with a small MLP warm-started by BC
(`srpo_online_sim.warm_start`).

Every (arm, seed) run starts from the same BC policy of its seed and trains with the same algorithm
(`srpo_online_sim.online`), differing only in the trajectory reward: grpo (binary), srpo (world-progress shaped
failures; `srpo:<encoder>` picks the encoder), oracle (the simulator's dense progress) and shuffled (grpo's
advantages dealt to the batch's trajectories at random: the control every result has to beat). Every
`eval_every` updates the policy is evaluated on fixed held-out initial states, `eval_samples` rollouts per state
at the ROLLOUT temperature (sampled success: what the policy does and what GRPO's objective raises; the greedy
success of the same states is a secondary column). Evaluation env steps do not count against the budget. Each
update logs its diagnostics (`srpo_online_sim.diagnostics`); runs execute in `workers` processes (one core each).

The report (report.md, report.json, curves_env_steps.png, curves_updates.png, curves_greedy.png,
diagnostics.png): the warm start's regime (sampled success, binary signal fraction), sampled success against
env steps with 95 % t-intervals across seeds, each arm against the shuffled control, env steps to fixed success
levels, signal fractions (shaped and binary on the same rollouts), oracle agreement, update diagnostics and the
runs they flag.
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

LEVELS = (0.1, 0.2, 0.3)  # sampled success levels whose first crossing the report gives (env steps)
CONTROL = "shuffled"  # the no-information arm every other arm is compared with
BASELINE = "grpo"  # binary rewards: the oracle has to beat it for the setup to show what progress rewards add
# The bench's algorithm (the reward is set per arm): every group trained on, 2 epochs of mini-batches of 16
# trajectories, temperature 1.0, the whole rollout batch per forward pass, and the update that learned on GRPO's
# own sampled success (docs/online.md): AdamW lr 1e-3 on the positive advantages only (lr 1e-4 barely moves the
# policy; 1e-3 with the negative half spreads mass onto unsampled bins and collapses sampled success).
BENCH_ALGORITHM = Algorithm(keep_mixed_only=False, temperature=1.0, lr=1e-3, negative_scale=0.0, mini_batch=16,
                            micro_batch=4096, epochs=2)


@dataclass(frozen=True)
class OnlineBenchConfig:
    """Online SRPO vs GRPO vs an oracle reward vs a shuffled-advantage control on the simulated xArm: one env-step
    budget, several seeds, sampled success on held-out states as the headline; writes report.md / report.json and
    plots to --output-dir (--preset reduced: the CI size)."""

    preset: str = "full"  # the named config to start from: full | reduced (the CI size, about a minute)
    output_dir: str = "outputs/bench_online"  # report, plots and one folder per run
    tasks: str = "lift"  # sim tasks, comma-separated (with the warm start below: the low-success regime, docs/online.md)
    rewards: str = "grpo,srpo:learned,srpo:state,oracle,shuffled"  # arms: grpo | srpo | srpo:<encoder> | oracle | shuffled (control); srpo:state is a privileged control
    seeds: int = 5  # seeds per arm (each seed has its own BC warm start, shared by the arms)
    env_steps: int = 80_000  # training env-step budget of every run (lift: about 16 updates of 64 rollouts)
    algo: Algorithm = field(default_factory=lambda: BENCH_ALGORITHM)  # the online algorithm (--algo.lr, ...)
    eval_every: int = 4  # updates between evaluations (and one at the end of the budget)
    eval_episodes: int = 32  # held-out initial states per task in each evaluation
    eval_samples: int = 4  # sampled rollouts per held-out state (at the rollout temperature)
    eval_greedy: bool = True  # also evaluate greedy (argmax) success on the same states (secondary)
    encoder: str = "auto"  # srpo's encoder: auto or a name (srpo_offline.encoders.choose_encoder)
    model: str | None = None  # encoder weights (hub id or folder); None = the encoder's default
    reward_camera: str = "auto"  # camera the encoder sees: auto (the encoder's own) | front | wrist
    demos_per_task: int = 3  # clean scripted demonstrations per task for the BC warm start
    bc_epochs: int = 40  # BC epochs (with demos_per_task, sets the warm start's success: lift 3 x 40 succeeds about once in 100 sampled rollouts)
    fit_steps: int = 400  # optimiser updates of a fitted encoder (learned, state) on the warm start's demonstrations
    hidden: int = 256  # MLP width
    n_bins: int = 256  # action bins per dimension of the MLP policy (OpenVLA* keeps 256)
    num_envs: int = 8  # envs per run (in the run's own process)
    workers: int = 2  # runs executed at once, one process each
    resume: bool = False  # reuse the finished runs in --output-dir whose settings match (continues a stopped bench)

    PRESETS: ClassVar[dict[str, OnlineBenchConfig]]  # name -> whole config (filled below the class)

    def __post_init__(self):
        from srpo_online_sim.rewards import REWARDS

        bad = [r for r in self.reward_list if r.split(":")[0] not in REWARDS or (":" in r and not r.startswith("srpo:"))]
        if bad:
            raise UserFacingError(f"unknown arms {bad}: choose from {', '.join(REWARDS)} or srpo:<encoder>")
        if self.seeds < 1 or self.env_steps < 1 or self.eval_samples < 1 or self.eval_episodes < 1:
            raise UserFacingError("--seeds, --env-steps, --eval-samples and --eval-episodes must be positive")
        if self.algo.temperature <= 0:
            raise UserFacingError("--algo.temperature must be > 0: rollouts and the headline evaluation sample at it")

    @property
    def reward_list(self) -> list[str]:
        return [r.strip() for r in self.rewards.split(",") if r.strip()]

    @property
    def task_list(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in self.tasks.split(",") if t.strip())


OnlineBenchConfig.PRESETS = {
    "full": OnlineBenchConfig(),
    "reduced": OnlineBenchConfig(  # the CI size: about a minute on 2 cores; 16 bins so that sampled BC succeeds
        preset="reduced", tasks="lift", rewards="grpo,srpo:learned,oracle,shuffled", seeds=2, env_steps=600,
        eval_every=1, eval_episodes=4, eval_samples=2, n_bins=16, fit_steps=30, demos_per_task=4, bc_epochs=60,
        algo=dataclasses.replace(BENCH_ALGORITHM, groups_per_step=2, n_rollouts=4, mini_batch=8)),
}


def arm_setup(config: OnlineBenchConfig, arm: str) -> tuple[str, str | None, str, str]:
    """(reward, encoder or None, reward camera, note) of an arm: `srpo` uses --encoder, `srpo:<name>` names one
    (`srpo_offline.encoders.choose_encoder`). The state encoder's camera is "state" (it renders nothing)."""
    from srpo_offline.encoders import ENCODERS, choose_encoder

    reward, _, name = arm.partition(":")
    if reward != "srpo":
        return reward, None, "front", ""
    encoder, camera, why = choose_encoder(name or config.encoder, config.model, config.reward_camera)
    fitted = getattr(ENCODERS[encoder], "fitted", False) and config.model is None
    where = ("the simulator's state, object pose included: a CONTROL with privileged information, not a camera "
             "result" if camera == "state" else f"the {camera} camera")
    how = " (fitted per seed on the warm start's own demonstrations)" if fitted else ""
    return reward, encoder, camera, f"{arm}: {encoder} on {where}{how} ({why})"


# ---------------------------------------------------------------------------------------------- one run
def _warm_start(config: OnlineBenchConfig, spec, seed: int, folder: Path):
    """The seed's BC policy, trained once and cached in `folder` (every arm starts from it)."""
    from srpo_online_sim.mlp_policy import MLPPolicy
    from srpo_online_sim.warm_start import WarmStartConfig, behaviour_clone

    if (folder / "model.pt").exists():
        return MLPPolicy.load(folder), json.loads((folder / "bc.json").read_text())
    policy, info = behaviour_clone(spec, WarmStartConfig(demos_per_task=config.demos_per_task, n_bins=config.n_bins,
                                                         epochs=config.bc_epochs, hidden=config.hidden, seed=seed))
    policy.save(folder)
    (folder / "bc.json").write_text(json.dumps(info))
    return policy, info


def evaluation(config: OnlineBenchConfig, policy, pool, requests, step: int, greedy: bool) -> dict:
    """One evaluation record: sampled success (eval_samples per state at the rollout temperature; the same sampling
    seed at the same update in every arm), the binary signal and all-failed fractions, greedy success if asked."""
    from srpo_online_sim.warm_start import regime_probe, success_rate

    probe = regime_probe(policy, pool, requests, config.eval_samples, config.algo.temperature, seed=10_000 + step)
    record = {"success_rate": probe.pop("sampled_success"), **{k: v for k, v in probe.items() if k != "env_steps"}}
    if greedy and config.eval_greedy:
        record["greedy_success"] = success_rate(policy, pool, requests, 0.0)[0]
    return record


def _start_evaluation(config: OnlineBenchConfig, spec, policy, seed: int, folder: Path) -> dict:
    """The warm start's evaluation (the regime), computed once per seed and cached: every arm starts from it."""
    from srpo_online_sim.pool import EnvPool
    from srpo_online_sim.warm_start import eval_requests

    path = folder / "start_eval.json"
    if not path.exists():
        with EnvPool(spec, max(config.num_envs, 32), subprocess=False) as pool:
            record = evaluation(config, policy, pool, eval_requests(spec, pool, config.eval_episodes), 0, True)
        path.write_text(json.dumps(record))
    return json.loads(path.read_text())


def _encoder(config: OnlineBenchConfig, spec, name: str, camera: str, seed: int):
    """SRPO's encoder for a seed: --model if given; a fitted encoder (learned, state) without --model is fitted on
    the seed's warm-start demonstrations (`srpo_online_sim.demo_encoders`, cached under output_dir/encoders)."""
    from srpo_offline.encoders import ENCODERS, build_encoder

    model = config.model
    if model is None and getattr(ENCODERS[name], "fitted", False):
        from srpo_online_sim.demo_encoders import fit_demo_encoder

        model = str(fit_demo_encoder(spec, name, camera, config.demos_per_task, seed,
                                     Path(config.output_dir) / "encoders", config.fit_steps))
    return build_encoder(name, model)


RESULT_FREE = ("rewards", "seeds", "workers", "output_dir", "resume")  # settings that do not change a run's result


def finished_run(run_dir: Path, config: OnlineBenchConfig) -> dict | None:
    """A finished run's result from its log.json (None unless it finished with the same settings as `config`,
    apart from RESULT_FREE; settings the run did not record are not compared)."""
    path = run_dir / "log.json"
    if not path.exists():
        return None
    log = json.loads(path.read_text())
    now = json.loads(json.dumps(asdict(config)))  # as the log recorded it (tuples as lists)
    if not log.get("time") or any(now.get(k) != v for k, v in log.get("bench", {}).items() if k not in RESULT_FREE):
        return None
    return {"reward": log["arm"], "seed": log["seed"], "bc": log["bc"], "eval": log.get("eval", []),
            "train": log.get("train", []), "seconds": log["time"][-1]["seconds"]}


def run_one(config: OnlineBenchConfig, arm: str, seed: int) -> dict:
    """Train one (arm, seed) run to the env-step budget; returns its eval curve and per-update statistics."""
    import logging

    import torch

    torch.set_num_threads(1)  # one core per run; `workers` runs share the machine
    logging.getLogger("srpo_offline.progress").setLevel(logging.ERROR)  # "no successful reference" is expected
    from srpo_online_sim.online import OnlineTrainer
    from srpo_online_sim.pool import EnvPool
    from srpo_online_sim.warm_start import eval_requests
    from srpo_online_sim.xarm_sim import SimXArmSpec

    out = Path(config.output_dir)
    reward, encoder_name, camera, _ = arm_setup(config, arm)
    renders = encoder_name is not None and camera != "state"
    spec = SimXArmSpec(tasks=config.task_list, reward_camera=camera if renders else "front", render=renders)
    folder = out / "warm_start" / f"seed_{seed}"
    policy, bc = _warm_start(config, spec, seed, folder)
    start = _start_evaluation(config, SimXArmSpec(tasks=config.task_list, render=False), policy, seed, folder)
    run_dir = out / "runs" / f"{arm.replace(':', '-')}_seed{seed}"
    if config.resume and (done := finished_run(run_dir, config)) is not None:
        return done
    encoder = _encoder(config, spec, encoder_name, camera, seed) if encoder_name is not None else None
    algo = dataclasses.replace(config.algo, reward=reward, seed=seed)
    trainer = OnlineTrainer(spec, policy, algo, run_dir, encoder=encoder, num_envs=config.num_envs,
                            subprocess=False, diagnostics=True,
                            header={"bench": asdict(config), "algorithm": asdict(algo), "arm": arm, "seed": seed,
                                    "bc": bc})
    t0 = time.perf_counter()
    with EnvPool(spec, max(config.num_envs, 32), subprocess=False) as pool:
        requests = eval_requests(spec, pool, config.eval_episodes)

        trainer.log.add("eval", 0, {"env_steps": 0, **start})
        while trainer.env_steps < config.env_steps:
            trainer.train_step(pool)
            last = trainer.env_steps >= config.env_steps
            if trainer.step % config.eval_every == 0 or last:  # greedy (secondary) at the end only
                record = evaluation(config, policy, pool, requests, trainer.step, greedy=last)
                trainer.log.add("eval", trainer.step, {"env_steps": trainer.env_steps, **record})
                trainer.log.flush()
    trainer.log.add("time", trainer.step, {"seconds": time.perf_counter() - t0})
    trainer.log.close()
    return {"reward": arm, "seed": seed, "bc": bc, "eval": trainer.log.records("eval"),
            "train": trainer.log.records("train"), "seconds": time.perf_counter() - t0}


def _run_one_star(args) -> dict:
    return run_one(*args)


def _warm_start_star(args) -> None:
    import torch

    torch.set_num_threads(1)
    from srpo_online_sim.xarm_sim import SimXArmSpec

    config, seed = args
    spec, folder = SimXArmSpec(tasks=config.task_list, render=False), Path(config.output_dir) / "warm_start" / f"seed_{seed}"
    policy, _ = _warm_start(config, spec, seed, folder)
    _start_evaluation(config, spec, policy, seed, folder)


# ---------------------------------------------------------------------------------------------- statistics
def t_interval(values) -> tuple[float, float, float]:
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


def _mean_of(runs: list[dict], key: str, part: slice = slice(None)) -> float | None:
    values = [m[key] for r in runs for m in r["train"][part] if m.get(key) is not None and np.isfinite(m[key])]
    return float(np.mean(values)) if values else None


def final_eval(run: dict, key: str = "success_rate") -> float:
    """A run's end point: its last evaluation that measured `key`."""
    return float([e[key] for e in run["eval"] if key in e][-1])


def summarise(results: list[dict], config: OnlineBenchConfig) -> dict:
    """Per arm: warm start and final sampled success (mean, CI), the gain, the difference to the shuffled control,
    greedy success, steps to the levels, signal fractions, oracle agreement, update diagnostics and flags."""
    from srpo_online_sim.diagnostics import flag_run

    summary = {}
    control = {r["seed"]: final_eval(r) for r in results if r["reward"] == CONTROL}
    baseline = {r["seed"]: final_eval(r) for r in results if r["reward"] == BASELINE}
    control_ci = t_interval(list(control.values())) if control else None
    for arm in config.reward_list:
        runs = sorted((r for r in results if r["reward"] == arm), key=lambda r: r["seed"])
        if not runs:
            continue
        finals = np.array([final_eval(r) for r in runs])
        starts = np.array([r["eval"][0]["success_rate"] for r in runs])
        row = {"seeds": len(runs), "start": t_interval(starts), "final": t_interval(finals),
               "final_per_seed": finals.tolist(), "gain": t_interval(finals - starts),
               "updates": float(np.mean([len(r["train"]) for r in runs])),
               "env_steps": float(np.mean([r["train"][-1]["env_steps"] for r in runs if r["train"]] or [0])),
               "minutes": float(np.mean([r["seconds"] for r in runs]) / 60),
               "start_binary_signal": float(np.mean([r["eval"][0]["binary_signal_fraction"] for r in runs])),
               "start_all_failed": float(np.mean([r["eval"][0]["all_failed_fraction"] for r in runs]))}
        if config.eval_greedy:
            row["greedy_start"] = t_interval([r["eval"][0]["greedy_success"] for r in runs])
            row["greedy_final"] = t_interval([final_eval(r, "greedy_success") for r in runs])
        paired = [final_eval(r) - control[r["seed"]] for r in runs if r["seed"] in control]
        if arm != CONTROL and paired:
            row["minus_control"] = t_interval(paired)
            row["beats_control"] = bool(row["final"][1] > control_ci[2])  # 95 % CIs apart
        over_baseline = [final_eval(r) - baseline[r["seed"]] for r in runs if r["seed"] in baseline]
        if arm != BASELINE and over_baseline:
            row["minus_grpo"] = t_interval(over_baseline)  # paired by seed
        for th in LEVELS:
            hits = [first_crossing([e["env_steps"] for e in r["eval"]], [e["success_rate"] for e in r["eval"]], th)
                    for r in runs]
            reached = [h for h in hits if h is not None]
            row[f"steps_to_{int(th * 100)}"] = {"reached": len(reached), "of": len(runs),
                                                "mean": float(np.mean(reached)) if reached else None,
                                                "per_seed": hits}
        for key in ("signal_fraction", "signal_fraction_binary", "groups_all_failed", "oracle_spearman",
                    "oracle_spearman_failures", "failure_reward_mean", "success_rate", "kl_full", "kl_old",
                    "clip_fraction", "grad_norm", "success_logp_change", "tail_mass", "entropy_change"):
            row[key] = _mean_of(runs, key)
        third = max(1, int(row["updates"]) // 3)
        for d in range(4):
            row[f"entropy_dim{d}_first"] = _mean_of(runs, f"entropy_dim{d}", slice(0, 1))
            row[f"entropy_dim{d}_last"] = _mean_of(runs, f"entropy_dim{d}", slice(-1, None))
        row["signal_fraction_first_third"] = _mean_of(runs, "signal_fraction", slice(0, third))
        row["flags"] = {str(r["seed"]): flag_run(r["train"]) for r in runs if flag_run(r["train"])}
        summary[arm] = row
    return summary


# ---------------------------------------------------------------------------------------------- report
def _band(ax, results: list[dict], arms: list[str], key: str, x: str, source: str = "eval") -> None:
    """Mean and 95 % t-interval across seeds of `key` against `x`, one line per arm."""
    for arm in arms:
        runs = [r for r in results if r["reward"] == arm and any(key in e for e in r[source])]
        if not runs:
            continue
        curves = [(np.array([e[x] for e in r[source] if key in e], float),
                   np.array([e[key] for e in r[source] if key in e], float)) for r in runs]
        end = min(xs.max() for xs, _ in curves)
        grid = np.linspace(min(xs.min() for xs, _ in curves), end, 60) if end > 0 else np.zeros(1)
        ys = np.stack([curve_on_grid(xs, v, grid) for xs, v in curves])
        stats = np.array([t_interval(ys[:, i]) for i in range(len(grid))])
        ax.plot(grid, stats[:, 0], label=f"{arm} ({len(runs)} seeds)", ls="--" if arm == CONTROL else "-")
        ax.fill_between(grid, stats[:, 1], stats[:, 2], alpha=0.2)


def plot_curves(results: list[dict], config: OnlineBenchConfig, out: Path) -> list[Path]:
    """Sampled success (headline) against env steps and updates, greedy success, and the update diagnostics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms, paths = config.reward_list, []
    for name, key, x, label in (("env_steps", "success_rate", "env_steps", "training env steps"),
                                ("updates", "success_rate", "step", "updates"),
                                ("greedy", "greedy_success", "env_steps", "training env steps")):
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        _band(ax, results, arms, key, x)
        for th in LEVELS:
            ax.axhline(th, color="grey", lw=0.6, ls=":")
        seen = [e[key] for r in results for e in r["eval"] if key in e]
        top = min(1.02, max(0.25, 1.25 * max(seen, default=0.0)))  # a low-success regime stays readable
        ax.set(xlabel=label, ylim=(-0.02, top), ylabel=("greedy" if key == "greedy_success" else
               f"sampled (T = {config.algo.temperature:g})") + " success, held-out states",
               title=f"sim xArm {config.tasks}: mean and 95 % CI across seeds")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(out / f"curves_{name}.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    panels = (("kl_full", "exact KL(old || new) per token"), ("entropy_mean", "entropy per token (nats)"),
              ("entropy_dim3", "gripper entropy (nats)"), ("success_logp_change", "success tokens' Δ log-prob"),
              ("clip_fraction", "clip fraction"), ("grad_norm", "grad norm (before clipping)"))
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    for ax, (key, title) in zip(axes.flat, panels):
        _band(ax, results, arms, key, "step", source="train")
        ax.set(title=title, xlabel="update")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    paths.append(out / "diagnostics.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths


def _fmt_ci(ci, scale: float = 100, unit: str = " %") -> str:
    if ci is None:
        return "–"
    mean, low, high = ci
    return f"{scale * mean:.1f}{unit} [{scale * low:.1f}, {scale * high:.1f}]"


def _fmt_steps(entry: dict) -> str:
    if not entry["reached"]:
        return f"not reached (0/{entry['of']})"
    return f"{entry['mean']:,.0f} ({entry['reached']}/{entry['of']})"


def _fmt(value, pattern: str = "{:.2f}") -> str:
    return "–" if value is None else pattern.format(value)


def markdown_report(summary: dict, config: OnlineBenchConfig, encoder_note: str, wall_minutes: float) -> str:
    any_row, a = next(iter(summary.values())), config.algo
    levels = " | ".join(f"env steps to {int(100 * th)} %" for th in LEVELS)
    lines = [
        f"# Online SRPO vs GRPO on the simulated xArm ({config.tasks})", "",
        f"Budget {config.env_steps:,} training env steps per run, {config.seeds} seeds per arm, groups of "
        f"{a.n_rollouts} rollouts x {a.groups_per_step} per update, lr {a.lr}, {a.epochs} epochs, "
        f"{config.n_bins} bins, KL-to-rollout {a.kl_rollout_coef}, negative-advantage scale "
        f"{a.negative_scale}, entropy bonus {a.entropy_coef}, temperature {a.temperature}. "
        f"Headline: **sampled success** at T = {config.algo.temperature:g} on {config.eval_episodes} held-out states per "
        f"task x {config.eval_samples} samples, evaluated every {config.eval_every} updates and at the end "
        f"of the budget (final = the last; greedy at the warm start and the end). SRPO encoders: {encoder_note or 'none'}. Wall time {wall_minutes:.1f} min.", "",
        f"**Warm start (the regime)**: sampled success {_fmt_ci(any_row['start'])}, binary signal in "
        f"{100 * any_row['start_binary_signal']:.0f} % of held-out states ({config.eval_samples} samples each), all "
        f"samples failed on {100 * any_row['start_all_failed']:.0f} %.", "",
        f"| arm | final sampled success (95 % CI) | gain over warm start | minus {CONTROL} (paired) | beats control "
        f"(CIs apart) | {levels} | greedy warm start → final | signal fraction (all / first third) | binary signal, "
        "same rollouts | groups all failed | Spearman with oracle (all / failures) | updates |",
        "|---|---|---|---|---|" + "---|" * len(LEVELS) + "---|---|---|---|---|---|",
    ]
    for arm, row in summary.items():
        greedy = (f"{_fmt_ci(row['greedy_start'])} → {_fmt_ci(row['greedy_final'])}" if "greedy_final" in row
                  else "–")
        beats = "control" if arm == CONTROL else ("**yes**" if row.get("beats_control") else "no")
        lines.append(
            f"| {arm} | {_fmt_ci(row['final'])} | {_fmt_ci(row['gain'], unit=' pts')} | "
            f"{_fmt_ci(row.get('minus_control'), unit=' pts')} | {beats} | "
            + " | ".join(_fmt_steps(row[f"steps_to_{int(100 * th)}"]) for th in LEVELS)
            + f" | {greedy} | {_fmt(row['signal_fraction'])} / {_fmt(row['signal_fraction_first_third'])} | "
            f"{_fmt(row['signal_fraction_binary'])} | {_fmt(row['groups_all_failed'])} | "
            f"{_fmt(row['oracle_spearman'])} / {_fmt(row['oracle_spearman_failures'])} | {row['updates']:.0f} |")
    if "minus_grpo" in summary.get("oracle", {}):
        gate = summary["oracle"]["minus_grpo"]
        verdict = ("passes: the setup can show what a progress reward adds" if gate[1] > 0 else
                   "FAILS: the oracle does not beat grpo, so this setup cannot show what a progress reward adds")
        others = "; ".join(f"{arm} {_fmt_ci(row['minus_grpo'], unit=' pts')}" for arm, row in summary.items()
                           if arm not in ("oracle", BASELINE) and "minus_grpo" in row)
        lines += ["", f"**The gate** (oracle − {BASELINE}, final sampled success paired by seed): "
                      f"{_fmt_ci(gate, unit=' pts')}: {verdict}. Other arms − {BASELINE}: {others or 'none'}."]
    lines += ["", "## Update diagnostics (mean over updates and seeds)", "",
              "| arm | exact KL(old ‖ new) | k3 KL, taken tokens | entropy x/y/z/gripper, first → last update | "
              "success tokens' Δ log-prob | tail mass | clip fraction | grad norm | flagged runs |",
              "|---|---|---|---|---|---|---|---|---|"]
    for arm, row in summary.items():
        ent = " / ".join(f"{_fmt(row[f'entropy_dim{d}_first'])}→{_fmt(row[f'entropy_dim{d}_last'])}"
                         for d in range(4))
        flags = "; ".join(f"seed {s}: {', '.join(v)}" for s, v in row["flags"].items()) or "none"
        lines.append(f"| {arm} | {_fmt(row['kl_full'], '{:.4f}')} | {_fmt(row['kl_old'], '{:.4f}')} | {ent} | "
                     f"{_fmt(row['success_logp_change'], '{:+.4f}')} | {_fmt(row['tail_mass'])} | "
                     f"{_fmt(row['clip_fraction'], '{:.3f}')} | {_fmt(row['grad_norm'])} | {flags} |")
    lines += ["", f"A result counts only where the arm's 95 % CI lies above the {CONTROL} control's (same warm starts, "
              "budget and seeds; its advantages carry no information about the trajectories). Signal fraction: share "
              "of rollout groups whose rewards vary; binary signal: what binary success would give the same rollouts. "
              "A run is flagged when its successful trajectories' tokens lose log-prob, or its entropy rises, in "
              "several consecutive updates (`srpo_online_sim.diagnostics.flag_run`).", "",
              "![sampled success vs env steps](curves_env_steps.png)", "![sampled success vs updates](curves_updates.png)",
              "![greedy success vs env steps](curves_greedy.png)", "![update diagnostics](diagnostics.png)", ""]
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
    """Every (arm, seed) run, then the report; returns the summary (also in report.json)."""
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    encoder_note = "; ".join(n for n in (arm_setup(config, a)[3] for a in config.reward_list) if n)
    if progress and encoder_note:
        print(f"srpo bench online: {encoder_note}", flush=True)
    t0 = time.perf_counter()
    seeds = list(range(config.seeds))
    jobs = [(config, arm, s) for s in seeds for arm in config.reward_list]
    results = []
    workers = max(1, min(config.workers, len(jobs)))
    with mp.get_context("spawn").Pool(workers) as pool:
        # the BC warm starts first (one per seed, cached), so that every arm of a seed starts from it
        list(pool.imap_unordered(_warm_start_star, [(config, s) for s in seeds]))
        for r in pool.imap_unordered(_run_one_star, jobs):
            results.append(r)
            if progress:
                print(f"  {r['reward']} seed {r['seed']}: sampled success {r['eval'][0]['success_rate']:.2f} -> "
                      f"{final_eval(r):.2f} in {r['seconds'] / 60:.1f} min", flush=True)
    return write_report(out, config, results, encoder_note, (time.perf_counter() - t0) / 60)
