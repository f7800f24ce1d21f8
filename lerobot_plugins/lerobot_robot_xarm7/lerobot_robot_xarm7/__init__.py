"""The xArm 7 as a LeRobot robot (`--robot.type=xarm7`), the simulated xArm 7 (`--robot.type=xarm7_sim`), and this
project's command sources as LeRobot teleoperators (`--teleop.type=xarm7_keyboard | xarm7_spacemouse |
xarm7_sim_expert`). Importing the package registers them; LeRobot's factories find each device class here by
its config's name (XArm7Config -> XArm7)."""

import srpo.robot.config_lerobot_cameras  # noqa: F401 - registers srpo_realsense and srpo_opencv with LeRobot
from lerobot_robot_xarm7.config import XArm7Config, XArm7SimConfig
from lerobot_robot_xarm7.robot import XArm7, XArm7Sim
from lerobot_robot_xarm7.teleoperators import (
    XArm7Keyboard,
    XArm7KeyboardConfig,
    XArm7SimExpert,
    XArm7SimExpertConfig,
    XArm7SpaceMouse,
    XArm7SpaceMouseConfig,
)

__all__ = ["XArm7", "XArm7Config", "XArm7Keyboard", "XArm7KeyboardConfig", "XArm7Sim", "XArm7SimConfig",
           "XArm7SimExpert", "XArm7SimExpertConfig", "XArm7SpaceMouse", "XArm7SpaceMouseConfig"]
