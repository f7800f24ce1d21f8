"""Cameras shaped like LeRobot's `Camera`: connect / read / disconnect, plus a threaded wrapper (`async_read`).

Backends: Intel RealSense (pyrealsense2: colour, depth aligned to colour, intrinsics, serial, hardware
timestamps), OpenCV / V4L2, and the simulated xArm's MuJoCo cameras. A robot chooses its hardware cameras by
LeRobot camera configs (srpo.robot.config_lerobot_cameras, which registers these two as LeRobot types). Every frame carries two times:
`timestamp` (the capture time in the clock the recorder stores: sim time, RealSense global time, or host
time) and `received` (host monotonic time when it reached us; the recorder's staleness check uses it).
"""

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from srpo.errors import UserFacingError
from srpo.store import CameraSpec

# MuJoCo cameras look along -z with y up; OpenCV cameras along +z with y down. The flip is its own inverse.
MJ_TO_CV = np.diag([1.0, -1.0, -1.0])


CAPTURE_HEIGHT, CAPTURE_WIDTH = 480, 640  # a hardware camera's stream unless told otherwise (RealSense colour default)


class CameraError(UserFacingError):
    """A camera could not be opened, or stopped delivering frames."""


@dataclass(frozen=True)
class Frame:
    """One capture."""

    rgb: np.ndarray  # uint8 H x W x 3
    timestamp: float  # capture time, seconds, in the recorder's clock
    received: float  # time.monotonic() when the frame arrived on the host
    index: int  # running frame counter of this camera
    depth: np.ndarray | None = None  # uint16 H x W millimetres, aligned to rgb


class Camera(ABC):
    """A frame source with a fixed size; `spec(name)` describes it for the episode store."""

    height: int
    width: int
    depth: bool = False

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def read(self) -> Frame:
        """Block until the next frame and return it."""

    def latest(self) -> Frame:
        """The newest frame; a plain camera reads one now, ThreadedCamera returns what its thread captured."""
        return self.read()

    def await_frame_after(self, since: float, timeout_s: float) -> None:  # noqa: B027 - optional hook
        """Wait until latest() holds a frame received after `since` (monotonic s). A plain camera reads on
        demand, so its next frame is always fresh and there is nothing to wait for."""

    @abstractmethod
    def disconnect(self) -> None: ...

    def spec(self, name: str) -> CameraSpec:
        return CameraSpec(name, self.height, self.width, depth=self.depth)


class ThreadedCamera(Camera):
    """Captures from `camera` in its own thread at up to `fps`; latest() never blocks the control loop."""

    def __init__(self, camera: Camera, fps: float):
        self.camera, self.fps = camera, fps
        self.height, self.width, self.depth = camera.height, camera.width, camera.depth
        self._frame: Frame | None = None
        self._error: Exception | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.captured = 0  # frames captured since connect

    def connect(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="camera")
        self._thread.start()
        if not self._ready.wait(10.0):
            raise CameraError(f"camera gave no frame within 10 s: {self._error or 'timeout'}")

    def _run(self) -> None:
        try:
            self.camera.connect()
            period, next_t = 1.0 / self.fps, time.monotonic()
            while not self._stop.is_set():
                self._frame = self.camera.read()
                self.captured += 1
                self._ready.set()
                next_t += period
                delay = next_t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_t = time.monotonic()  # fell behind: do not burst to catch up
        except Exception as err:  # noqa: BLE001 - reported to the control loop through latest()
            self._error = err
            self._ready.set()
        finally:
            self.camera.disconnect()

    def read(self) -> Frame:
        return self.latest()

    def latest(self) -> Frame:
        if self._error is not None:
            raise CameraError(f"camera stopped: {self._error}")
        if self._frame is None:
            raise CameraError("camera has not delivered a frame yet")
        return self._frame

    def await_frame_after(self, since: float, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self._error is None and time.monotonic() < deadline:
            if self._frame is not None and self._frame.received > since:
                return
            self._stop.wait(0.002)

    def disconnect(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def spec(self, name: str) -> CameraSpec:
        return self.camera.spec(name)


class SimCamera(Camera):
    """A named MuJoCo camera of a simulated scene: the xArm's ("front" fixed on the table, "wrist" on the hand)
    or the calibration rig's. `arm` is anything with `model`, `data` and a `lock` held while physics steps."""

    def __init__(self, arm, camera: str, height: int | None = None, width: int | None = None):
        self.arm, self.camera = arm, camera
        self.height = height or arm.config.camera_height
        self.width = width or arm.config.camera_width
        self._renderer = None
        self._count = 0

    def connect(self) -> None:
        """Make the GL context; call it from the thread that will render (ThreadedCamera does)."""
        import mujoco

        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.arm.model, self.height, self.width)

    def read(self) -> Frame:
        self.connect()
        with self.arm.lock:
            self._renderer.update_scene(self.arm.data, camera=self.camera)
            stamp = float(self.arm.data.time)
        rgb = self._renderer.render()
        self._count += 1
        return Frame(rgb=rgb, timestamp=stamp, received=time.monotonic(), index=self._count)

    def disconnect(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def spec(self, name: str) -> CameraSpec:
        """Pinhole intrinsics from the MuJoCo camera's vertical field of view; pose in OpenCV convention."""
        import mujoco

        model, data = self.arm.model, self.arm.data
        cam = model.camera(self.camera)
        fy = 0.5 * self.height / np.tan(np.radians(cam.fovy[0]) / 2)
        intrinsics = {"fx": fy, "fy": fy, "cx": self.width / 2, "cy": self.height / 2, "distortion": [0.0] * 5,
                      "model": "pinhole"}
        mujoco.mj_kinematics(model, data)
        if cam.bodyid[0] == 0:
            frame, rot, pos = "base", data.cam_xmat[cam.id].reshape(3, 3) @ MJ_TO_CV, data.cam_xpos[cam.id]
        else:
            frame, rot, pos = "ee", _quat_to_mat(cam.quat) @ MJ_TO_CV, cam.pos
        transform = np.eye(4)
        transform[:3, :3], transform[:3, 3] = rot, pos
        return CameraSpec(name, self.height, self.width, serial=f"sim:{self.camera}", intrinsics=intrinsics,
                          extrinsics={"frame": frame, "T": transform.round(6).tolist()})


def _quat_to_mat(quat: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    w, x, y, z = quat
    return Rotation.from_quat([x, y, z, w]).as_matrix()


class RealSenseCamera(Camera):
    """Intel RealSense through pyrealsense2: rgb8 colour, z16 depth aligned to colour, global-time stamps."""

    def __init__(self, serial: str | None = None, height: int = CAPTURE_HEIGHT, width: int = CAPTURE_WIDTH, fps: int = 30,
                 depth: bool = False):
        self.serial, self.height, self.width, self.fps, self.depth = serial, height, width, fps, depth
        self._pipeline = None
        self._align = None
        self._depth_scale_mm = 1.0
        self._count = 0
        self._intrinsics: dict | None = None
        self._sdk_intrinsics = None  # the colour stream's pyrealsense2 intrinsics, once connected

    def connect(self) -> None:
        try:
            import pyrealsense2 as rs
        except ImportError as err:
            raise CameraError("RealSense needs pyrealsense2 (pip install 'srpo[robot]') and apt libusb-1.0-0") from err
        config = rs.config()
        if self.serial:
            config.enable_device(self.serial)
        config.enable_stream(rs.stream.color, self.width, self.height, rs.format.rgb8, self.fps)
        if self.depth:
            config.enable_stream(rs.stream.depth, self.width, self.height, rs.format.z16, self.fps)
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(config)
        except RuntimeError as err:
            raise CameraError(f"RealSense {self.serial or '(any)'} did not start: {err}; check the serial "
                              "(rs-enumerate-devices) and that the size/fps pair is supported") from err
        device = profile.get_device()
        self.serial = device.get_info(rs.camera_info.serial_number)
        for sensor in device.query_sensors():
            if sensor.supports(rs.option.global_time_enabled):
                sensor.set_option(rs.option.global_time_enabled, 1)  # stamps in the host clock domain
        if self.depth:
            self._depth_scale_mm = device.first_depth_sensor().get_depth_scale() * 1000.0
            self._align = rs.align(rs.stream.color)
        intr = profile.get_stream(rs.stream.color).as_video_stream_profile().get_intrinsics()
        self._sdk_intrinsics = intr
        self._intrinsics = {"fx": intr.fx, "fy": intr.fy, "cx": intr.ppx, "cy": intr.ppy,
                            "distortion": list(intr.coeffs), "model": str(intr.model)}
        self._pipeline = pipeline

    def read(self) -> Frame:
        if self._pipeline is None:
            raise CameraError("RealSense is not connected; call connect() first")
        try:
            frames = self._pipeline.wait_for_frames(2000)
        except RuntimeError as err:
            raise CameraError(f"RealSense {self.serial} delivered no frame for 2 s: {err}") from err
        if self._align is not None:
            frames = self._align.process(frames)
        color = frames.get_color_frame()
        depth = None
        if self.depth:
            raw = np.asanyarray(frames.get_depth_frame().get_data()).astype(np.float32)
            depth = np.clip(raw * self._depth_scale_mm, 0, 65535).astype(np.uint16)
        self._count += 1
        return Frame(rgb=np.asanyarray(color.get_data()).copy(), timestamp=color.get_timestamp() / 1000.0,
                     received=time.monotonic(), index=self._count, depth=depth)

    def disconnect(self) -> None:
        if self._pipeline is not None:
            self._pipeline.stop()
            self._pipeline = None

    def spec(self, name: str) -> CameraSpec:
        return CameraSpec(name, self.height, self.width, depth=self.depth, serial=self.serial,
                          intrinsics=self._intrinsics)

    def factory_intrinsics(self):
        """The colour stream's factory calibration as `srpo.robot.calibration_file.Intrinsics` (connected)."""
        from srpo.robot.calibration_file import realsense_to_intrinsics

        if self._sdk_intrinsics is None:
            raise CameraError("RealSense is not connected; call connect() first")
        return realsense_to_intrinsics(self._sdk_intrinsics)


class OpenCVCamera(Camera):
    """Any OpenCV / V4L2 device (index or /dev/videoN path); host time stamps."""

    def __init__(self, device: int | str = 0, height: int = CAPTURE_HEIGHT, width: int = CAPTURE_WIDTH, fps: int = 30):
        self.device, self.height, self.width, self.fps = device, height, width, fps
        self._cap = None
        self._count = 0

    def connect(self) -> None:
        import cv2

        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2 if isinstance(self.device, int) else cv2.CAP_ANY)
        if not cap.isOpened():
            raise CameraError(f"could not open video device {self.device!r}; list devices with v4l2-ctl --list-devices")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)
        self._cap = cap

    def read(self) -> Frame:
        import cv2

        if self._cap is None:
            raise CameraError("OpenCV camera is not connected; call connect() first")
        ok, bgr = self._cap.read()
        if not ok:
            raise CameraError(f"video device {self.device!r} returned no frame")
        if bgr.shape[:2] != (self.height, self.width):
            bgr = cv2.resize(bgr, (self.width, self.height), interpolation=cv2.INTER_AREA)
        self._count += 1
        return Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), timestamp=time.time(), received=time.monotonic(),
                     index=self._count)

    def disconnect(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
