"""LeRobot `Camera` classes over this project's cameras (configs in srpo.robot.config_lerobot_cameras), and the
one way this project builds a camera from any LeRobot camera config (`srpo_camera`).

The episode store wants more than LeRobot's `async_read()` image: depth and a capture timestamp per frame
(srpo.robot.cameras.Frame). `srpo_camera(config)` gives the recorder that: this project's own cameras for the
srpo_* types, and for LeRobot's types (opencv, intelrealsense, ...) the LeRobot camera behind `LeRobotFrames`,
which stamps each frame when it arrives.
"""

import time

import numpy as np
from lerobot.cameras import Camera as LeRobotCamera
from lerobot.cameras import CameraConfig as LeRobotCameraConfig

from srpo.robot.cameras import Camera, CameraError, Frame, OpenCVCamera, RealSenseCamera, ThreadedCamera
from srpo.robot.config_lerobot_cameras import SrpoOpenCVConfig, SrpoRealSenseConfig
from srpo.store import CameraSpec


class _SrpoCamera(LeRobotCamera):
    """LeRobot's camera calls over a ThreadedCamera of this project; `frame()` is the full capture."""

    def __init__(self, config, camera: Camera):
        super().__init__(config)
        self.camera = ThreadedCamera(camera, fps=config.fps or 30)
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected

    @staticmethod
    def find_cameras() -> list[dict]:
        return []

    def connect(self, warmup: bool = True) -> None:
        self.camera.connect()
        self._connected = True

    def frame(self) -> Frame:
        """The latest capture with its depth and timestamp (what the episode store records)."""
        return self.camera.latest()

    def read(self) -> np.ndarray:
        return self.frame().rgb

    def async_read(self, timeout_ms: float = 200) -> np.ndarray:
        return self.frame().rgb

    def read_latest(self, max_age_ms: int = 500) -> np.ndarray:
        return self.frame().rgb

    def disconnect(self) -> None:
        self.camera.disconnect()
        self._connected = False


class SrpoRealSense(_SrpoCamera):
    def __init__(self, config: SrpoRealSenseConfig):
        super().__init__(config, RealSenseCamera(config.serial, config.height, config.width, config.fps,
                                                 config.depth))

    @staticmethod
    def find_cameras() -> list[dict]:
        from lerobot.cameras.realsense import RealSenseCamera as LeRobotRealSense

        return LeRobotRealSense.find_cameras()


class SrpoOpenCV(_SrpoCamera):
    def __init__(self, config: SrpoOpenCVConfig):
        source = config.index_or_path
        super().__init__(config, OpenCVCamera(int(source) if str(source).isdigit() else source, config.height,
                                              config.width, config.fps))


class LeRobotFrames(Camera):
    """Any LeRobot camera as this project's Camera: frames stamped (host clock) when they arrive; no depth."""

    def __init__(self, camera: LeRobotCamera):
        self.lerobot = camera
        self.height, self.width = camera.height, camera.width
        self._count = 0

    def connect(self) -> None:
        self.lerobot.connect()

    def read(self) -> Frame:
        rgb = self.lerobot.async_read()
        self._count += 1
        return Frame(rgb=rgb, timestamp=time.time(), received=time.monotonic(), index=self._count)

    def disconnect(self) -> None:
        if self.lerobot.is_connected:
            self.lerobot.disconnect()


class SrpoFrames(Camera):
    """One of this project's LeRobot camera types as the recorder's Camera (its frames carry depth and times)."""

    def __init__(self, camera: _SrpoCamera):
        self.lerobot = camera
        self.height, self.width, self.depth = camera.height, camera.width, camera.camera.depth

    def connect(self) -> None:
        self.lerobot.connect()

    def read(self) -> Frame:
        return self.lerobot.frame()

    latest = read

    def await_frame_after(self, since: float, timeout_s: float) -> None:
        self.lerobot.camera.await_frame_after(since, timeout_s)

    def disconnect(self) -> None:
        self.lerobot.disconnect()

    def spec(self, name: str) -> CameraSpec:
        return self.lerobot.camera.spec(name)


def srpo_camera(config: LeRobotCameraConfig) -> Camera:
    """The recorder's camera for a LeRobot camera config (LeRobot's factory builds the device)."""
    from lerobot.cameras.utils import make_cameras_from_configs

    for attr in ("width", "height", "fps"):
        if getattr(config, attr) is None:
            raise CameraError(f"camera config {config} needs {attr}")
    camera = make_cameras_from_configs({"camera": config})["camera"]
    return SrpoFrames(camera) if isinstance(camera, _SrpoCamera) else LeRobotFrames(camera)
