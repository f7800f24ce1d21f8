"""What the control loop runs on: a backend config, registered by name, builds a `Rig` (arm, cameras, predicate).

Backends are registered as LeRobot registers its cameras and robots (`CameraConfig.register_subclass`, a
`draccus.ChoiceRegistry`): `--backend xarm` on the command line selects `XArmBackendConfig`. The loop asks the
built `Rig` what it needs (simulated or not, its clock, how to start an episode) and never tests a name.
Adding a robot: one module under srpo/robot/backends/ plus one line in `BACKEND_MODULES` (docs/adding_a_robot.md).
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import draccus

from srpo.configs import choice_config
from srpo.robot.arm import CONTROL_RATE_HZ, Arm
from srpo.robot.safety import SafetyConfig

# The registry: one module per backend; importing it registers its config by name.
BACKEND_MODULES = ("srpo.robot.backends.sim", "srpo.robot.backends.xarm")


@dataclass
class Rig:
    """A built (not yet connected) robot: the arm, its cameras and what the loop needs to know about it."""

    arm: Arm  # the arm every command goes to
    cameras: dict  # camera name (camera0, camera1, ...) -> srpo.robot.cameras.Camera
    success_fn: Callable[[], bool] | None = None  # the task's success predicate; None: a human labels episodes
    is_simulated: bool = False  # a simulator: scripted expert available, no wall-clock pacing by default
    clock: Callable[[], float] | None = None  # the loop's clock (simulated time); None: the host clock
    reset: Callable[[], None] = lambda: None  # called before every episode (a simulator re-places objects)
    make_expert: Callable[..., object] | None = None  # (noise, seed[, operator]) -> scripted expert teleop, if any
    operators: tuple[str, ...] = ("expert",)  # scripted operator profiles make_expert can play (the third argument)

    @property
    def source(self) -> str:
        """The `source` recorded with teleop episodes on this rig."""
        return "sim" if self.is_simulated else "teleop"

    def connect(self) -> None:
        self.arm.connect()
        for camera in self.cameras.values():
            camera.connect()

    def disconnect(self) -> None:
        for camera in self.cameras.values():
            camera.disconnect()
        self.arm.disconnect()


@dataclass(frozen=True)
class BackendConfig(draccus.ChoiceRegistry):
    """Base of the backend configs; a subclass registers with `@BackendConfig.register_subclass(NAME)`."""

    @property
    def name(self) -> str:
        return self.get_choice_name(type(self))

    def instruction(self, task: str) -> str:
        """The language instruction stored with episodes for `--task` (a real arm: the text itself)."""
        return task

    def build(self, rig: "RigConfig") -> Rig:
        raise NotImplementedError


def load_backends() -> dict[str, type]:
    """Name -> config class of every registered backend."""
    for module in BACKEND_MODULES:
        importlib.import_module(module)
    return dict(BackendConfig.get_known_choices())


def backend_config(name: str, **settings) -> BackendConfig:
    """The config of the backend registered as `name`; `settings` it has no field for are ignored."""
    load_backends()
    return choice_config(BackendConfig, name, "backend", **settings)


@dataclass(frozen=True)
class RigConfig:
    """The hardware (or simulation) under the loop."""

    backend: BackendConfig = field(default_factory=lambda: backend_config("sim"))  # the arm: sim (MuJoCo xArm 7) or xarm (a real one)
    task: str = "lift"  # sim task name (sim) or the instruction text (a real arm)
    seed: int = 0  # sim: seed of object placement (and of the expert's noise)
    control_rate_hz: float = CONTROL_RATE_HZ  # control ticks per second (a real xArm wants 100+)
    max_steps: int = 200  # ticks per episode at most
    camera_height: int = 96  # image rows recorded
    camera_width: int = 128  # image columns recorded
    realtime: bool | None = None  # pace ticks on the wall clock; None: on a real arm, not in simulation
    safety: SafetyConfig = field(default_factory=SafetyConfig)  # limits of the safety filter

    def __post_init__(self):
        if isinstance(self.backend, str):  # Python callers may name the backend: RigConfig(backend="sim")
            object.__setattr__(self, "backend", backend_config(self.backend))


def build_rig(config: RigConfig) -> Rig:
    """The arm, cameras and predicate of `config.backend`, not yet connected."""
    return config.backend.build(config)


load_backends()
