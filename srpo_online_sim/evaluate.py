"""The standard LIBERO protocol: every task of a suite x 50 official initial states, greedy decoding.

Writes ``results.json`` (per-task successes and rates, suite mean), ``results.md`` (a table) and
``results.png`` (a bar plot per task) into the output folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from srpo.errors import UserFacingError
from srpo_online_sim.envs import (
    EnvConfig,
    EnvPool,
    check_suite,
    official_init_states,
    parse_task_ids,
    task_names,
)
from srpo_online_sim.openvla.loading import default_policy
from srpo_online_sim.rollout import Request, rollout


@dataclass(frozen=True)
class EvalConfig:
    """Evaluate OpenVLA* on a LIBERO suite with the standard protocol (tasks x 50 official initial states,
    greedy, OFT's step limits, env.seed(0) before every episode); writes results.json/.md/.png."""

    suite: str = "spatial"  # LIBERO suite: spatial, object, goal, 10 (LIBERO-Long) or 90
    policy: str | None = None  # checkpoint folder, hub id, or "tiny"; None = the suite's published checkpoint
    unnorm_key: str | None = None  # action statistics key of the checkpoint (falls back to <key>_no_noops)
    output_dir: str = "runs/libero_eval"  # where results.json / .md / .png go
    tasks: str | tuple[int, ...] | None = None  # task ids (comma-separated on the command line); None = all
    trials: int = 50  # official initial states per task (LIBERO has 50)
    temperature: float = 0.0  # 0 = greedy (the protocol); > 0 samples
    num_envs: int = 8  # LIBERO environments (one subprocess each unless subprocess=False)
    subprocess: bool = True  # run envs in worker processes (false: in this process, for debugging)
    max_steps: int | None = None  # env steps per episode; None = OFT's per suite (220/280/300/520, 90: 400)
    seed: int = 0  # sampling seed (only used when temperature > 0)
    device: str = "cuda" if torch.cuda.is_available() else "cpu"  # policy device
    autocast: bool = True  # bf16 autocast of forward passes on CUDA (siiRL)
    bf16: bool = False  # keep the weights in bfloat16

    CLI_ALIASES: ClassVar[dict[str, str]] = {"output": "output_dir"}

    def __post_init__(self):
        check_suite(self.suite)
        object.__setattr__(self, "tasks", parse_task_ids(self.tasks))
        if self.policy is None:
            object.__setattr__(self, "policy", default_policy(self.suite))


@dataclass
class TaskResult:
    task_id: int
    instruction: str
    successes: int
    trials: int

    @property
    def rate(self) -> float:
        return self.successes / self.trials


def evaluate(config: EvalConfig, policy=None, progress: bool = True, pool: EnvPool | None = None) -> dict:
    """Run the protocol; uses ``pool`` when given (its envs are left open), else builds one."""
    from contextlib import nullcontext

    from tqdm import tqdm

    from srpo_online_sim.trainer import build_policy

    names = task_names(config.suite)
    tasks = list(config.tasks) if config.tasks is not None else list(range(len(names)))
    if not 1 <= config.trials <= 50:
        raise UserFacingError("--trials must be between 1 and 50 (LIBERO has 50 official initial states per task)")
    if policy is None:
        dtype = torch.bfloat16 if config.bf16 else torch.float32
        policy = build_policy(config.policy, config.unnorm_key, config.device, dtype, config.autocast)
    generator = torch.Generator(device=config.device).manual_seed(config.seed)
    results = []
    env_config = EnvConfig(suite=config.suite, max_steps=config.max_steps)
    owned = pool is None
    pool = pool or EnvPool(env_config, config.num_envs, subprocess=config.subprocess)
    with pool if owned else nullcontext(pool):
        bar = tqdm(total=len(tasks) * config.trials, disable=not progress, desc=f"eval libero_{config.suite}")
        for task in tasks:
            states = official_init_states(config.suite, task)[: config.trials]
            requests = [Request(task, names[task], s, i) for i, s in enumerate(states)]
            successes = 0
            for start in range(0, len(requests), pool.num_envs):
                trajs = rollout(policy, pool, requests[start : start + pool.num_envs], config.temperature,
                                generator, keep_video=False)
                successes += sum(t.success for t in trajs)
                bar.update(len(trajs))
            results.append(TaskResult(task, names[task], successes, len(requests)))
            bar.set_postfix(last_task=f"{results[-1].rate:.2f}")
        bar.close()
    report = summarise(config, results)
    write_outputs(report, Path(config.output_dir))
    return report


def summarise(config: EvalConfig, results: list[TaskResult]) -> dict:
    total = sum(r.successes for r in results)
    trials = sum(r.trials for r in results)
    return {
        "suite": config.suite,
        "policy": config.policy,
        "config": asdict(config),
        "tasks": [{**asdict(r), "success_rate": r.rate} for r in results],
        "suite_success_rate": total / trials if trials else float("nan"),
        "mean_task_success_rate": float(np.mean([r.rate for r in results])) if results else float("nan"),
        "successes": total,
        "trials": trials,
    }


def markdown_table(report: dict) -> str:
    lines = ["| task | instruction | successes | trials | success rate |", "|---:|---|---:|---:|---:|"]
    for t in report["tasks"]:
        lines.append(f"| {t['task_id']} | {t['instruction']} | {t['successes']} | {t['trials']} | "
                     f"{100 * t['success_rate']:.1f}% |")
    lines.append(f"| **libero_{report['suite']}** | all tasks | {report['successes']} | {report['trials']} | "
                 f"**{100 * report['suite_success_rate']:.1f}%** |")
    return "\n".join(lines) + "\n"


def write_outputs(report: dict, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(report, indent=1))
    (folder / "results.md").write_text(markdown_table(report))
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(report["tasks"]) + 2), 3.5))
    ids = [str(t["task_id"]) for t in report["tasks"]]
    ax.bar(ids, [100 * t["success_rate"] for t in report["tasks"]], color="tab:blue")
    ax.axhline(100 * report["suite_success_rate"], color="tab:red", ls="--", label="suite")
    ax.set(xlabel="task id", ylabel="success rate (%)", ylim=(0, 100), title=f"libero_{report['suite']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "results.png", dpi=100)
    plt.close(fig)
