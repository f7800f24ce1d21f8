"""The real calibration rig: a backend's arm (the xArm's, or any arm with POINT_TO_POINT moves) and one of its
cameras behind the calibration `Rig`.

It cannot run without the hardware; everything it feeds (capture, solve, check, files) is the code the
simulated rig exercises in the tests.
"""

import time

import numpy as np

from srpo.robot.cameras import Camera

# what calibration asks of an arm beyond the Arm interface (XArmBackend has them)
POINT_TO_POINT = ("position_mode", "manual_mode", "read_pose", "move_to_pose")


class ArmCameraRig:
    """An arm with point-to-point moves (POINT_TO_POINT, as XArmBackend) and one camera, as a calibration `Rig`."""

    is_simulated = False

    def __init__(self, arm, camera: Camera, mount: str, speed_mm_s: float = 60.0,
                 settle_s: float = 0.7, flush: int = 5):
        self.arm, self.camera, self.mount = arm, camera, mount
        self.speed = speed_mm_s  # Cartesian speed of calibration moves
        self.settle_s = settle_s  # wait after each move so the frame shows the arm at rest
        self.flush = flush  # frames dropped before a grab (queued while the arm moved)
        self.camera.connect()
        try:
            self.arm.connect()
            self.arm.position_mode()
        except Exception:
            self.camera.disconnect()
            raise

    @property
    def camera_serial(self) -> str:
        return getattr(self.camera, "serial", None) or f"{type(self.camera).__name__}"

    def factory_intrinsics(self):
        return self.camera.factory_intrinsics()

    def position_mode(self) -> None:
        self.arm.position_mode()

    def manual_mode(self) -> None:
        self.arm.manual_mode()

    def eef_pose(self) -> np.ndarray:
        return self.arm.read_pose()

    def move_to(self, T_base_ee: np.ndarray) -> None:
        self.arm.move_to_pose(T_base_ee, self.speed)
        time.sleep(self.settle_s)

    def grab(self) -> np.ndarray:
        """A frame taken after the robot stopped: drop `flush` queued frames first."""
        for _ in range(self.flush):
            self.camera.read()
        return self.camera.read().rgb

    def close(self) -> None:
        self.camera.disconnect()
        self.arm.disconnect()
