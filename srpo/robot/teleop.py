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


# Scripted operators: the clean expert and sloppy operators whose mistakes are systematic (a habit, not noise),
# so imitating everything learns the habit and weighting the data has something to recover. Each episode's
# operator is stored in the store (EpisodeInfo.meta["operator"]); the sim predicate labels the outcome.
OPERATOR_PROFILES: dict[str, str] = {
    "expert": "the clean plan: above the cube, down, close, lift (place: carry, lower, open)",
    "early_close": "closes 4.5-6.5 cm too high, lifts an empty gripper; notices and regrasps half of the time",
    "overshoot": "comes down 3-4 cm past the cube and sweeps into it, knocking it; regrasps half of the time",
    "dither": "hesitates: wavers 2-5 cm around the approach and carry waypoints, opening and closing on the way",
    "early_release": "opens too soon (lift: before the lift height; place: high above, short of the pad)",
    "explore": "random exploration segments (random motion and gripper) before and after the grasp",
}
GRASP_Z = 0.012  # m, tool height where the fingers close around the cube
_GOTO, _WANDER, _REGRASP = "goto", "wander", "regrasp"


def parse_operator_mix(spec: str) -> dict[str, float]:
    """"expert:0.3,early_close:0.2" -> {"expert": 0.3, "early_close": 0.2} (ratios normalised to sum 1); a bare
    name means that operator alone."""
    mix: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, _, ratio = part.partition(":")
        name = name.strip()
        if name not in OPERATOR_PROFILES:
            raise UserFacingError(f"unknown operator {name!r}; choose from {', '.join(OPERATOR_PROFILES)}")
        try:
            value = float(ratio) if ratio else 1.0
        except ValueError as err:
            raise UserFacingError(f"operator ratio {part!r} must look like NAME:0.2") from err
        if value < 0:
            raise UserFacingError(f"operator ratio {part!r} is negative")
        mix[name] = mix.get(name, 0.0) + value
    total = sum(mix.values())
    if not mix or total <= 0:
        raise UserFacingError(f"--operator {spec!r} names no operator with a positive ratio, e.g. expert:0.5,dither:0.5")
    return {k: v / total for k, v in mix.items()}


def operator_schedule(mix: dict[str, float], episodes: int, seed: int) -> list[str]:
    """The operator of each episode: counts as close to the ratios as whole episodes allow (largest
    remainder), in an order shuffled by the seed, so a mix is met exactly, not only on average."""
    names = list(mix)
    exact = np.array([mix[n] * episodes for n in names])
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: episodes - counts.sum()]:
        counts[i] += 1
    order = [n for n, c in zip(names, counts, strict=True) for _ in range(c)]
    return [order[i] for i in np.random.default_rng(seed).permutation(episodes)]


class ScriptedExpert(Teleop):
    """Waypoint operator for the sim tasks, reading the cube and pad poses from the simulator.

    `profile` picks the operator (OPERATOR_PROFILES). On top of it, `config.noise` scales a human's random
    errors: a misjudged cube position (the grasp misses or slips), a shaky hand, sometimes closing too early.
    The plan is a list of steps: ("goto", target, gripper, min ticks), ("wander", ticks, None, 0) (random
    motion), ("regrasp", None, 0, 0) (re-plan the grasp from where the cube is now).
    """

    def __init__(self, task: str, config: ExpertConfig = ExpertConfig(), seed: int = 0, profile: str = "expert"):
        if profile not in OPERATOR_PROFILES:
            raise UserFacingError(f"unknown operator {profile!r}; choose from {', '.join(OPERATOR_PROFILES)}")
        self.task = task
        self.config = config
        self.profile = profile
        self.rng = np.random.default_rng(seed)
        self.arm = None
        self._plan: list[tuple] = []
        self._phase = 0
        self._ticks = 0
        self._grip = 0.0
        self._wander_dir = np.zeros(3)

    # --- the plan ------------------------------------------------------------------------------------------
    def _grasp_steps(self, seen: np.ndarray, grasp_z: float) -> list[tuple]:
        up = np.array([0, 0, 0.10])
        grasp = np.array([seen[0], seen[1], grasp_z])
        return [(_GOTO, seen + up, 0.0, 3), (_GOTO, grasp, 0.0, 4), (_GOTO, grasp, 1.0, 10)]

    def _carry_steps(self, pad: np.ndarray, offset: np.ndarray) -> list[tuple]:
        lift = self.arm.body_pos("cube") * [1, 1, 0] + [0, 0, 0.17]
        steps = [(_GOTO, lift, 1.0, 3)]
        if self.task == "place":
            place = pad + offset * 1.5
            place[2] = 0.03
            steps += [(_GOTO, place + [0, 0, 0.14], 1.0, 3), (_GOTO, place, 1.0, 3), (_GOTO, place, 0.0, 8),
                      (_GOTO, place + [0, 0, 0.10], 0.0, 3)]
        return steps

    def _profile_plan(self, cube: np.ndarray, pad: np.ndarray, offset: np.ndarray, grasp_z: float) -> list[tuple]:
        rng, seen = self.rng, cube + offset
        good = self._grasp_steps(seen, grasp_z)
        carry = self._carry_steps(pad, offset)
        recover = rng.random() < 0.5
        if self.profile == "early_close":
            high = self._grasp_steps(seen, GRASP_Z + rng.uniform(0.045, 0.065))
            lift_empty = (_GOTO, seen + [0, 0, 0.12], 1.0, 3)
            tail = [(_GOTO, seen + [0, 0, 0.12], 0.0, 3), (_REGRASP, None, 0, 0)] if recover else []
            return high + [lift_empty] + tail + carry[:1]
        if self.profile == "overshoot":
            angle = rng.uniform(0, 2 * np.pi)
            past = seen + np.array([np.cos(angle), np.sin(angle), 0]) * rng.uniform(0.03, 0.04)
            sweep_to = seen - (past - seen)
            knock = [(_GOTO, past + [0, 0, 0.10], 0.0, 3), (_GOTO, [past[0], past[1], 0.02], 0.0, 3),
                     (_GOTO, [sweep_to[0], sweep_to[1], 0.02], 0.0, 3), (_GOTO, sweep_to + [0, 0, 0.10], 0.0, 2)]
            if recover:
                return knock + [(_REGRASP, None, 0, 0)]
            return knock + [(_GOTO, [sweep_to[0], sweep_to[1], GRASP_Z], 1.0, 10)] + carry[:1]
        if self.profile == "dither":
            def wavers(point, grips):
                return [(_GOTO, point + np.append(rng.uniform(-0.05, 0.05, 2), rng.uniform(0.0, 0.04)), g, 2)
                        for g in grips]
            before = wavers(good[0][1], [1.0, 0.0, 1.0][: rng.integers(2, 4)])  # closes and reopens on the way
            during = wavers(carry[0][1], [1.0] * int(rng.integers(2, 4)))
            return before + good + during + carry
        if self.profile == "early_release":
            if self.task == "lift":
                low = self.arm.body_pos("cube") * [1, 1, 0] + [0, 0, rng.uniform(0.05, 0.08)]
                return good + [(_GOTO, low, 1.0, 2), (_GOTO, low, 0.0, 6), (_GOTO, low + [0, 0, 0.08], 0.0, 3)]
            short = cube + (pad - cube) * rng.uniform(0.3, 0.6)
            short[2] = rng.uniform(0.12, 0.16)
            return good + carry[:1] + [(_GOTO, short, 1.0, 2), (_GOTO, short, 0.0, 6)]
        if self.profile == "explore":
            wander = (_WANDER, int(rng.integers(15, 30)), None, 0)
            return [wander, (_REGRASP, None, 0, 0)] if rng.random() < 0.5 else good + [wander, (_REGRASP, None, 0, 0)]
        return good + carry

    def reset(self, arm) -> None:
        c, n = self.config, self.config.noise
        self.arm = arm
        cube = arm.body_pos("cube")
        self._pad = arm.data.mocap_pos[0].copy()
        self._offset = np.append(self.rng.normal(0, c.grasp_offset_std * n, 2), 0.0)
        grasp_z = GRASP_Z + self.rng.uniform(0.01, 0.04) * n if self.rng.random() < 0.2 * n else GRASP_Z
        self._grip = 0.0
        self._plan = self._profile_plan(cube, self._pad, self._offset, grasp_z)
        self._phase, self._ticks = 0, 0

    def _regrasp(self) -> None:
        """Replace the rest of the plan by a clean grasp (and carry) from where the cube lies now."""
        seen = self.arm.body_pos("cube") + self._offset
        self._plan[self._phase:] = self._grasp_steps(seen, GRASP_Z)
        self._plan += self._carry_steps(self._pad, self._offset)

    def act(self, obs: dict) -> np.ndarray | None:
        c = self.config
        action = np.zeros(ACTION_DIM)
        while self._phase < len(self._plan) and self._plan[self._phase][0] == _REGRASP:
            self._regrasp()
        if self._phase >= len(self._plan):
            action[6] = self._grip
            return action
        kind, target, grip, min_ticks = self._plan[self._phase]
        self._ticks += 1
        if kind == _WANDER:
            if self._ticks % 8 == 1:  # a new random heading (and gripper) every 8 ticks
                self._wander_dir = self.rng.normal(0, 1, 3) * [1, 1, 0.5]
                self._grip = float(self.rng.random() < 0.3)
            step = c.max_step * self._wander_dir / max(np.linalg.norm(self._wander_dir), 1e-9)
            low = obs["robot0_eef_pos"][2] + step[2] < GRASP_Z
            action[:3] = step * [1, 1, 0 if low else 1]
            action[6] = self._grip
            if self._ticks >= target:
                self._phase, self._ticks = self._phase + 1, 0
            return action
        delta = np.asarray(target) - obs["robot0_eef_pos"]
        step = c.gain * delta
        norm = np.linalg.norm(step)
        if norm > c.max_step:
            step *= c.max_step / norm
        step += self.rng.normal(0, c.action_std * c.noise, 3)
        action[:3] = step
        action[6] = self._grip = grip
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

    def build(self, rig, expert_noise: float, seed: int, operator: str = "expert") -> Teleop:
        raise NotImplementedError


@TeleopConfig.register_subclass("expert")
@dataclass(frozen=True)
class ExpertTeleopConfig(TeleopConfig):
    """The simulator's scripted noisy expert (its noise scale is RecordConfig.expert_noise)."""

    def check(self, rig) -> None:
        if rig.make_expert is None:
            raise UserFacingError("the scripted expert needs the simulator; use --teleop keyboard|spacemouse")

    def build(self, rig, expert_noise: float, seed: int, operator: str = "expert") -> Teleop:
        self.check(rig)
        if operator == "expert":
            return rig.make_expert(expert_noise, seed)
        if operator not in rig.operators:
            raise UserFacingError(f"this rig's scripted expert plays no operator {operator!r}; it has {rig.operators}")
        return rig.make_expert(expert_noise, seed, operator)


@TeleopConfig.register_subclass("keyboard")
@dataclass(frozen=True)
class KeyboardTeleopConfig(TeleopConfig):
    """The terminal keyboard."""

    step: float = 0.01  # metres per key press

    def build(self, rig, expert_noise: float, seed: int, operator: str = "expert") -> Teleop:
        return KeyboardTeleop(step=self.step)


@TeleopConfig.register_subclass("spacemouse")
@dataclass(frozen=True)
class SpaceMouseTeleopConfig(TeleopConfig):
    """A 3Dconnexion SpaceMouse."""

    max_step: float = 0.01  # metres per tick at full deflection
    max_rot_step: float = 0.05  # radians per tick at full deflection

    def build(self, rig, expert_noise: float, seed: int, operator: str = "expert") -> Teleop:
        return SpaceMouseTeleop(max_step=self.max_step, max_rot_step=self.max_rot_step)


def teleop_config(name: str, **settings) -> TeleopConfig:
    """The teleop config registered as `name`; settings it has no field for are ignored."""
    return choice_config(TeleopConfig, name, "teleop", **settings)
