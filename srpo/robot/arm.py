"""The arm interface every backend implements (shaped like LeRobot's `Robot`), and the observation keys.

An observation is a dict whose robot keys are exactly the episode store's data keys, so the recorder writes
it as it is. An action is the 7-vector of ACTION_SPACE, in the robot's base frame.
"""

from abc import ABC, abstractmethod

import numpy as np

from srpo.errors import UserFacingError
from srpo.store import StoreConfig

# The action every backend takes, and what StoreConfig.action_space records:
#   [0:3] end-effector position step in metres (base frame), [3:6] rotation step as an axis-angle vector in
#   radians (base frame, applied on the left), [6] gripper closure in [0, 1] (0 open, 1 closed).
#   Its name is the episode store's StoreConfig.action_space default (defined once, in the lower layer).
ACTION_SPACE: str = StoreConfig.action_space
ACTION_DIM = 7
CONTROL_RATE_HZ = 20.0  # the default control rate of recording and deployment (a real xArm wants 100+)
ROBOT_KEYS = ("robot0_joint_pos", "robot0_eef_pos", "robot0_eef_rot_axis_angle", "robot0_gripper_width")


class ArmError(UserFacingError):
    """The arm refused a command or reports a fault; the message says what the controller said and what to do."""


class Arm(ABC):
    """connect / get_observation / send_action / disconnect, as in LeRobot's Robot."""

    name: str = "arm"

    @abstractmethod
    def connect(self) -> None:
        """Open the connection, clear faults, enable motion and enter the streaming control mode."""

    @abstractmethod
    def get_observation(self) -> dict[str, np.ndarray | float]:
        """ROBOT_KEYS as float32 arrays plus "robot_timestamp" (seconds, the arm's clock)."""

    @abstractmethod
    def send_action(self, action: np.ndarray) -> np.ndarray:
        """Execute one ACTION_SPACE step (already safety-filtered); return what was sent."""

    @abstractmethod
    def disconnect(self) -> None:
        """Stop motion and release the connection; safe to call twice."""

    @property
    @abstractmethod
    def is_connected(self) -> bool:
        """Whether connect() succeeded and disconnect() has not been called."""

    def extra_state_keys(self) -> dict[str, int]:
        """More state this arm observes beyond ROBOT_KEYS, name -> length, recorded as extra store keys.
        A simulator knows where the objects are; a real arm knows nothing of them (the default: none)."""
        return {}

    def __enter__(self) -> "Arm":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()
