"""Components fed by messages instead of devices: what the ROS 2 nodes wrap (kept ROS-free so it is tested here).

`StreamArm` is an Arm whose state arrives from topics (xarm_ros2's joint_states, a pose, the gripper width)
and whose commands go out through a callback; `StreamCamera` holds the newest image of a topic
(realsense-ros); `StreamTeleop` turns command messages into an action source with a deadman: no fresh
message, no motion. With these, the ROS recorder node runs the very same EpisodeRecorder as `srpo robot record`.
"""

import threading
import time
from collections.abc import Callable

import numpy as np

from srpo.robot.arm import ACTION_DIM, Arm, ArmError
from srpo.robot.cameras import Camera, CameraError, Frame
from srpo.robot.teleop import Teleop


class StreamArm(Arm):
    """Arm state from messages; send_action publishes through `publish(action)`."""

    name = "stream"

    def __init__(self, publish: Callable[[np.ndarray], None], stale_after_s: float = 0.25):
        self.publish = publish
        self.stale_after_s = stale_after_s
        self._lock = threading.Lock()
        self._state: dict[str, np.ndarray] = {}
        self._received: dict[str, float] = {}
        self._stamp = 0.0
        self._connected = False

    def update(self, key: str, value, stamp: float) -> None:
        """A new value of one ROBOT_KEYS entry, stamped with the message time (seconds)."""
        with self._lock:
            self._state[key] = np.asarray(value, dtype=np.float32)
            self._received[key] = time.monotonic()
            self._stamp = max(self._stamp, stamp)

    def connect(self) -> None:
        self._connected = True

    @property
    def is_connected(self) -> bool:
        return self._connected

    def get_observation(self) -> dict:
        needed = ("robot0_joint_pos", "robot0_eef_pos", "robot0_eef_rot_axis_angle", "robot0_gripper_width")
        now = time.monotonic()
        with self._lock:
            missing = [k for k in needed if k not in self._state]
            if missing:
                raise ArmError(f"no arm state received yet for {missing}; is the arm node (or xarm_ros2) running?")
            stale = [k for k in needed if now - self._received[k] > self.stale_after_s]
            if stale:
                raise ArmError(f"arm state {stale} is older than {self.stale_after_s} s; the arm driver stalled")
            return {**{k: self._state[k].copy() for k in needed}, "robot_timestamp": self._stamp}

    def send_action(self, action: np.ndarray) -> np.ndarray:
        action = np.asarray(action, dtype=np.float32)
        if action.shape != (ACTION_DIM,) or not np.all(np.isfinite(action)):
            raise ArmError(f"refusing to publish a non-finite or mis-shaped action {action!r}")
        self.publish(action)
        return action

    def disconnect(self) -> None:
        self._connected = False


class StreamCamera(Camera):
    """Newest image of a topic. `update(rgb, stamp)` from the subscription callback."""

    def __init__(self, height: int, width: int, depth: bool = False):
        self.height, self.width, self.depth = height, width, depth
        self._frame: Frame | None = None
        self._depth: np.ndarray | None = None
        self._count = 0
        self.intrinsics: dict | None = None

    def update(self, rgb: np.ndarray, stamp: float) -> None:
        if rgb.shape != (self.height, self.width, 3):
            import cv2

            rgb = cv2.resize(rgb, (self.width, self.height), interpolation=cv2.INTER_AREA)
        self._count += 1
        self._frame = Frame(rgb=rgb, timestamp=stamp, received=time.monotonic(), index=self._count,
                            depth=self._depth)

    def update_depth(self, depth_mm: np.ndarray) -> None:
        self._depth = depth_mm.astype(np.uint16)

    def connect(self) -> None:
        """Subscriptions are made by the node."""

    def read(self) -> Frame:
        return self.latest()

    def latest(self) -> Frame:
        if self._frame is None:
            raise CameraError("no image received yet; check the camera topic (ros2 topic hz ...)")
        return self._frame

    def disconnect(self) -> None:
        self._frame = None

    def spec(self, name: str):
        from srpo.store import CameraSpec

        return CameraSpec(name, self.height, self.width, depth=self.depth, intrinsics=self.intrinsics)


class StreamTeleop(Teleop):
    """Action source from command messages; an action older than `deadman_s` is not used (hold)."""

    def __init__(self, deadman_s: float = 0.2):
        self.deadman_s = deadman_s
        self._action: np.ndarray | None = None
        self._received = 0.0
        self._events: list[str] = []
        self._lock = threading.Lock()

    def update(self, action) -> None:
        with self._lock:
            self._action = np.asarray(action, dtype=np.float64)
            self._received = time.monotonic()

    def event(self, name: str) -> None:
        with self._lock:
            self._events.append(name)

    def reset(self, arm) -> None:
        with self._lock:
            self._action = None

    def act(self, obs: dict) -> np.ndarray | None:
        with self._lock:
            if self._action is None or time.monotonic() - self._received > self.deadman_s:
                return None
            action, self._action = self._action, None  # each message moves the arm once
            return action

    def events(self) -> list[str]:
        with self._lock:
            events, self._events = self._events, []
        return events
