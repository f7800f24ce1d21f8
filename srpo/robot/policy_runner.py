"""Run a LeRobot policy checkpoint on an arm: inference in a worker thread, action chunks executed per tick.

Any LeRobot policy type loads (ACT, Diffusion, pi0, pi0-FAST, SmolVLA, ...): the checkpoint's config.json
names the type, LeRobot's factory gives the class, and the saved pre/post-processor pipelines normalise
inputs and un-normalise actions. `PolicySource` is an action source for EpisodeRecorder, so every command
passes the safety filter exactly like teleop.

Scheduling: when the queue of the current chunk runs low, the newest observation goes to the worker; the
control thread keeps executing the rest of the chunk meanwhile. The new chunk replaces the queue when the old
one is used up, minus the ticks that passed since its observation (they are already in the past). In
`blocking` mode (simulated time) the control thread waits for the worker instead: the sim does not move while
the policy thinks, so results do not depend on CPU speed.
"""

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srpo.errors import UserFacingError
from srpo.policy_io import ENV_STATE, IMAGE_PREFIX, KEY_DIMS, policy_observation, read_io
from srpo.robot.teleop import Teleop


@dataclass(frozen=True)
class PolicyConfig:
    """Which checkpoint and how to run it."""

    checkpoint: str  # directory written by policy.save_pretrained (+ LeRobot's processor files)
    device: str = "cpu"  # torch device for inference
    n_action_steps: int | None = None  # actions executed per chunk; None: the checkpoint's n_action_steps
    prefetch_steps: int = 2  # ask for the next chunk when this many actions are left (non-blocking mode)
    blocking: bool = True  # wait for inference (simulated time); False on a real arm
    camera_map: tuple[tuple[str, str], ...] = ()  # (image feature suffix, camera) overrides; default same name


class LoadedPolicy:
    """A LeRobot policy with its processors; `predict_chunk(step, task) -> np.ndarray [T, action_dim]`."""

    def __init__(self, config: PolicyConfig):
        import torch

        from srpo.policy_loading import load_policy

        path = Path(config.checkpoint)
        self.torch = torch
        self.device = torch.device(config.device)
        self.policy, self.pre, self.post = load_policy(path, device=config.device)
        self.policy.to(self.device)
        cfg = self.policy.config
        io = read_io(path)
        self.state_keys, self.environment_state_keys = io.state_keys, io.environment_state_keys
        for feature, keys in (("observation.state", self.state_keys), (ENV_STATE, self.environment_state_keys)):
            spec = cfg.input_features.get(feature)
            want = sum(KEY_DIMS.get(k, 0) for k in keys)
            if (spec is not None or keys) and (spec.shape[0] if spec is not None else 0) != want:
                have = spec.shape[0] if spec is not None else 0
                raise UserFacingError(f"{path} expects a {have}-value {feature} but the keys {list(keys)} give "
                                      f"{want}; write the keys used in training with srpo.policy_io.write_io")
        overrides = dict(config.camera_map)
        self.image_features = {name: overrides.get(name[len(IMAGE_PREFIX):], name[len(IMAGE_PREFIX):])
                               for name in cfg.input_features if name.startswith(IMAGE_PREFIX)}
        self.n_action_steps = config.n_action_steps or getattr(cfg, "n_action_steps", None) or 1
        self.lock = threading.Lock()

    def predict_chunk(self, step: dict, task: str) -> np.ndarray:
        from lerobot.policies import prepare_observation_for_inference

        obs = policy_observation(step, self.state_keys, self.image_features, self.environment_state_keys)
        with self.lock, self.torch.inference_mode():
            batch = self.pre(prepare_observation_for_inference(obs, self.device, task, "ufactory_xarm7"))
            chunk = self.policy.predict_action_chunk(batch)  # [1, T, action_dim], normalised
            actions = self.post(chunk)
        actions = actions.detach().to("cpu").float().numpy().reshape(-1, actions.shape[-1])
        return actions[: self.n_action_steps]


class PolicySource(Teleop):
    """Action source for EpisodeRecorder that runs a LoadedPolicy off the control thread."""

    def __init__(self, policy: LoadedPolicy, task: str, config: PolicyConfig):
        self.policy, self.task, self.config = policy, task, config
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy")
        self._queue: deque[np.ndarray] = deque()
        self._pending: Future | None = None
        self._pending_tick = 0
        self._tick = 0
        self.inference_count = 0

    def reset(self, arm) -> None:
        if self._pending is not None:
            self._pending.result()
        self._queue.clear()
        self._pending, self._tick = None, 0
        if hasattr(self.policy.policy, "reset"):
            self.policy.policy.reset()

    def _submit(self, step: dict) -> None:
        self._pending = self._pool.submit(self.policy.predict_chunk, dict(step), self.task)
        self._pending_tick = self._tick
        self.inference_count += 1

    def act(self, obs: dict) -> np.ndarray | None:
        self._tick += 1
        if not self._queue:
            if self._pending is None:
                self._submit(obs)
            if not self.config.blocking and not self._pending.done():
                return None  # still thinking: the recorder holds the arm
            chunk = self._pending.result()  # re-raises an inference error here, in the control loop
            self._pending = None
            late = 0 if self.config.blocking else self._tick - 1 - self._pending_tick
            self._queue.extend(chunk[late:] if late < len(chunk) else chunk[-1:])
        elif not self.config.blocking and self._pending is None and len(self._queue) <= self.config.prefetch_steps:
            self._submit(obs)
        return self._queue.popleft()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
