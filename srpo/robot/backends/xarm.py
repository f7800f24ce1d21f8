"""`--backend xarm`: a real xArm 7 (xarm-python-sdk) with its cameras (LeRobot camera configs)."""

import warnings
from dataclasses import dataclass, field

from lerobot.cameras import CameraConfig

from srpo.robot.config_lerobot_cameras import SrpoRealSenseConfig, check_cameras
from srpo.robot.rig import BackendConfig, Rig
from srpo.robot.xarm_backend import XArmConfig


@BackendConfig.register_subclass("xarm")
@dataclass(frozen=True)
class XArmBackendConfig(BackendConfig):
    """A real xArm 7 and its cameras (LeRobot camera configs, as a LeRobot robot holds them)."""

    ip: str = XArmConfig.ip  # controller IP address
    control_port: int = XArmConfig.control_port  # controller command port (another only for `srpo robot fake-xarm`)
    cameras: dict[str, CameraConfig] = field(default_factory=lambda: {"camera0": SrpoRealSenseConfig()})  # name -> LeRobot camera config, e.g. "{camera0: {type: srpo_realsense, serial_number_or_name: '036522072967'}, camera1: {type: srpo_opencv, index_or_path: /dev/video2}}"; types: srpo_realsense (aligned depth, intrinsics, device timestamps), srpo_opencv (webcams, video files), LeRobot's opencv / intelrealsense (colour); default: the first RealSense found
    camera_fps: int = 30  # camera stream rate where a camera's config gives none; frames are captured in their own thread

    def __post_init__(self):
        check_cameras(self.cameras)

    def arm_config(self, control_rate_hz: float) -> XArmConfig:
        return XArmConfig(ip=self.ip, control_port=self.control_port, control_rate_hz=control_rate_hz)

    def build(self, rig) -> Rig:
        from srpo.robot.lerobot_cameras import rig_cameras
        from srpo.robot.xarm_backend import XArmBackend

        if rig.control_rate_hz < 100:
            warnings.warn(f"xArm servo mode wants a steady 100-250 Hz stream; {rig.control_rate_hz} Hz will "
                          "move in visible steps (pass --rate 100)", stacklevel=2)
        arm = XArmBackend(self.arm_config(rig.control_rate_hz))
        return Rig(arm, rig_cameras(self.cameras, rig.camera_height, rig.camera_width, self.camera_fps))
