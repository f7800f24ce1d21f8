"""The robot configs LeRobot parses from `--robot.type=xarm7 --robot.ip=... --robot.cameras="{...}"`."""

from dataclasses import dataclass, field

from lerobot.cameras import CameraConfig
from lerobot.robots import RobotConfig

from srpo.robot.rig import RigConfig
from srpo.robot.safety import SafetyConfig
from srpo.robot.xarm_backend import XArmConfig


@RobotConfig.register_subclass("xarm7")
@dataclass(kw_only=True)
class XArm7Config(RobotConfig):
    """A real xArm 7 through xarm-python-sdk in servo mode, every command through srpo's safety filter.
    Cameras are LeRobot camera configs: `opencv`, `intelrealsense`, or `srpo_realsense` (colour + aligned depth
    + hardware timestamps + intrinsics, srpo.robot.cameras)."""

    ip: str = XArmConfig.ip  # controller IP address
    control_port: int = XArmConfig.control_port  # controller command port (another only for `srpo robot fake-xarm`)
    control_rate_hz: float = 30.0  # rate LeRobot calls send_action (its --dataset.fps); sets the safety filter's per-tick limits
    servo_rate_hz: float = 100.0  # rate of the servo stream to the controller (its own thread; 100-250 Hz)
    cameras: dict[str, CameraConfig] = field(default_factory=dict)  # name -> LeRobot camera config
    safety: SafetyConfig = field(default_factory=SafetyConfig)  # workspace box, speed and step limits, staleness

    def arm_config(self) -> XArmConfig:
        return XArmConfig(ip=self.ip, control_port=self.control_port, control_rate_hz=self.servo_rate_hz)


@RobotConfig.register_subclass("xarm7_sim")
@dataclass(kw_only=True)
class XArm7SimConfig(RobotConfig):
    """The MuJoCo xArm 7 on a table (srpo.robot.sim): one physics tick of 1/control_rate_hz per send_action;
    its two rendered cameras `front` and `wrist`."""

    task: str = RigConfig.task  # sim task: lift, place, ... (srpo.robot.sim.tasks.TASKS)
    seed: int = RigConfig.seed  # seed of the object placement
    control_rate_hz: float = 30.0  # simulated ticks per second; set it to lerobot-record's --dataset.fps
    camera_height: int = RigConfig.camera_height  # rows of the rendered images
    camera_width: int = RigConfig.camera_width  # columns of the rendered images
    safety: SafetyConfig = field(default_factory=SafetyConfig)  # the same safety filter as the real arm
