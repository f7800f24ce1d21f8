"""The simulated xArm 7: MuJoCo physics behind the same Arm interface as the real arm.

Actions are integrated onto a commanded tool pose (like the real arm's servo target); damped least-squares IK
turns that pose into joint targets for position servos, and physics runs `substeps` steps per control tick.
Time is simulated: a tick costs what MuJoCo needs, so recording runs faster than real time when it can.
"""

import threading
from dataclasses import dataclass

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from srpo.robot.arm import ACTION_DIM, CONTROL_RATE_HZ, Arm, ArmError
from srpo.robot.sim.scene import HOME_QPOS, SceneOptions, scene_xml
from srpo.robot.sim.tasks import TASKS, SimTask, get_task
from srpo.robot.xarm_backend import GRIPPER_MAX_WIDTH

# Privileged simulator state, recorded with every sim episode (real recordings lack it): the cube's pose and
# the goal (the green pad's centre; for lift it lies off the working area and plays no part).
PRIVILEGED_KEYS = {"object0_pos": 3, "object0_quat": 4, "target0_pos": 3}
TOOL_DOWN = Rotation.from_euler("x", np.pi)  # tool z pointing at the table, fingers closing along base y


@dataclass(frozen=True)
class SimArmConfig:
    """How the simulated arm and its scene behave."""

    task: str = "lift"  # one of sim.tasks.TASKS
    control_rate_hz: float = CONTROL_RATE_HZ  # control ticks per simulated second
    camera_height: int = 96  # rows of the simulated camera renders
    camera_width: int = 128  # columns of the simulated camera renders
    seed: int = 0  # seed of the first reset; later resets draw from the same generator


class SimArm(Arm):
    """A MuJoCo xArm 7 with gripper on a table; `world` (model, data, lock) is shared with the sim cameras."""

    name = "sim"

    def __init__(self, config: SimArmConfig = SimArmConfig()):
        if config.task not in TASKS:
            raise ArmError(f"unknown sim task {config.task!r}; choose one of {sorted(TASKS)}")
        self.config = config
        self.model = mujoco.MjModel.from_xml_string(
            scene_xml(SceneOptions(camera_height=config.camera_height, camera_width=config.camera_width)))
        self.data = mujoco.MjData(self.model)
        self._scratch = mujoco.MjData(self.model)  # IK works here, never on the simulated state
        self.lock = threading.Lock()  # held while physics steps; cameras hold it while copying the scene
        self.task: SimTask = get_task(config.task)
        self.rng = np.random.default_rng(config.seed)
        self.substeps = max(1, round(1.0 / (config.control_rate_hz * self.model.opt.timestep)))
        self._arm_qadr = np.array([self.model.joint(f"joint{i}").qposadr[0] for i in range(1, 8)])
        self._arm_dadr = np.array([self.model.joint(f"joint{i}").dofadr[0] for i in range(1, 8)])
        self._finger_qadr = self.model.joint("left_finger").qposadr[0]
        self._tcp = self.model.site("tcp").id
        limits = np.array([self.model.joint(f"joint{i}").range for i in range(1, 8)])
        self._lo, self._hi = limits[:, 0], limits[:, 1]
        self._connected = False
        self.target_pos = np.zeros(3)
        self.target_rot = TOOL_DOWN
        self.gripper_cmd = 0.0

    # --- Arm interface -------------------------------------------------------------------------------------
    def connect(self) -> None:
        self._connected = True
        self.reset()

    @property
    def is_connected(self) -> bool:
        return self._connected

    def disconnect(self) -> None:
        self._connected = False

    def reset(self, seed: int | None = None) -> None:
        """New episode: home posture, gripper open, objects placed by the task from the arm's generator."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        with self.lock:
            mujoco.mj_resetData(self.model, self.data)
            self.data.qpos[self._arm_qadr] = HOME_QPOS
            self.data.ctrl[:7] = HOME_QPOS
            right = self.model.joint("right_finger").qposadr[0]
            self.data.qpos[[self._finger_qadr, right]] = GRIPPER_MAX_WIDTH / 2
            self.data.ctrl[7] = GRIPPER_MAX_WIDTH / 2
            self.task.place_objects(self.model, self.data, self.rng)
            mujoco.mj_forward(self.model, self.data)
            self.target_pos = self.data.site_xpos[self._tcp].copy()
            self.target_rot = Rotation.from_matrix(self.data.site_xmat[self._tcp].reshape(3, 3))
            self.gripper_cmd = 0.0
        self.task.on_reset(self)
        for _ in range(5):  # let the cube settle on the table
            self._step_physics()

    def get_observation(self) -> dict[str, np.ndarray | float]:
        self._require_connected()
        with self.lock:
            rot = Rotation.from_matrix(self.data.site_xmat[self._tcp].reshape(3, 3))
            return {
                "robot0_joint_pos": self.data.qpos[self._arm_qadr].astype(np.float32),
                "robot0_eef_pos": self.data.site_xpos[self._tcp].astype(np.float32),
                "robot0_eef_rot_axis_angle": rot.as_rotvec().astype(np.float32),
                "robot0_gripper_width": np.array([2 * self.data.qpos[self._finger_qadr]], np.float32),
                "robot_timestamp": float(self.data.time),
                "object0_pos": self.data.body("cube").xpos.astype(np.float32),
                "object0_quat": self.data.body("cube").xquat.astype(np.float32),  # w, x, y, z
                "target0_pos": self.data.mocap_pos[0].astype(np.float32),
            }

    def extra_state_keys(self) -> dict[str, int]:
        return dict(PRIVILEGED_KEYS)

    def send_action(self, action: np.ndarray) -> np.ndarray:
        self._require_connected()
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (ACTION_DIM,) or not np.all(np.isfinite(action)):
            raise ArmError(f"sim arm needs a finite {ACTION_DIM}-vector action, got {action!r}")
        self.target_pos = self.target_pos + action[:3]
        self.target_rot = Rotation.from_rotvec(action[3:6]) * self.target_rot
        self.gripper_cmd = float(np.clip(action[6], 0.0, 1.0))
        q_target = self._solve_ik(self.target_pos, self.target_rot)
        with self.lock:
            self.data.ctrl[:7] = q_target
            self.data.ctrl[7] = (1.0 - self.gripper_cmd) * GRIPPER_MAX_WIDTH / 2
        self._step_physics()
        return action.astype(np.float32)

    # --- simulation helpers --------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        return float(self.data.time)

    def success(self) -> bool:
        """The task's success predicate on the current state."""
        return self.task.success(self)

    def body_pos(self, name: str) -> np.ndarray:
        return self.data.body(name).xpos.copy()

    def _require_connected(self) -> None:
        if not self._connected:
            raise ArmError("sim arm is not connected; call connect() first")

    def _step_physics(self) -> None:
        with self.lock:
            mujoco.mj_step(self.model, self.data, nstep=self.substeps)

    def _solve_ik(self, pos: np.ndarray, rot: Rotation, iters: int = 4, damping: float = 0.05) -> np.ndarray:
        """Damped least-squares IK from the current joints, with a pull toward the home posture in the null space."""
        m, s = self.model, self._scratch
        q = self.data.qpos[self._arm_qadr].copy()
        jacp, jacr = np.zeros((3, m.nv)), np.zeros((3, m.nv))
        home = np.asarray(HOME_QPOS)
        for _ in range(iters):
            s.qpos[self._arm_qadr] = q
            mujoco.mj_kinematics(m, s)
            mujoco.mj_comPos(m, s)
            err_p = pos - s.site_xpos[self._tcp]
            cur = Rotation.from_matrix(s.site_xmat[self._tcp].reshape(3, 3))
            err_r = (rot * cur.inv()).as_rotvec()
            mujoco.mj_jacSite(m, s, jacp, jacr, self._tcp)
            jac = np.vstack([jacp[:, self._arm_dadr], jacr[:, self._arm_dadr]])
            err = np.concatenate([err_p, err_r])
            jjt = jac @ jac.T + damping**2 * np.eye(6)
            pinv = jac.T @ np.linalg.solve(jjt, np.eye(6))
            dq = pinv @ err + (np.eye(7) - pinv @ jac) @ (0.1 * (home - q))
            q = np.clip(q + dq, self._lo, self._hi)
        return q
