"""This project's command sources (srpo.robot.teleop) as LeRobot teleoperators for the xArm 7 robots.

Each yields the robots' action dict (eef_delta_pos_0..2, axis_angle_0..2, gripper). Keyboard and SpaceMouse keep
their deadman: with nothing pressed (keyboard) or the left button released (SpaceMouse) they send a hold (no
motion, gripper unchanged). Their success/failure keys have no place in LeRobot's loop: label afterwards with
`srpo data label` or `srpo data from-lerobot --labels`.
"""

from dataclasses import dataclass

import numpy as np
from lerobot.teleoperators import Teleoperator, TeleoperatorConfig

from lerobot_robot_xarm7.robot import ACTION_NAMES, LIVE_SIMS
from srpo.errors import UserFacingError
from srpo.robot import teleop as srpo_teleop
from srpo.robot.arm import ACTION_DIM


@TeleoperatorConfig.register_subclass("xarm7_keyboard")
@dataclass(kw_only=True)
class XArm7KeyboardConfig(TeleoperatorConfig):
    """The terminal keyboard (w/s x, a/d y, r/f z, space toggles the gripper): one step per key press."""

    step: float = srpo_teleop.KeyboardTeleopConfig.step  # metres per key press


@TeleoperatorConfig.register_subclass("xarm7_spacemouse")
@dataclass(kw_only=True)
class XArm7SpaceMouseConfig(TeleoperatorConfig):
    """A 3Dconnexion SpaceMouse (left button: deadman, right button: gripper)."""

    max_step: float = srpo_teleop.SpaceMouseTeleopConfig.max_step  # metres per tick at full deflection
    max_rot_step: float = srpo_teleop.SpaceMouseTeleopConfig.max_rot_step  # radians per tick at full deflection


@TeleoperatorConfig.register_subclass("xarm7_sim_expert")
@dataclass(kw_only=True)
class XArm7SimExpertConfig(TeleoperatorConfig):
    """The simulator's scripted operator driving `--robot.type=xarm7_sim` in the same process. When its plan is
    finished it re-places the objects and starts a new attempt (LeRobot's loop has no episode-start hook)."""

    noise: float = srpo_teleop.ExpertConfig.noise  # scale of the operator's random errors (0: clean)
    operator: str = "expert"  # operator profile (srpo.robot.teleop.OPERATOR_PROFILES)
    seed: int = 0  # seed of the first attempt's noise; each new attempt adds one


class _SourceTeleoperator(Teleoperator):
    """A srpo Teleop (act(obs) -> 7-vector or None) behind LeRobot's Teleoperator calls."""

    def __init__(self, config):
        super().__init__(config)
        self.config = config
        self.source: srpo_teleop.Teleop | None = None
        self._gripper = 0.0

    def _open(self) -> srpo_teleop.Teleop:
        raise NotImplementedError

    def _observation(self) -> dict:
        return {}  # keyboard and SpaceMouse do not look at the arm

    @property
    def action_features(self) -> dict:
        return dict.fromkeys(ACTION_NAMES, float)

    @property
    def feedback_features(self) -> dict:
        return {}

    @property
    def is_connected(self) -> bool:
        return self.source is not None

    @property
    def is_calibrated(self) -> bool:
        return True

    def calibrate(self) -> None:
        """Nothing to calibrate."""

    def configure(self) -> None:
        """Nothing to configure."""

    def connect(self, calibrate: bool = True) -> None:
        self.source = self._open()

    def get_action(self) -> dict:
        action = self.source.act(self._observation())
        if action is None:  # deadman released: hold still, gripper as it was
            action = np.zeros(ACTION_DIM)
            action[6] = self._gripper
        self._gripper = float(action[6])
        return {name: float(v) for name, v in zip(ACTION_NAMES, action)}

    def send_feedback(self, feedback: dict) -> None:
        """No force feedback."""

    def disconnect(self) -> None:
        self.source = None


class XArm7Keyboard(_SourceTeleoperator):
    config_class = XArm7KeyboardConfig
    name = "xarm7_keyboard"

    def _open(self) -> srpo_teleop.Teleop:
        return srpo_teleop.KeyboardTeleop(step=self.config.step)


class XArm7SpaceMouse(_SourceTeleoperator):
    config_class = XArm7SpaceMouseConfig
    name = "xarm7_spacemouse"

    def _open(self) -> srpo_teleop.Teleop:
        return srpo_teleop.SpaceMouseTeleop(max_step=self.config.max_step, max_rot_step=self.config.max_rot_step)


class XArm7SimExpert(_SourceTeleoperator):
    config_class = XArm7SimExpertConfig
    name = "xarm7_sim_expert"

    def __init__(self, config: XArm7SimExpertConfig):
        super().__init__(config)
        self.attempts = 0  # attempts started (the scene was re-placed for each)

    def connect(self, calibrate: bool = True) -> None:
        if self.config.operator not in srpo_teleop.OPERATOR_PROFILES:
            raise UserFacingError(f"unknown operator {self.config.operator!r}; choose from "
                                  f"{', '.join(srpo_teleop.OPERATOR_PROFILES)}")
        self.source = None  # the first get_action starts an attempt on the connected sim

    @property
    def is_connected(self) -> bool:
        return True

    def _sim(self):
        if not LIVE_SIMS:
            raise UserFacingError("--teleop.type=xarm7_sim_expert drives --robot.type=xarm7_sim only")
        return LIVE_SIMS[-1]

    def _observation(self) -> dict:
        return self._sim().arm.get_observation()

    def get_action(self) -> dict:
        sim = self._sim()
        if self.source is None or self.source.done:
            sim.reset_scene()
            self.source = srpo_teleop.ScriptedExpert(sim.config.task, srpo_teleop.ExpertConfig(noise=self.config.noise),
                                                     seed=self.config.seed + self.attempts, profile=self.config.operator)
            self.source.reset(sim.arm)
            self.attempts += 1
        return super().get_action()
