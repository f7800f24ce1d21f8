"""`--backend xarm`: a real xArm 7 (xarm-python-sdk) with RealSense cameras."""

import warnings
from dataclasses import dataclass

from srpo.robot.rig import BackendConfig, Rig
from srpo.robot.xarm_backend import XArmConfig


@BackendConfig.register_subclass("xarm")
@dataclass(frozen=True)
class XArmBackendConfig(BackendConfig):
    """A real xArm 7 and its RealSense cameras."""

    ip: str = XArmConfig.ip  # controller IP address
    control_port: int = XArmConfig.control_port  # controller command port (another only for `srpo robot fake-xarm`)
    realsense_serials: tuple[str, ...] = ()  # RealSense serials for camera0, camera1, ... (empty: the first found)
    opencv_devices: tuple[str, ...] = ()  # cameras through OpenCV instead (index, /dev/videoN or a video file)
    camera_fps: int = 30  # camera stream rate; frames are captured in their own thread

    def arm_config(self, control_rate_hz: float) -> XArmConfig:
        return XArmConfig(ip=self.ip, control_port=self.control_port, control_rate_hz=control_rate_hz)

    def build(self, rig) -> Rig:
        from srpo.robot.cameras import OpenCVCameraConfig, RealSenseCameraConfig, ThreadedCamera
        from srpo.robot.xarm_backend import XArmBackend

        if rig.control_rate_hz < 100:
            warnings.warn(f"xArm servo mode wants a steady 100-250 Hz stream; {rig.control_rate_hz} Hz will "
                          "move in visible steps (pass --rate 100)", stacklevel=2)
        arm = XArmBackend(self.arm_config(rig.control_rate_hz))
        cameras = {}
        if self.opencv_devices:
            configs = [OpenCVCameraConfig(fps=self.camera_fps, device=d) for d in self.opencv_devices]
        else:
            configs = [RealSenseCameraConfig(fps=self.camera_fps, serial=s) for s in self.realsense_serials or (None,)]
        for i, config in enumerate(configs):
            camera = config.build(rig.camera_height, rig.camera_width)
            cameras[f"camera{i}"] = ThreadedCamera(camera, fps=self.camera_fps)
        return Rig(arm, cameras)
