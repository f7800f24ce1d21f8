"""LeRobot `Robot`s over this project's arms: the real xArm 7 (srpo.robot.xarm_backend) and the simulated one.

Observations and actions are named so that a dataset `lerobot-record` writes imports with
`srpo data from-lerobot` through the export's own mapping (srpo.policy_io), plus LeRobot's motor suffixes
(.pos, .vel: lerobot-rollout hands a policy only features named so):
    observation.state  robot0_joint_pos_0.pos..6.pos, robot0_eef_pos_0.pos..2.pos, robot0_gripper_width_0.pos
    <camera>           H x W x 3 uint8, one per camera
    action             eef_delta_pos_0.vel..2.vel, axis_angle_0.vel..2.vel (steps per tick), gripper.pos
so a policy trained on the imported store (default --state-keys) takes exactly this robot's observation.
Every action passes srpo's SafetyFilter (workspace box, reach, speed and step limits, gripper range) before the
arm; a NaN or stale observation or command stops the arm and raises. LeRobot records the teleoperator's action
(lerobot_record.record_loop), not what the filter sent; send_action returns the filtered one.
"""

import logging
import threading
import time

import numpy as np
from lerobot.robots import Robot

from lerobot_robot_xarm7.config import XArm7Config, XArm7SimConfig
from srpo.policy_io import KEY_DIMS, STATE_KEYS, action_names, state_names
from srpo.robot.arm import ACTION_DIM, ACTION_SPACE, Arm
from srpo.robot.safety import SafetyFilter, SafetyStop

log = logging.getLogger(__name__)
ACTION_NAMES = [n + (".pos" if n == "gripper" else ".vel") for n in action_names(ACTION_SPACE, ACTION_DIM)]
STATE_NAMES = [n + ".pos" for n in state_names(STATE_KEYS, KEY_DIMS)]


def action_vector(action: dict) -> np.ndarray:
    """A LeRobot action dict (ACTION_NAMES) as the arm's 7-vector; a clear error when a name is missing."""
    missing = [n for n in ACTION_NAMES if n not in action]
    if missing:
        raise KeyError(f"action lacks {missing}; the xArm 7 robots take {ACTION_NAMES}")
    return np.array([float(action[n]) for n in ACTION_NAMES])


class SafeArmRobot(Robot):
    """What both robot types share: an srpo Arm behind the safety filter, plus named cameras."""

    def __init__(self, config, arm: Arm, cameras: dict):
        super().__init__(config)
        self.config = config
        self.arm = arm
        self.cameras = cameras  # name -> camera with async_read() (lerobot-record counts them)
        self.safety = SafetyFilter(config.safety, config.control_rate_hz)
        self._obs: dict | None = None
        self._obs_time = 0.0

    @property
    def _camera_shapes(self) -> dict[str, tuple]:
        raise NotImplementedError

    @property
    def observation_features(self) -> dict:
        return {**dict.fromkeys(STATE_NAMES, float), **self._camera_shapes}

    @property
    def action_features(self) -> dict:
        return dict.fromkeys(ACTION_NAMES, float)

    @property
    def is_connected(self) -> bool:
        return self.arm.is_connected

    @property
    def is_calibrated(self) -> bool:
        return True  # the controller is calibrated at the factory; cameras: `srpo calib`

    def calibrate(self) -> None:
        """Nothing to do here: camera calibration is `srpo calib` (docs/calibration.md)."""

    def configure(self) -> None:
        """connect() applies the controller's settings."""

    def connect(self, calibrate: bool = True) -> None:
        self.arm.connect()
        for camera in self.cameras.values():
            camera.connect()
        self.start_episode()

    def start_episode(self) -> None:
        """The filter's commanded position is where the tool is now; clears a latched stop."""
        obs = self.arm.get_observation()
        self.safety.reset(obs["robot0_eef_pos"], gripper=0.0)  # as srpo.robot.recorder starts an episode

    def clock(self) -> float:
        """The clock an observation's age is measured on (the host's; the simulator's in simulation)."""
        return time.monotonic()

    def get_observation(self) -> dict:
        obs = self.arm.get_observation()
        self._obs, self._obs_time = obs, self.clock()
        state = np.concatenate([np.asarray(obs[k], np.float32).reshape(-1) for k in STATE_KEYS])
        out = {name: float(v) for name, v in zip(STATE_NAMES, state)}
        for name, camera in self.cameras.items():
            out[name] = camera.async_read()
        return out

    def send_action(self, action: dict) -> dict:
        age = self.clock() - self._obs_time if self._obs is not None else float("inf")
        safe = self.safety.filter(action_vector(action), obs=self._obs, obs_age_s=age)
        sent = self.execute(safe)
        if self.safety.stopped:
            raise SafetyStop(f"the safety filter stopped the arm: {self.safety.stop_reason}; the recording ends "
                             "here (episodes already saved are kept)")
        if self.safety.last_report.clamped:
            log.debug("safety filter clamped %s", self.safety.last_report.clamped)
        return {name: float(v) for name, v in zip(ACTION_NAMES, sent)}

    def execute(self, safe: np.ndarray) -> np.ndarray:
        """Carry out one filtered step on the arm; returns what was commanded."""
        return self.arm.send_action(safe)

    def disconnect(self) -> None:
        for camera in self.cameras.values():
            camera.disconnect()
        self.arm.disconnect()


class ServoStream:
    """Streams the arm's servo commands at `rate_hz` in a thread of its own, whatever rate LeRobot's loop runs
    at: xArm servo mode wants small steps at 100-250 Hz (one 25 mm step faults the controller with C24, speed
    exceeds limit). Each filtered step is added to a pending motion; every servo tick moves at most the filter's
    speed limits allow in one servo period, so the motion is the same, spread over the period it was meant for."""

    def __init__(self, arm: Arm, lock: threading.Lock, rate_hz: float, max_linear_speed: float,
                 max_angular_speed: float):
        self.arm, self.lock, self.period = arm, lock, 1.0 / rate_hz
        self.max_step, self.max_rot = max_linear_speed / rate_hz, max_angular_speed / rate_hz
        self.pending = np.zeros(6)  # position (m) and axis-angle (rad) still to move
        self.gripper = 0.0
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="xarm7-servo")

    def start(self) -> None:
        self._thread.start()

    def add(self, step: np.ndarray) -> None:
        if self.error is not None:
            raise self.error
        with self.lock:
            self.pending += step[:6]
            self.gripper = float(step[6])

    def _run(self) -> None:
        next_t = time.monotonic()
        while not self._stop.is_set():
            with self.lock:
                move = self.pending.copy()
                for part, limit in ((slice(0, 3), self.max_step), (slice(3, 6), self.max_rot)):
                    norm = np.linalg.norm(move[part])
                    if norm > limit:
                        move[part] *= limit / norm
                self.pending -= move
                try:
                    self.arm.send_action(np.append(move, self.gripper))
                except Exception as err:  # noqa: BLE001 - raised in LeRobot's thread by the next send_action
                    self.error = err
                    return
            next_t += self.period
            self._stop.wait(max(next_t - time.monotonic(), 0.0))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)


class XArm7(SafeArmRobot):
    """A real xArm 7 (xarm-python-sdk, servo mode) with LeRobot cameras (`config.cameras`)."""

    config_class = XArm7Config
    name = "xarm7"

    def __init__(self, config: XArm7Config):
        from lerobot.cameras.utils import make_cameras_from_configs

        from srpo.robot.xarm_backend import XArmBackend

        super().__init__(config, XArmBackend(config.arm_config()), make_cameras_from_configs(config.cameras))
        self._lock = threading.Lock()  # one SDK call at a time: LeRobot's thread reads, the servo thread moves
        self._servo: ServoStream | None = None

    def connect(self, calibrate: bool = True) -> None:
        super().connect(calibrate)
        s = self.config.safety
        self._servo = ServoStream(self.arm, self._lock, self.config.servo_rate_hz, s.max_linear_speed,
                                  s.max_angular_speed)
        self._servo.start()

    def get_observation(self) -> dict:
        if self._servo is not None and self._servo.error is not None:
            raise self._servo.error
        with self._lock:
            return super().get_observation()

    def execute(self, safe: np.ndarray) -> np.ndarray:
        self._servo.add(safe)
        return safe

    def disconnect(self) -> None:
        if self._servo is not None:
            self._servo.stop()
            self._servo = None
        super().disconnect()

    @property
    def _camera_shapes(self) -> dict[str, tuple]:
        return {name: (cfg.height, cfg.width, 3) for name, cfg in self.config.cameras.items()}


class SimCameraReader:
    """A MuJoCo camera of the simulated arm with LeRobot's camera calls (connect / async_read / disconnect)."""

    def __init__(self, arm, camera: str):
        from srpo.robot.cameras import SimCamera

        self.camera = SimCamera(arm, camera)
        self.height, self.width = self.camera.height, self.camera.width

    def connect(self) -> None:
        self.camera.connect()

    def async_read(self, timeout_ms: float = 200) -> np.ndarray:
        return self.camera.read().rgb

    def disconnect(self) -> None:
        self.camera.disconnect()


class XArm7Sim(SafeArmRobot):
    """The MuJoCo xArm 7 (srpo.robot.sim) with its `front` and `wrist` cameras; `reset_scene()` re-places the
    objects (the scripted expert teleoperator calls it when it starts an attempt)."""

    config_class = XArm7SimConfig
    name = "xarm7_sim"

    def __init__(self, config: XArm7SimConfig):
        from srpo.robot.backends.sim import SIM_CAMERAS
        from srpo.robot.sim.arm import SimArm, SimArmConfig

        arm = SimArm(SimArmConfig(task=config.task, control_rate_hz=config.control_rate_hz, seed=config.seed,
                                  camera_height=config.camera_height, camera_width=config.camera_width))
        super().__init__(config, arm, {name: SimCameraReader(arm, name) for name in SIM_CAMERAS})
        LIVE_SIMS.append(self)

    @property
    def _camera_shapes(self) -> dict[str, tuple]:
        return {name: (self.config.camera_height, self.config.camera_width, 3) for name in self.cameras}

    def clock(self) -> float:
        return self.arm.time  # simulated seconds: nothing ages while the host computes

    def reset_scene(self) -> None:
        """A new attempt: objects re-placed, arm home, the safety filter restarted there."""
        self.arm.reset()
        self.start_episode()

    def disconnect(self) -> None:
        super().disconnect()
        if self in LIVE_SIMS:
            LIVE_SIMS.remove(self)


LIVE_SIMS: list[XArm7Sim] = []  # simulated robots of this process: the sim expert teleoperator drives the last one
