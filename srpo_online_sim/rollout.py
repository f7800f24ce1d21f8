"""Roll OpenVLA* out in a pool of LIBERO envs: one trajectory per (task, initial state) request.

Requests run in waves of ``pool.num_envs``; at every decision the active envs' latest frames go through the
policy in ONE batched forward pass, giving an 8-step chunk per env that the workers execute in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from srpo_online_sim.envs import EnvPool, libero_action


@dataclass(frozen=True)
class Request:
    task_id: int  # LIBERO task id within the suite
    instruction: str  # the task's language instruction
    init_state: np.ndarray  # flattened MuJoCo state to reset to
    group: int  # rollouts of the same (task, initial state) share a group id


@dataclass
class Trajectory:
    request: Request
    success: bool = False  # the environment's success predicate held before the step limit
    frames: list[np.ndarray] = field(default_factory=list)  # agentview frames: reset frame + every step
    observations: list[np.ndarray] = field(default_factory=list)  # the frame each decision was made from
    tokens: list[torch.Tensor] = field(default_factory=list)  # [56] action-slice indices per decision
    old_log_probs: list[torch.Tensor] = field(default_factory=list)  # [56] behaviour log-probs per decision
    executed: list[int] = field(default_factory=list)  # env steps of each decision's chunk actually executed

    @property
    def video(self) -> np.ndarray:
        return np.stack(self.frames)


def rollout(policy, pool: EnvPool, requests: list[Request], temperature: float, generator=None,
            keep_video: bool = True, on_done=None) -> list[Trajectory]:
    """Run every request to success or the step limit. ``on_done(traj)`` is called as each one finishes
    (e.g. to encode its video and free the frames)."""
    trajectories = [Trajectory(r) for r in requests]
    for start in range(0, len(requests), pool.num_envs):
        wave = trajectories[start : start + pool.num_envs]
        envs = list(range(len(wave)))
        resets = pool.call("reset", [(t.request.task_id, t.request.init_state) for t in wave], envs)
        last = [r.frames[-1] for r in resets]
        for t, r in zip(wave, resets):
            t.frames.extend(r.frames)
        active = envs
        while active:
            inputs = policy.prepare([last[i] for i in active], [wave[i].request.instruction for i in active])
            out = policy.act(inputs, temperature, generator)
            for j, i in enumerate(active):
                wave[i].observations.append(last[i])
                wave[i].tokens.append(out.slice_tokens[j].cpu())
                wave[i].old_log_probs.append(out.log_probs[j].float().cpu())
            results = pool.call("step_chunk", [(libero_action(out.actions[j]),) for j in range(len(active))], active)
            still = []
            for i, r in zip(active, results):
                wave[i].executed.append(len(r.frames))  # one frame per executed step; the rest is masked
                last[i] = r.frames[-1]
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
