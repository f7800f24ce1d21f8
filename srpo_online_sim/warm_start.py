"""Behaviour cloning of the MLP policy on a handful of clean scripted demonstrations per sim task: the analogue of
the paper's one-demonstration SFT (OpenVLA*-One), a policy that succeeds sometimes, but rarely.

Demonstrations: the scripted expert with noise 0 (`srpo.robot.teleop.ScriptedExpert`), on initial states with
seeds of their own (DEMO_SEED_OFFSET), disjoint from training (online.TRAIN_SEED_OFFSET) and evaluation
(EVAL_SEED_OFFSET). Targets: the expert's next `chunk` actions from each tick (the last one repeated past the end),
as bin indices; loss: cross-entropy per token. `success_rate` measures a policy on fixed evaluation states;
`regime_probe` samples it several times per state: its sampled success and how often binary rewards carry signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from srpo_online_sim.mlp_policy import MLPPolicy, MLPPolicyConfig
from srpo_online_sim.pool import EnvPool
from srpo_online_sim.rollout import Request, rollout
from srpo_online_sim.xarm_sim import SimXArmEnv, SimXArmSpec

DEMO_SEED_OFFSET = 3_000_000  # initial states of the demonstrations
EVAL_SEED_OFFSET = 2_000_000  # initial states of every evaluation


@dataclass(frozen=True)
class WarmStartConfig:
    """How the MLP is warm-started: how many clean demonstrations, how long BC runs."""

    demos_per_task: int = 4  # clean scripted demonstrations per task
    epochs: int = 60  # passes over the demonstration ticks
    batch_size: int = 64  # ticks per BC step
    lr: float = 1e-3  # Adam learning rate of BC
    hidden: int = 256  # MLP width
    layers: int = 2  # MLP hidden layers
    chunk: int = 4  # actions per decision
    n_bins: int = 256  # bins per action dimension (OpenVLA*'s 256; fewer make BC and the update easier)
    seed: int = 0  # demonstration and initialisation seed


class Demo(NamedTuple):
    """One clean expert episode that succeeded."""

    task_id: int  # task id within the spec
    observations: list[dict]  # the observation each action was taken from [T]
    actions: np.ndarray  # policy actions [T, 4]
    last: dict  # the observation after the last action (the success state)
    frames: list[np.ndarray]  # camera frames, the reset frame then one per tick (T + 1; empty unless asked)


def collect_demos(spec: SimXArmSpec, demos_per_task: int, seed: int = 0, camera: str | None = None) -> list[Demo]:
    """The clean expert episodes that succeeded; `camera` (front | wrist): also render its frames at the spec's
    image size."""
    from srpo.robot.teleop import ExpertConfig, ScriptedExpert

    env = SimXArmEnv(SimXArmSpec(tasks=spec.tasks, max_steps=spec.max_steps, render=camera is not None,
                                 reward_camera=camera or spec.reward_camera, image_size=spec.image_size))
    demos = []
    try:
        for task_id, name in enumerate(spec.tasks):
            for i in range(demos_per_task):
                state = env.sample_init_state(task_id, DEMO_SEED_OFFSET + 1000 * seed + i)
                r = env.reset(task_id, state)
                obs, frames = r.observations[-1], list(r.frames)
                expert = ScriptedExpert(name, ExpertConfig(noise=0.0), seed=seed * 1000 + i)
                expert.reset(env.arm)
                observations, actions = [], []
                while True:
                    a = expert.act(obs)
                    observations.append(obs)
                    actions.append(np.array([a[0], a[1], a[2], a[6]]))
                    r = env.step_chunk(a[None])
                    obs = r.observations[-1]
                    frames.extend(r.frames)
                    if r.done:
                        break
                if r.success:
                    demos.append(Demo(task_id, observations, np.stack(actions), obs, frames))
    finally:
        env.close()
    return demos


def chunk_targets(actions: np.ndarray, chunk: int) -> np.ndarray:
    """[T, dim] -> [T, chunk, dim]: the next `chunk` actions from every tick, the last one repeated."""
    idx = np.minimum(np.arange(len(actions))[:, None] + np.arange(chunk)[None], len(actions) - 1)
    return actions[idx]


def behaviour_clone(spec: SimXArmSpec, config: WarmStartConfig = WarmStartConfig(), device: str = "cpu"
                    ) -> tuple[MLPPolicy, dict]:
    """A fresh MLP trained by BC on clean demonstrations; returns (policy, {demos, ticks, final_loss})."""
    instructions = spec.instructions()
    policy = MLPPolicy(MLPPolicyConfig(n_tasks=len(instructions), hidden=config.hidden, layers=config.layers,
                                       chunk=config.chunk, n_bins=config.n_bins), instructions, seed=config.seed,
                    device=device)
    demos = collect_demos(spec, config.demos_per_task, config.seed)
    if not demos:
        raise RuntimeError("no clean expert demonstration succeeded; the sim tasks or the expert are broken")
    x = np.concatenate([policy.features(d.observations, [instructions[d.task_id]] * len(d.observations))
                        for d in demos])
    y = np.concatenate([policy.tokens_of(chunk_targets(d.actions, config.chunk)) for d in demos])
    x_t = torch.as_tensor(x, dtype=torch.float32, device=device)
    y_t = torch.as_tensor(y, dtype=torch.long, device=device)
    optimizer = torch.optim.Adam(policy.model.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)
    loss = torch.tensor(0.0)
    policy.model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(x_t), generator=gen)
        for start in range(0, len(order), config.batch_size):
            b = order[start : start + config.batch_size]
            logits = policy.model(x_t[b])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y_t[b].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    policy.model.eval()
    return policy, {"demos": len(demos), "ticks": int(len(x)), "final_loss": float(loss.detach())}


def eval_requests(spec: SimXArmSpec, pool: EnvPool, episodes_per_task: int, tasks: list[int] | None = None
                  ) -> list[Request]:
    """The fixed evaluation episodes: `episodes_per_task` states per task from EVAL_SEED_OFFSET on."""
    instructions = spec.instructions()
    requests = []
    for task in tasks if tasks is not None else range(len(spec.tasks)):
        for i in range(episodes_per_task):
            state = pool.call("sample_init_state", [(task, EVAL_SEED_OFFSET + i)], [0])[0]
            requests.append(Request(task, instructions[task], state, group=-1 - i))
    return requests


def success_rate(policy, pool: EnvPool, requests: list[Request], temperature: float, seed: int = 0
                 ) -> tuple[float, dict[int, float], int]:
    """(overall success rate, per task id, env steps) of `policy` on `requests`, sampled at `temperature`."""
    gen = torch.Generator(device=policy.device).manual_seed(seed)
    trajs = rollout(policy, pool, requests, temperature, gen, keep_video=False)
    ok = np.array([t.success for t in trajs], dtype=float)
    tasks = np.array([t.request.task_id for t in trajs])
    per_task = {int(k): float(ok[tasks == k].mean()) for k in np.unique(tasks)}
    return float(ok.mean()), per_task, int(sum(sum(t.executed) for t in trajs))


def regime_probe(policy, pool: EnvPool, requests: list[Request], samples: int, temperature: float, seed: int = 0
                 ) -> dict[str, float]:
    """`samples` rollouts of `policy` at `temperature` from each request's state (one group per state):

      sampled_success          mean success of every rollout (the quantity GRPO's objective raises)
      binary_signal_fraction   share of states whose rollouts both succeed and fail (binary rewards give a
                               gradient only there)
      all_failed_fraction      share of states where every rollout failed (SRPO's regime: no success to refer to)
      success_<task id>        sampled success per task
    """
    if samples < 1 or temperature <= 0:
        raise ValueError("regime_probe samples (>= 1 per state) at a temperature > 0")
    gen = torch.Generator(device=policy.device).manual_seed(seed)
    trajs = rollout(policy, pool, [r for r in requests for _ in range(samples)], temperature, gen, keep_video=False)
    ok = np.array([t.success for t in trajs], dtype=float).reshape(len(requests), samples)
    wins = ok.sum(1)
    tasks = np.array([r.task_id for r in requests])
    out = {"sampled_success": float(ok.mean()), "binary_signal_fraction": float(np.mean((wins > 0) & (wins < samples))),
           "all_failed_fraction": float(np.mean(wins == 0)), "env_steps": float(sum(sum(t.executed) for t in trajs))}
    out.update({f"success_{int(k)}": float(ok[tasks == k].mean()) for k in np.unique(tasks)})
    return out
