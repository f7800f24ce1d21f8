"""Roll a policy out in a pool of envs (`srpo_online_sim.protocols`): one trajectory per (task, initial state)
request. OpenVLA* on LIBERO and the MLP on the simulated xArm run through the same loop.

Requests run in waves of ``pool.num_envs``; at every decision the active envs' latest observations (LIBERO: the
frame) go through the policy in ONE batched forward pass, giving a chunk per env that the workers execute in
parallel (the pool's spec maps the policy's actions to the env's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from srpo_online_sim.pool import EnvPool


@dataclass(frozen=True)
class Request:
    task_id: int  # task id within the world (LIBERO: within the suite)
    instruction: str  # the task's language instruction
    init_state: np.ndarray  # flattened MuJoCo state to reset to
    group: int  # rollouts of the same (task, initial state) share a group id


@dataclass
class Trajectory:
    request: Request
    success: bool = False  # the environment's success predicate held before the step limit
    frames: list[np.ndarray] = field(default_factory=list)  # reward-camera frames: reset frame + rendered steps
    observations: list = field(default_factory=list)  # the policy input each decision was made from
    tokens: list[torch.Tensor] = field(default_factory=list)  # [chunk*dim] action-slice indices per decision
    old_log_probs: list[torch.Tensor] = field(default_factory=list)  # [chunk*dim] behaviour log-probs per decision
    executed: list[int] = field(default_factory=list)  # env steps of each decision's chunk actually executed
    states: list = field(default_factory=list)  # every step's observation when the env sends them (sim state)

    @property
    def video(self) -> np.ndarray:
        return np.stack(self.frames)


def _any_rank(flag: bool) -> bool:
    import torch.distributed as dist

    value = torch.tensor(float(flag))
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def rollout(policy, pool: EnvPool, requests: list[Request], temperature: float, generator=None,
            keep_video: bool = True, on_done=None, lockstep: bool = False) -> list[Trajectory]:
    """Run every request to success or the step limit. ``on_done(traj)`` is called as each one finishes
    (e.g. to encode its video and free the frames). ``lockstep`` (a sharded policy: every forward pass is a
    collective): every rank makes a forward pass while any rank has an active env, repeating its last inputs
    when its own envs are done (those results are dropped); every rank must hold as many requests."""
    trajectories = [Trajectory(r) for r in requests]
    for start in range(0, len(requests), pool.num_envs):
        wave = trajectories[start : start + pool.num_envs]
        envs = list(range(len(wave)))
        resets = pool.call("reset", [(t.request.task_id, t.request.init_state) for t in wave], envs)
        last = [r.policy_inputs[-1] for r in resets]
        for t, r in zip(wave, resets):
            t.frames.extend(r.frames)
            if r.observations is not None:
                t.states.extend(r.observations)
        active, inputs = envs, None
        while (_any_rank(bool(active)) if lockstep else active):
            if not active:  # this rank is done: join the other ranks' forward pass
                policy.act(inputs, temperature, generator)
                continue
            inputs = policy.prepare([last[i] for i in active], [wave[i].request.instruction for i in active])
            out = policy.act(inputs, temperature, generator)
            for j, i in enumerate(active):
                wave[i].observations.append(last[i])
                wave[i].tokens.append(out.slice_tokens[j].cpu())
                wave[i].old_log_probs.append(out.log_probs[j].float().cpu())
            results = pool.call("step_chunk", [(pool.env_action(out.actions[j]),) for j in range(len(active))],
                                active)
            still = []
            for i, r in zip(active, results):
                wave[i].executed.append(r.executed)  # the rest of the chunk is masked in the update
                last[i] = r.policy_inputs[-1]
                if r.observations is not None:
                    wave[i].states.extend(r.observations)
                if keep_video:
                    wave[i].frames.extend(r.frames)
                if r.done:
                    wave[i].success = r.success
                    if on_done is not None:
                        on_done(wave[i])
                else:
                    still.append(i)
            active = still
    return trajectories
