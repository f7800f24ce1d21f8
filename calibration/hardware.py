"""Thin adapters from the real xArm (xarm-python-sdk) and RealSense (pyrealsense2) to the calibration `Rig`.

These cannot run without the hardware; everything they feed (capture, solve, check, files) is the code the
simulated rig exercises in the tests.
"""

import time

import numpy as np

from calibration.geometry import make_T
from calibration.intrinsics import Intrinsics, realsense_to_intrinsics
from srpo.errors import UserFacingError


def rpy_to_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """xArm's orientation convention: R = Rz(yaw) Ry(pitch) Rx(roll), radians."""
    cr, sr, cp, sp, cy, sy = (
        np.cos(roll),
        np.sin(roll),
        np.cos(pitch),
        np.sin(pitch),
        np.cos(yaw),
        np.sin(yaw),
    )
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def matrix_to_rpy(R: np.ndarray) -> tuple[float, float, float]:
    pitch = float(np.arcsin(-np.clip(R[2, 0], -1.0, 1.0)))
    return float(np.arctan2(R[2, 1], R[2, 2])), pitch, float(np.arctan2(R[1, 0], R[0, 0]))


class RealSenseCamera:
    """Colour frames from one RealSense."""

    def __init__(self, serial: str | None = None, width: int = 640, height: int = 480, fps: int = 30):
        try:
            import pyrealsense2 as rs
        except ImportError as err:
            raise UserFacingError("pyrealsense2 is not installed: pip install 'srpo[robot]'") from err
        self._pipeline, config = rs.pipeline(), rs.config()
        if serial:
            config.enable_device(serial)
        config.enable_stream(rs.stream.color, width, height, rs.format.rgb8, fps)
        try:
            profile = self._pipeline.start(config)
        except RuntimeError as err:
            raise UserFacingError(
                f"cannot start the RealSense ({err}); check USB 3 and `rs-enumerate-devices`"
            ) from err
        self.serial = profile.get_device().get_info(rs.camera_info.serial_number)
        self._colour = profile.get_stream(rs.stream.color).as_video_stream_profile()

    def factory_intrinsics(self) -> Intrinsics:
        """The colour stream's factory calibration, from the running stream."""
        return realsense_to_intrinsics(self._colour.get_intrinsics())

    def grab(self, flush: int = 5) -> np.ndarray:
        """A frame taken after the robot stopped: drop `flush` queued frames first."""
        for _ in range(flush):
            self._pipeline.wait_for_frames()
        frame = self._pipeline.wait_for_frames().get_color_frame()
        return np.asanyarray(frame.get_data()).copy()

    def close(self) -> None:
        self._pipeline.stop()


class XArmRig:
    """xArm 7 + a RealSense, as a calibration `Rig`. Units at the SDK: millimetres and radians."""

    def __init__(
        self, ip: str, camera: RealSenseCamera, mount: str, speed_mm_s: float = 60.0, settle_s: float = 0.7
    ):
        try:
            from xarm.wrapper import XArmAPI
        except ImportError as err:
            raise UserFacingError("xarm-python-sdk is not installed: pip install 'srpo[robot]'") from err
        self.arm = XArmAPI(ip)
        self.camera = camera
        self.mount = mount
        self.camera_serial = camera.serial
        self.speed = speed_mm_s  # Cartesian speed for calibration moves
        self.settle_s = settle_s  # wait after each move so the frame shows the arm at rest
        self.arm.motion_enable(True)
        self.position_mode()

    def position_mode(self) -> None:
        self.arm.set_mode(0)
        self.arm.set_state(0)

    def manual_mode(self) -> None:
        """Hand-guiding (teach) mode: the user moves the arm by hand."""
        self.arm.set_mode(2)
        self.arm.set_state(0)

    def eef_pose(self) -> np.ndarray:
        code, pos = self.arm.get_position(is_radian=True)
        if code != 0:
            raise UserFacingError(f"xArm get_position failed with code {code}; check the arm's error state")
        x, y, z, roll, pitch, yaw = pos
        return make_T(rpy_to_matrix(roll, pitch, yaw), np.array([x, y, z]) / 1000.0)

    def move_to(self, T_base_ee: np.ndarray) -> None:
        x, y, z = T_base_ee[:3, 3] * 1000.0
        roll, pitch, yaw = matrix_to_rpy(T_base_ee[:3, :3])
        code = self.arm.set_position(x, y, z, roll, pitch, yaw, speed=self.speed, is_radian=True, wait=True)
        if code != 0:
            raise UserFacingError(
                f"xArm refused or failed the move (code {code}); the pose may be out of reach or in collision. "
                "Start from a pose with more room, or lower --max-angle"
            )
        time.sleep(self.settle_s)

    def grab(self) -> np.ndarray:
        return self.camera.grab()

    def close(self) -> None:
        self.camera.close()
        self.arm.disconnect()
