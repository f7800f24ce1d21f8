"""LIBERO task environments for rollouts (`srpo_online_sim.protocols.Env`); `EnvConfig` is their EnvSpec, and
`srpo_online_sim.pool.EnvPool` steps many at once in subprocess workers.

Protocol (OpenVLA / siiRL convention): after reset to an initial state, ``settle_steps`` no-op actions let the
objects come to rest (their frames are not part of the episode); the episode ends on the environment's own
success predicate or after the suite's step limit. Images are the third-person ``agentview`` camera (and the
wrist camera when asked), rotated 180 degrees so that up is up, uint8 HxWx3.

Initial states: evaluation uses LIBERO's official 50 states per task. Training uses states sampled from the
same BDDL placement distribution with seeds disjoint from evaluation (``sample_init_state``), so the policy is
never trained on the states it is evaluated on (siiRL trains and validates on the same states).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from srpo.errors import UserFacingError
from srpo_online_sim.pool import EnvPool
from srpo_online_sim.protocols import StepResult

__all__ = ["EnvConfig", "EnvPool", "LiberoTaskEnv", "StepResult", "libero_action"]

SUITES = ("spatial", "object", "goal", "10", "90")
# Step limits per suite, as in the OpenVLA(-OFT) LIBERO evaluation (run_libero_eval.py): about the longest
# demonstration plus a margin. siiRL uses 512 for every suite (the trainer's `--preset siirl`).
SUITE_MAX_STEPS = {"spatial": 220, "object": 280, "goal": 300, "10": 520, "90": 400}
NOOP_ACTION = np.array([0, 0, 0, 0, 0, 0, -1], dtype=np.float64)  # zero motion, gripper open


def check_suite(suite: str) -> None:
    if suite not in SUITES:
        raise UserFacingError(f"unknown LIBERO suite {suite!r}: choose one of {', '.join(SUITES)} (10 = LIBERO-Long)")


def parse_task_ids(tasks) -> tuple[int, ...] | None:
    """None, a tuple of ids, or the command line's comma-separated text -> a tuple of ids."""
    if tasks is None or isinstance(tasks, tuple):
        return tasks
    try:
        return tuple(int(x) for x in str(tasks).split(","))
    except ValueError:
        raise UserFacingError(f"--tasks takes comma-separated task ids like 0,3,7; got {tasks!r}") from None


def benchmark_name(suite: str) -> str:
    if suite not in SUITES:
        raise UserFacingError(f"unknown LIBERO suite {suite!r}: choose one of {', '.join(SUITES)}")
    return f"libero_{suite}"


@dataclass(frozen=True)
class EnvConfig:
    suite: str = "spatial"  # LIBERO suite: spatial, object, goal, 10 (long) or 90
    image_size: int = 256  # camera height and width in pixels
    wrist: bool = False  # also render the wrist camera
    settle_steps: int = 10  # no-op steps after reset, not recorded
    max_steps: int | None = None  # policy steps per episode; None = SUITE_MAX_STEPS[suite]
    hard_reset: bool = False  # rebuild the MuJoCo model on every reset (robosuite's default; slow, not needed
    #                           since set_init_state overwrites the whole state)
    reset_seed: int | None = 0  # env.seed(reset_seed) before every reset, so an episode does not depend on what
    #                             ran before in the worker (OFT's libero_utils.get_libero_env and siiRL's
    #                             LIBEROAdapter call env.seed(0)); None = never seed

    @property
    def step_limit(self) -> int:
        return self.max_steps if self.max_steps is not None else SUITE_MAX_STEPS[self.suite]

    # --- srpo_online_sim.protocols.EnvSpec ---
    def build(self) -> LiberoTaskEnv:
        return LiberoTaskEnv(self)

    def env_action(self, actions: np.ndarray) -> np.ndarray:
        return libero_action(actions)

    def instructions(self) -> list[str]:
        return task_names(self.suite)


def _suite(suite: str):
    from srpo_online_sim.libero_setup import prepare_libero

    prepare_libero()
    from libero.libero import benchmark

    return benchmark.get_benchmark_dict()[benchmark_name(suite)]()


def task_names(suite: str) -> list[str]:
    """Natural-language instruction of every task in the suite, by task id."""
    bench = _suite(suite)
    return [bench.get_task(i).language for i in range(bench.n_tasks)]


def official_init_states(suite: str, task_id: int) -> np.ndarray:
    """LIBERO's fixed evaluation initial states for one task, [50, state_dim] (flattened MuJoCo states)."""
    return np.asarray(_suite(suite).get_task_init_states(task_id))


def libero_action(action: np.ndarray) -> np.ndarray:
    """OpenVLA action (gripper in [0, 1], 1 = open) -> LIBERO action (gripper -1 = open, +1 = close)."""
    out = np.asarray(action, dtype=np.float64).copy()
    out[..., -1] = -np.sign(2.0 * out[..., -1] - 1.0)
    out[..., -1][out[..., -1] == 0] = -1.0
    return out


class LiberoTaskEnv:
    """One LIBERO environment; rebuilt only when the task changes."""

    def __init__(self, config: EnvConfig):
        self.config = config
        self.task_id: int | None = None
        self.env = None
        self.steps = 0

    def _build(self, task_id: int) -> None:
        if self.task_id == task_id:
            return
        self.close()
        bench = _suite(self.config.suite)  # first: prepares LIBERO's config, or its import asks questions on stdin
        from libero.libero.envs import OffScreenRenderEnv

        task = bench.get_task(task_id)
        from libero.libero import get_libero_path

        bddl = os.path.join(get_libero_path("bddl_files"), task.problem_folder, task.bddl_file)
        self.env = OffScreenRenderEnv(
            bddl_file_name=bddl,
            camera_heights=self.config.image_size,
            camera_widths=self.config.image_size,
            hard_reset=self.config.hard_reset,
        )
        self.task_id = task_id

    def sample_init_state(self, task_id: int, seed: int) -> np.ndarray:
        """A fresh initial state from the task's placement distribution (for training)."""
        self._build(task_id)
        self.env.seed(seed)
        self.env.reset()
        return np.asarray(self.env.get_sim_state()).copy()

    def reset(self, task_id: int, init_state: np.ndarray) -> StepResult:
        self._build(task_id)
        if self.config.reset_seed is not None:
            self.env.seed(self.config.reset_seed)  # LIBERO: np.random.seed, which reset's placement sampling uses
        self.env.reset()
        obs = self.env.set_init_state(init_state)
        for _ in range(self.config.settle_steps):
            obs, _, _, _ = self.env.step(NOOP_ACTION)
        self.steps = 0
        return self._result([obs], done=False, success=False)

    def step_chunk(self, actions: np.ndarray) -> StepResult:
        """Execute LIBERO actions [k, 7] until done; frames of the executed steps only."""
        observations, success = [], False
        for action in np.atleast_2d(actions):
            obs, _, env_done, _ = self.env.step(action)
            self.steps += 1
            observations.append(obs)
            success = bool(env_done) or bool(self.env.check_success())
            if success or self.steps >= self.config.step_limit:
                break
        return self._result(observations, done=success or self.steps >= self.config.step_limit, success=success)

    def _result(self, observations: list[dict], done: bool, success: bool) -> StepResult:
        frames = [np.ascontiguousarray(o["agentview_image"][::-1, ::-1]) for o in observations]
        wrist = (
            [np.ascontiguousarray(o["robot0_eye_in_hand_image"][::-1, ::-1]) for o in observations]
            if self.config.wrist
            else []
        )
        return StepResult(frames=frames, wrist_frames=wrist, done=done, success=success)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None
            self.task_id = None
