"""LeRobot `Camera` classes over this project's cameras (configs in srpo.robot.config_lerobot_cameras).

LeRobot's calls (connect / read / async_read / read_latest / disconnect) return the colour image; `frame()`
returns the whole capture (srpo.robot.cameras.Frame: depth aligned to colour, the device's timestamp), which
LeRobot's image-only interface has no place for.
"""

import numpy as np
from lerobot.cameras import Camera as LeRobotCamera

from srpo.robot.cameras import Camera, Frame, OpenCVCamera, RealSenseCamera, ThreadedCamera
from srpo.robot.config_lerobot_cameras import SrpoOpenCVConfig, SrpoRealSenseConfig


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
        source = config.device
        super().__init__(config, OpenCVCamera(int(source) if str(source).isdigit() else source, config.height,
                                              config.width, config.fps))
