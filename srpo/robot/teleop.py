"""Where commands come from while recording: a scripted noisy expert (sim), keyboard, or a 3Dconnexion SpaceMouse.

Every source implements `Teleop`: `reset(arm)` at an episode start, `act(obs) -> action | None` each tick
(None: nothing new, hold), and `events()` for operator requests ("success", "failure", "stop"). Keyboard and
SpaceMouse carry a deadman: commands only pass while it is held, otherwise act() returns None. Each source is
registered by name (`TeleopConfig`: "expert", "keyboard", "spacemouse").
"""

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass

import draccus
import numpy as np

from srpo.configs import choice_config
from srpo.errors import UserFacingError
from srpo.robot.arm import ACTION_DIM


class Teleop(ABC):
    """A source of actions for the recorder."""

    def reset(self, arm) -> None:  # noqa: B027 - optional hook
        """Called at each episode start with the arm about to be driven."""

    @abstractmethod
    def act(self, obs: dict) -> np.ndarray | None:
        """The next action for this observation, or None to hold."""

    def events(self) -> list[str]:
        """Operator events since the last call: "success", "failure", "stop"."""
        return []

    @property
    def done(self) -> bool:
        """The source has nothing more to do this episode (the scripted expert finished)."""
        return False


@dataclass(frozen=True)
class ExpertConfig:
    """Noise of the scripted expert; noise=0 is a clean expert, ~1 fails roughly half of the episodes."""

    noise: float = 1.0  # scale of every perturbation below
    grasp_offset_std: float = 0.02  # m, per-episode error of where the expert thinks the cube is (x and y)
    action_std: float = 0.0015  # m, per-step Gaussian noise on the position step
    max_step: float = 0.008  # m per tick the expert moves at most
    gain: float = 0.35  # fraction of the remaining distance covered per tick


class ScriptedExpert(Teleop):
    """Waypoint expert for the sim tasks, reading the cube and pad poses from the simulator.

    Failures come from the noise, as a human's would: a misjudged cube position (the grasp misses or slips),
    a shaky hand, and sometimes closing the gripper too early.
    """

    def __init__(self, task: str, config: ExpertConfig = ExpertConfig(), seed: int = 0):
        self.task = task
        self.config = config
        self.rng = np.random.default_rng(seed)
        self.arm = None
        self._plan: list[tuple[np.ndarray, float, int]] = []  # (tcp target, gripper closure, min ticks)
        self._phase = 0
        self._ticks = 0

    def reset(self, arm) -> None:
        c, n = self.config, self.config.noise
        self.arm = arm
        cube = arm.body_pos("cube")
        pad = arm.data.mocap_pos[0].copy()
        offset = np.append(self.rng.normal(0, c.grasp_offset_std * n, 2), 0.0)
        seen = cube + offset
        grasp_z = 0.012 + self.rng.uniform(0.01, 0.04) * n if self.rng.random() < 0.2 * n else 0.012
        up = np.array([0, 0, 0.10])
        grasp = seen.copy()
        grasp[2] = grasp_z
        self._plan = [(seen + up, 0.0, 3), (grasp, 0.0, 4), (grasp, 1.0, 10), (grasp + [0, 0, 0.16], 1.0, 3)]
        if self.task == "place":
            place = pad + offset * 1.5
            place[2] = 0.03
            self._plan += [(place + [0, 0, 0.14], 1.0, 3), (place, 1.0, 3), (place, 0.0, 8), (place + up, 0.0, 3)]
        self._phase, self._ticks = 0, 0

    def act(self, obs: dict) -> np.ndarray | None:
        c = self.config
        action = np.zeros(ACTION_DIM)
        if self._phase >= len(self._plan):
            action[6] = self._plan[-1][1] if self._plan else 0.0
            return action
        target, grip, min_ticks = self._plan[self._phase]
        delta = target - obs["robot0_eef_pos"]
        step = c.gain * delta
        norm = np.linalg.norm(step)
        if norm > c.max_step:
            step *= c.max_step / norm
        step += self.rng.normal(0, c.action_std * c.noise, 3)
        action[:3] = step
        action[6] = grip
        self._ticks += 1
        if np.linalg.norm(delta) < 0.006 and self._ticks >= min_ticks:
            self._phase, self._ticks = self._phase + 1, 0
        return action

    @property
    def done(self) -> bool:
        return self._phase >= len(self._plan)


class KeyboardTeleop(Teleop):
    """Terminal keyboard teleop (no display needed): w/s x, a/d y, r/f z, space toggles the gripper,
    y/n label success/failure, q stops. Each key press is one step; the deadman is "a key arrived recently"."""

    KEYS = {"w": (0, 1), "s": (0, -1), "a": (1, 1), "d": (1, -1), "r": (2, 1), "f": (2, -1)}

    def __init__(self, step: float = 0.01, stream=None):
        import sys

        self.step = step
        self.stream = stream or sys.stdin
        if stream is None and sys.stdin.isatty():
            import atexit
            import termios
            import tty

            saved = termios.tcgetattr(sys.stdin)
            tty.setcbreak(sys.stdin)  # one key at a time, no Enter needed
            atexit.register(termios.tcsetattr, sys.stdin, termios.TCSADRAIN, saved)
        self._keys: list[str] = []
        self._events: list[str] = []
        self._gripper = 0.0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            ch = self.stream.read(1)
            if not ch:
                return
            with self._lock:
                self._keys.append(ch.lower())

    def act(self, obs: dict) -> np.ndarray | None:
        with self._lock:
            keys, self._keys = self._keys, []
        if not keys:
            return None  # deadman released: nothing pressed since the last tick
        action = np.zeros(ACTION_DIM)
        for key in keys:
            if key in self.KEYS:
                axis, sign = self.KEYS[key]
                action[axis] += sign * self.step
            elif key == " ":
                self._gripper = 1.0 - self._gripper
            elif key in "ynq":
                self._events.append({"y": "success", "n": "failure", "q": "stop"}[key])
        action[6] = self._gripper
        return action

    def events(self) -> list[str]:
        events, self._events = self._events, []
        return events


class SpaceMouseTeleop(Teleop):
    """3Dconnexion SpaceMouse over HID (package hidapi, the `robot` extra). The left button is the deadman,
    the right button toggles the gripper."""

    VENDOR_IDS = (0x046D, 0x256F)  # Logitech (older SpaceMouse), 3Dconnexion

    def __init__(self, max_step: float = 0.01, max_rot_step: float = 0.05):
        try:
            import hid
        except ImportError as err:
            raise UserFacingError("SpaceMouse needs hidapi: pip install 'srpo[robot]' (hidapi==0.15.0)") from err
        devices = [d for d in hid.enumerate() if d["vendor_id"] in self.VENDOR_IDS]
        if not devices:
            raise UserFacingError("no SpaceMouse found; plug it in and check udev permissions for hidraw")
        self._dev = hid.device()
        self._dev.open_path(devices[0]["path"])
        self._dev.set_nonblocking(True)
        self.max_step, self.max_rot_step = max_step, max_rot_step
        self._motion = np.zeros(6)
        self._buttons = 0
        self._gripper = 0.0

    def _poll(self) -> None:
        while report := self._dev.read(13):
            values = np.frombuffer(bytes(report[1:13]), dtype="<i2").astype(float) / 350.0
            if report[0] == 1 and len(report) >= 13:  # newer devices: translation and rotation in one report
                self._motion = values[:6]
            elif report[0] == 1:
                self._motion[:3] = values[:3]
            elif report[0] == 2:
                self._motion[3:] = values[:3]
            elif report[0] == 3:
                pressed = report[1]
                if pressed & 2 and not self._buttons & 2:
                    self._gripper = 1.0 - self._gripper
                self._buttons = pressed

    def act(self, obs: dict) -> np.ndarray | None:
        self._poll()
        if not self._buttons & 1:
            return None  # deadman (left button) not held
        action = np.zeros(ACTION_DIM)
        # device axes: x right, y forward, z up -> base frame: x forward, y left, z up
        action[:3] = np.clip([self._motion[1], -self._motion[0], self._motion[2]], -1, 1) * self.max_step
        action[3:6] = np.clip([self._motion[4], -self._motion[3], self._motion[5]], -1, 1) * self.max_rot_step
        action[6] = self._gripper
        return action


@dataclass(frozen=True)
class TeleopConfig(draccus.ChoiceRegistry):
    """A command source chosen by name (`--teleop keyboard`), as LeRobot registers its teleoperators."""

    def check(self, rig) -> None:
        """Refuse, before anything connects, a source this rig cannot serve."""

    def build(self, rig, expert_noise: float, seed: int) -> Teleop:
        raise NotImplementedError


@TeleopConfig.register_subclass("expert")
@dataclass(frozen=True)
class ExpertTeleopConfig(TeleopConfig):
    """The simulator's scripted noisy expert (its noise scale is RecordConfig.expert_noise)."""

    def check(self, rig) -> None:
        if rig.make_expert is None:
            raise UserFacingError("the scripted expert needs the simulator; use --teleop keyboard|spacemouse")

    def build(self, rig, expert_noise: float, seed: int) -> Teleop:
        self.check(rig)
        return rig.make_expert(expert_noise, seed)


@TeleopConfig.register_subclass("keyboard")
@dataclass(frozen=True)
class KeyboardTeleopConfig(TeleopConfig):
    """The terminal keyboard."""

    step: float = 0.01  # metres per key press

    def build(self, rig, expert_noise: float, seed: int) -> Teleop:
        return KeyboardTeleop(step=self.step)


@TeleopConfig.register_subclass("spacemouse")
@dataclass(frozen=True)
class SpaceMouseTeleopConfig(TeleopConfig):
    """A 3Dconnexion SpaceMouse."""

    max_step: float = 0.01  # metres per tick at full deflection
    max_rot_step: float = 0.05  # radians per tick at full deflection

    def build(self, rig, expert_noise: float, seed: int) -> Teleop:
        return SpaceMouseTeleop(max_step=self.max_step, max_rot_step=self.max_rot_step)


def teleop_config(name: str, **settings) -> TeleopConfig:
    """The teleop config registered as `name`; settings it has no field for are ignored."""
    return choice_config(TeleopConfig, name, "teleop", **settings)
