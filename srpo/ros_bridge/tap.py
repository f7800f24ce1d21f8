"""An arm wrapper that keeps what the control loop saw and sent, so the node republishes it without asking the
arm again (one get_observation per tick: on a real xArm each is three SDK round trips)."""

import numpy as np

from srpo.robot.arm import Arm


class TapArm(Arm):
    """Passes every call to `arm`; remembers the last observation and the last executed action."""

    def __init__(self, arm: Arm):
        self.arm = arm
        self.name = getattr(arm, "name", "arm")
        self.last_obs: dict | None = None
        self.last_action: np.ndarray | None = None
        self.fresh = False  # last_obs is new since take_fresh()
        self.action_fresh = False  # last_action is new since take_action()

    def connect(self) -> None:
        self.arm.connect()

    def get_observation(self) -> dict:
        self.last_obs = self.arm.get_observation()
        self.fresh = True
        return self.last_obs

    def send_action(self, action: np.ndarray) -> np.ndarray:
        sent = self.arm.send_action(action)
        self.last_action = np.asarray(action, dtype=np.float32)  # what the recorder stores for this tick
        self.action_fresh = True
        return sent

    def disconnect(self) -> None:
        self.arm.disconnect()

    @property
    def is_connected(self) -> bool:
        return self.arm.is_connected

    def extra_state_keys(self) -> dict[str, int]:  # Arm's default ({}) would hide the sim's object poses
        return self.arm.extra_state_keys()

    def take_fresh(self) -> dict | None:
        """The observation taken since the last call, or None (then the node reads the arm once itself)."""
        fresh, self.fresh = self.fresh, False
        return self.last_obs if fresh else None

    def take_action(self) -> np.ndarray | None:
        """The action executed since the last call, or None."""
        fresh, self.action_fresh = self.action_fresh, False
        return self.last_action if fresh else None

    def __getattr__(self, name):  # reset() and other backend extras
        return getattr(self.arm, name)
