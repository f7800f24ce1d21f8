"""The two protocols the online trainer runs on, so that LIBERO + OpenVLA* and the simulated xArm + a small MLP
share one trainer (DESIGN.md: "online training is one trainer over two protocols").

An ``Env`` is one simulator instance: reset to a given initial state, step a chunk of actions, and report the
reward camera's frames and the success predicate for the steps it executed. An ``EnvSpec`` is the frozen,
picklable description of a world (its config dataclass): it builds an Env (in this process or in a worker
subprocess, `srpo_online_sim.pool.EnvPool`), names the tasks, and maps the policy's actions to the env's.
A ``Policy`` samples action tokens with their log-probs, and gives differentiable log-probs of taken tokens.

Adding a simulator is one module with an EnvSpec config and its Env (see `srpo_online_sim.xarm_sim`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # env workers import this module; they need no torch
    import torch


@dataclass
class StepResult:
    """Frames and flags for the steps executed by one `reset` or `step_chunk` call."""

    frames: list[np.ndarray]  # reward-camera frames (uint8 HxWx3) rendered for the executed steps
    wrist_frames: list[np.ndarray] = field(default_factory=list)  # wrist frames (LIBERO, when enabled)
    done: bool = False  # episode over: success or step limit
    success: bool = False  # the environment's success predicate held
    observations: list | None = None  # the policy's input after each executed step; None: the frames are
    #                                   (LIBERO's OpenVLA* sees the camera frame)
    steps: int | None = None  # env steps executed by this call; None: one per frame

    @property
    def policy_inputs(self) -> list:
        """What the policy decides from: the observations, or the frames when the env sends none."""
        return self.observations if self.observations is not None else self.frames

    @property
    def executed(self) -> int:
        return self.steps if self.steps is not None else len(self.frames)


@runtime_checkable
class Env(Protocol):
    """One simulator instance driven by the rollout loop (usually inside an EnvPool worker)."""

    def sample_init_state(self, task_id: int, seed: int) -> np.ndarray:
        """A fresh initial state of task `task_id` from its placement distribution (flat array)."""

    def reset(self, task_id: int, init_state: np.ndarray) -> StepResult:
        """Start an episode of `task_id` at `init_state`; the result holds the first frame and observation."""

    def step_chunk(self, actions: np.ndarray) -> StepResult:
        """Execute env actions [k, action_dim] until done; frames/observations of the executed steps only."""

    def close(self) -> None: ...


@runtime_checkable
class EnvSpec(Protocol):
    """A world's frozen config: picklable (it travels to spawned workers) and able to build its Env."""

    def build(self) -> Env: ...

    def env_action(self, actions: np.ndarray) -> np.ndarray:
        """Policy actions [..., chunk, dim] -> the env's actions (e.g. OpenVLA's gripper convention to LIBERO's)."""

    def instructions(self) -> list[str]:
        """The language instruction of every task id."""


@runtime_checkable
class Policy(Protocol):
    """A stochastic policy over discretised action chunks (OpenVLA*'s layout: chunk x action_dim tokens)."""

    model: torch.nn.Module  # the trained parameters
    chunk: int  # actions per decision
    action_dim: int  # action dimensions per action (tokens per action)

    @property
    def device(self) -> torch.device: ...

    def prepare(self, observations: list, instructions: list[str]) -> dict[str, torch.Tensor]:
        """Observations (frames or states) and task instructions -> batched model inputs."""

    def act(self, inputs: dict[str, torch.Tensor], temperature: float, generator=None) -> Any:
        """Sample a chunk per row: an object with slice_tokens [B, chunk*dim], log_probs [B, chunk*dim] and
        actions [B, chunk, dim] (the policy's action space; EnvSpec.env_action maps it to the env's)."""

    def logits(self, inputs: dict[str, torch.Tensor], model: torch.nn.Module | None = None) -> torch.Tensor:
        """Differentiable [B, chunk*dim, n_bins] logits of every action token (under `model`, default the policy's):
        the full distributions, for the exact KL and entropy of the update's diagnostics and penalties."""

    def log_probs(self, inputs: dict[str, torch.Tensor], slice_tokens: torch.Tensor, temperature: float,
                  model: torch.nn.Module | None = None) -> torch.Tensor:
        """Differentiable [B, chunk*dim] log-probs of the given tokens (under `model`, default the policy's)."""

    def save(self, folder) -> None:
        """Write the weights (and what loading them needs) to `folder`."""

    def load_weights(self, folder) -> None:
        """Load weights written by `save` into this policy."""
