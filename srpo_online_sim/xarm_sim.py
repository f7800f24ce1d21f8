"""The simulated xArm 7 (MuJoCo, `srpo.robot.sim`) as an online-training world: `SimXArmSpec` is the EnvSpec,
`SimXArmEnv` the Env (`srpo_online_sim.protocols`). This module is all a simulator needs to join the trainer.

Observations are the simulator state the arm reports each tick, privileged object pose included
(`object0_pos`, `object0_quat`, `target0_pos`); the reward camera (`front` or `wrist`) is rendered once per
executed chunk, at its last step (a trajectory's video: the reset frame and one frame per decision). Policy
actions are 4-vectors [dx, dy, dz, gripper] (m per tick, gripper 0 open .. 1 closed); the tool keeps pointing
down (the scripted expert never rotates it either). The oracle is `srpo_offline.oracle` on the episode's final
state: 1 on success, otherwise the stage-wise progress in [0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srpo.errors import UserFacingError
from srpo_online_sim.protocols import StepResult

TASK_MAX_STEPS = {"lift": 80, "place": 160}  # control ticks per episode: the clean expert's ~55 / ~110 + margin
POLICY_ACTION_DIM = 4  # dx, dy, dz, gripper
MAX_STEP = 0.01  # m per tick: the policy's action range per axis (the expert moves at most 0.008 m per tick)
STATE_KEYS = ("robot0_eef_pos", "robot0_gripper_width", "object0_pos", "object0_quat", "target0_pos")


@dataclass(frozen=True)
class SimXArmSpec:
    """The simulated xArm tasks as an online-training world (picklable: it is sent to env workers)."""

    tasks: tuple[str, ...] = ("lift", "place")  # sim task names (srpo.robot.sim.tasks.TASKS); task id = index
    max_steps: int | None = None  # control ticks per episode; None = TASK_MAX_STEPS per task
    reward_camera: str = "front"  # camera rendered for the world-model reward: front | wrist
    image_size: int = 64  # side of the rendered reward frames (pixels)
    render: bool = True  # render reward frames (off: no frames, for runs that use no encoder)

    def __post_init__(self):
        from srpo.robot.sim.tasks import TASKS

        object.__setattr__(self, "tasks", tuple(self.tasks.split(",")) if isinstance(self.tasks, str) else
                           tuple(self.tasks))
        unknown = [t for t in self.tasks if t not in TASKS]
        if unknown or not self.tasks:
            raise UserFacingError(f"unknown sim tasks {unknown}: choose from {', '.join(TASKS)}")
        if self.reward_camera not in ("front", "wrist"):
            raise UserFacingError(f"reward_camera must be front or wrist, got {self.reward_camera!r}")

    def step_limit(self, task_id: int) -> int:
        return self.max_steps if self.max_steps is not None else TASK_MAX_STEPS[self.tasks[task_id]]

    # --- srpo_online_sim.protocols.EnvSpec ---
    def build(self) -> SimXArmEnv:
        return SimXArmEnv(self)

    def env_action(self, actions: np.ndarray) -> np.ndarray:
        """[..., 4] policy actions -> [..., 7] arm actions (no rotation)."""
        a = np.asarray(actions, dtype=np.float64)
        out = np.zeros((*a.shape[:-1], 7))
        out[..., :3] = np.clip(a[..., :3], -MAX_STEP, MAX_STEP)
        out[..., 6] = np.clip(a[..., 3], 0.0, 1.0)
        return out

    def instructions(self) -> list[str]:
        from srpo.robot.sim.tasks import TASKS

        return [TASKS[t].instruction for t in self.tasks]

    def trajectory_oracle(self, task_id: int, states: list[dict]) -> float:
        """Oracle progress of the episode's final state (1 on success): `srpo_offline.oracle`."""
        from srpo_offline.oracle import oracle_progress

        arrays = {k: np.stack([np.asarray(s[k]) for s in states]) for k in STATE_KEYS}
        return float(oracle_progress(arrays, self.tasks[task_id])[-1])


def state_vector(arm) -> np.ndarray:
    """The full simulator state a reset restores: qpos, qvel, actuator controls, the pad's mocap position."""
    d = arm.data
    return np.concatenate([d.qpos, d.qvel, d.ctrl, d.mocap_pos[0]]).astype(np.float64)


class SimXArmEnv:
    """One MuJoCo xArm scene per task (built on first use), driven chunk by chunk."""

    def __init__(self, spec: SimXArmSpec):
        import srpo.robot.sim  # noqa: F401 - headless rendering defaults before MuJoCo loads

        self.spec = spec
        self._arms: dict[int, object] = {}
        self._renderers: dict[int, object] = {}
        self.task_id: int | None = None
        self.steps = 0

    @property
    def arm(self):
        return self._arms[self.task_id]

    def _arm(self, task_id: int):
        if task_id not in self._arms:
            from srpo.robot.sim.arm import SimArm, SimArmConfig

            arm = SimArm(SimArmConfig(task=self.spec.tasks[task_id], camera_height=self.spec.image_size,
                                      camera_width=self.spec.image_size))
            arm.connect()
            self._arms[task_id] = arm
        return self._arms[task_id]

    def sample_init_state(self, task_id: int, seed: int) -> np.ndarray:
        arm = self._arm(task_id)
        arm.reset(seed=seed)
        return state_vector(arm)

    def reset(self, task_id: int, init_state: np.ndarray) -> StepResult:
        import mujoco
        from scipy.spatial.transform import Rotation

        arm = self._arm(task_id)
        self.task_id, self.steps = task_id, 0
        m, d = arm.model, arm.data
        state = np.asarray(init_state, dtype=np.float64)
        expected = m.nq + m.nv + m.nu + 3
        if state.shape != (expected,):
            raise UserFacingError(f"sim xArm initial state must have {expected} values (qpos, qvel, ctrl, pad), "
                                  f"got {state.shape}; take it from sample_init_state")
        with arm.lock:
            mujoco.mj_resetData(m, d)
            d.qpos[:] = state[: m.nq]
            d.qvel[:] = state[m.nq : m.nq + m.nv]
            d.ctrl[:] = state[m.nq + m.nv : m.nq + m.nv + m.nu]
            d.mocap_pos[0] = state[-3:]
            mujoco.mj_forward(m, d)
            arm.target_pos = d.site_xpos[arm._tcp].copy()
            arm.target_rot = Rotation.from_matrix(d.site_xmat[arm._tcp].reshape(3, 3))
            arm.gripper_cmd = 0.0
        return StepResult(frames=self._frames(), observations=[arm.get_observation()], steps=0)

    def step_chunk(self, actions: np.ndarray) -> StepResult:
        arm = self.arm
        limit = self.spec.step_limit(self.task_id)
        observations, success = [], False
        for action in np.atleast_2d(actions):
            arm.send_action(action if action.shape[-1] == 7 else self.spec.env_action(action))
            self.steps += 1
            observations.append(arm.get_observation())
            success = arm.success()
            if success or self.steps >= limit:
                break
        return StepResult(frames=self._frames(), observations=observations, steps=len(observations),
                          done=success or self.steps >= limit, success=success)

    def _frames(self) -> list[np.ndarray]:
        if not self.spec.render:
            return []
        import mujoco

        renderer = self._renderers.get(self.task_id)
        if renderer is None:
            size = self.spec.image_size
            renderer = self._renderers[self.task_id] = mujoco.Renderer(self.arm.model, size, size)
        renderer.update_scene(self.arm.data, camera=self.spec.reward_camera)
        return [renderer.render().copy()]

    def close(self) -> None:
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()
        for arm in self._arms.values():
            arm.disconnect()
        self._arms.clear()
