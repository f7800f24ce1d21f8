"""LeRobot `Camera` classes over this project's cameras (configs in srpo.robot.config_lerobot_cameras), and the
cameras a robot's `dict[str, CameraConfig]` gives the recorder (`rig_cameras`).

LeRobot's calls (connect / read / async_read / read_latest / disconnect) return the colour image; `frame()`
returns the whole capture (srpo.robot.cameras.Frame: depth aligned to colour, the device's timestamp), which
LeRobot's image-only interface has no place for.
"""

import dataclasses
import time

import numpy as np
from lerobot.cameras import Camera as LeRobotCamera
from lerobot.cameras import CameraConfig, make_cameras_from_configs

from srpo.robot.cameras import Camera, CameraError, Frame, OpenCVCamera, RealSenseCamera, ThreadedCamera
from srpo.robot.config_lerobot_cameras import SrpoOpenCVConfig, SrpoRealSenseConfig, check_cameras
from srpo.store import CameraSpec


class _SrpoCamera(LeRobotCamera):
    """LeRobot's camera calls over a ThreadedCamera of this project (`feed`); `frame()` is the full capture."""

    def __init__(self, config, camera: Camera):
        super().__init__(config)
        self.feed = ThreadedCamera(camera, fps=config.fps or 30)
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected

    @staticmethod
    def find_cameras() -> list[dict]:
        return []

    def connect(self, warmup: bool = True) -> None:
        self.feed.connect()
        self._connected = True

    def frame(self) -> Frame:
        """The latest capture with its depth and timestamp (what the episode store records)."""
        return self.feed.latest()

    def read(self) -> np.ndarray:
        return self.frame().rgb

    def async_read(self, timeout_ms: float = 200) -> np.ndarray:
        return self.frame().rgb

    def read_latest(self, max_age_ms: int = 500) -> np.ndarray:
        return self.frame().rgb

    def disconnect(self) -> None:
        self.feed.disconnect()
        self._connected = False


class SrpoRealSense(_SrpoCamera):
    def __init__(self, config: SrpoRealSenseConfig):
        super().__init__(config, RealSenseCamera(config.serial_number_or_name, config.height, config.width,
                                                 config.fps, config.use_depth))

    @staticmethod
    def find_cameras() -> list[dict]:
        from lerobot.cameras.realsense import RealSenseCamera as LeRobotRealSense

        return LeRobotRealSense.find_cameras()


class SrpoOpenCV(_SrpoCamera):
    def __init__(self, config: SrpoOpenCVConfig):
        source = config.index_or_path
        super().__init__(config, OpenCVCamera(int(source) if str(source).isdigit() else source, config.height,
                                              config.width, config.fps))


class LeRobotFeed(Camera):
    """The recorder's view of one of LeRobot's own cameras (`opencv`, `intelrealsense`, ...): its background
    thread's newest image, stamped with the capture time LeRobot keeps (`latest_timestamp`, perf_counter),
    converted to the host clock. Colour only: LeRobot's classes give no aligned depth or intrinsics."""

    def __init__(self, device: LeRobotCamera, height: int, width: int):
        self.device, self.height, self.width = device, height, width
        self._index, self._last_capture = 0, None

    def connect(self) -> None:
        self.device.connect()
        self.device.async_read(timeout_ms=10_000)  # starts LeRobot's read thread and waits for its first frame

    def _capture_time(self) -> float:
        """The newest frame's capture time (perf_counter), or now where the class keeps none."""
        return getattr(self.device, "latest_timestamp", None) or time.perf_counter()

    def read(self) -> Frame:
        return self.latest()

    def latest(self) -> Frame:
        try:
            rgb = self.device.read_latest(max_age_ms=10**9)  # staleness is the recorder's to judge
        except (RuntimeError, TimeoutError) as err:
            raise CameraError(f"{self.device} stopped: {err}") from err
        captured = self._capture_time()
        if captured != self._last_capture:
            self._index, self._last_capture = self._index + 1, captured
        age = time.perf_counter() - captured
        if rgb.shape[:2] != (self.height, self.width):
            import cv2

            rgb = cv2.resize(rgb, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return Frame(rgb=rgb, timestamp=time.time() - age, received=time.monotonic() - age, index=self._index)

    def await_frame_after(self, since: float, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if time.monotonic() - (time.perf_counter() - self._capture_time()) > since:  # received after `since`
                return
            time.sleep(0.002)

    def disconnect(self) -> None:
        if self.device.is_connected:
            self.device.disconnect()

    def spec(self, name: str) -> CameraSpec:
        return CameraSpec(name, self.height, self.width, serial=str(getattr(self.device.config, "serial_number_or_name",
                                                                            "") or "") or None)


def rig_cameras(configs: dict[str, CameraConfig], height: int, width: int, fps: int = 30) -> dict[str, Camera]:
    """The recorder's cameras for a robot's LeRobot camera configs, built by LeRobot's own factory
    (`make_cameras_from_configs`). This project's types give their full capture (depth, device timestamps,
    intrinsics) and capture at the recorded size (height x width) and `fps` unless their config says otherwise;
    LeRobot's own capture as their config says (None: the device's own mode) and give colour through
    `LeRobotFeed`, resized to the recorded size."""
    check_cameras(configs)
    sized = {name: dataclasses.replace(c, height=c.height or height, width=c.width or width, fps=c.fps or fps)
             if isinstance(c, SrpoRealSenseConfig | SrpoOpenCVConfig) else c for name, c in configs.items()}
    devices = make_cameras_from_configs(sized)
    return {name: getattr(device, "feed", None) or LeRobotFeed(device, height, width)
            for name, device in devices.items()}
