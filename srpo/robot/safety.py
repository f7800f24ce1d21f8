"""The safety filter every command passes before it reaches an arm (teleop, policy, ROS node alike).

It keeps its own copy of the commanded tool position (the arms integrate the same steps) and:
  * clamps the position step so the commanded position stays inside the workspace box and within the arm's
    reach (a ball about the shoulder, less a margin; a box corner can lie past the reach),
  * limits the step's length and the rotation step's angle to what the speed limits allow in one tick,
  * clips the gripper command to its range,
  * holds (zero motion, gripper unchanged) and latches a stop on a NaN/inf command, a NaN observation or a
    stale observation. A stopped filter only emits holds until reset() — the episode must end.
"""

from dataclasses import dataclass

import numpy as np

from srpo.robot.arm import ACTION_DIM, CONTROL_RATE_HZ, ArmError

# xArm 7 reach: UFACTORY rates it 700 mm; joint 2 (the shoulder) sits 0.267 m above the base (link1 offset in
# UFACTORY's xarm_ros2 description, as in srpo/robot/sim/scene.py). Past it a Cartesian target has no IK
# solution and the controller faults (C21/C24) instead of holding.
XARM7_SHOULDER = (0.0, 0.0, 0.267)
XARM7_REACH = 0.7


class SafetyStop(ArmError):
    """The safety filter stopped the arm; the message says why."""


@dataclass(frozen=True)
class SafetyConfig:
    """Limits of the safety filter (base frame, metres, radians, seconds)."""

    workspace_min: tuple[float, float, float] = (0.2, -0.4, 0.005)  # lowest corner of the tool-position box
    workspace_max: tuple[float, float, float] = (0.75, 0.4, 0.55)  # highest corner of the tool-position box
    max_linear_speed: float = 0.25  # m/s of the commanded tool position
    max_angular_speed: float = 1.0  # rad/s of the commanded tool orientation
    max_linear_step: float = 0.02  # m per tick, whatever the rate
    max_angular_step: float = 0.1  # rad per tick, whatever the rate
    reach_center: tuple[float, float, float] = XARM7_SHOULDER  # centre of the reach ball (the shoulder), m
    reach_radius: float = XARM7_REACH  # the arm's reach from reach_center, m
    reach_margin: float = 0.05  # commanded positions stay this far inside the reach, m
    gripper_range: tuple[float, float] = (0.0, 1.0)  # allowed gripper closure command
    stale_after_s: float = 0.25  # an observation older than this (host clock) stops the arm


@dataclass
class FilterReport:
    """What the filter changed in the last command."""

    clamped: list[str]  # names of the limits that acted
    held: bool  # the command was replaced by a hold


class SafetyFilter:
    def __init__(self, config: SafetyConfig = SafetyConfig(), control_rate_hz: float = CONTROL_RATE_HZ):
        self.config = config
        self.lo = np.asarray(config.workspace_min, dtype=np.float64)
        self.hi = np.asarray(config.workspace_max, dtype=np.float64)
        self.center = np.asarray(config.reach_center, dtype=np.float64)
        self.reach = config.reach_radius - config.reach_margin
        self.max_step = min(config.max_linear_step, config.max_linear_speed / control_rate_hz)
        self.max_rot = min(config.max_angular_step, config.max_angular_speed / control_rate_hz)
        self.target: np.ndarray | None = None
        self.gripper = 0.0
        self.stop_reason: str | None = None
        self.last_report = FilterReport([], False)

    @property
    def stopped(self) -> bool:
        return self.stop_reason is not None

    def reset(self, eef_pos: np.ndarray, gripper: float = 0.0) -> None:
        """Start of an episode: the commanded position is where the tool is; clears a latched stop."""
        eef_pos = np.asarray(eef_pos, dtype=np.float64)
        if eef_pos.shape != (3,) or not np.all(np.isfinite(eef_pos)):
            raise SafetyStop(f"cannot start from a non-finite tool position {eef_pos}")
        self.target = eef_pos.copy()
        self.gripper = float(np.clip(gripper, *self.config.gripper_range))
        self.stop_reason = None

    def hold(self) -> np.ndarray:
        """No motion, gripper as last commanded."""
        action = np.zeros(ACTION_DIM, dtype=np.float32)
        action[6] = self.gripper
        return action

    def _stop(self, reason: str) -> np.ndarray:
        if self.stop_reason is None:
            self.stop_reason = reason
        self.last_report = FilterReport(["stop"], True)
        return self.hold()

    def filter(self, action, obs: dict | None = None, obs_age_s: float = 0.0) -> np.ndarray:
        """The safe version of `action` given the latest observation and its age; never raises for bad input."""
        if self.target is None:
            raise SafetyStop("safety filter used before reset(); reset it with the tool position at episode start")
        if self.stopped:
            return self._stop(self.stop_reason)
        if obs is not None:
            for key in ("robot0_eef_pos", "robot0_joint_pos", "robot0_gripper_width"):
                if key in obs and not np.all(np.isfinite(np.asarray(obs[key], dtype=np.float64))):
                    return self._stop(f"observation {key} is not finite")
        if not obs_age_s <= self.config.stale_after_s:  # also catches NaN ages
            return self._stop(f"observation is stale ({obs_age_s:.3f} s old > {self.config.stale_after_s} s)")
        try:
            action = np.asarray(action, dtype=np.float64).reshape(ACTION_DIM)
        except (TypeError, ValueError):
            return self._stop(f"command is not a {ACTION_DIM}-vector")
        if not np.all(np.isfinite(action)):
            return self._stop("command contains NaN or inf")
        clamped = []
        step = action[:3]
        inside = np.clip(self.target + step, self.lo, self.hi)
        if not np.allclose(inside, self.target + step):
            clamped.append("workspace")
        step = inside - self.target
        norm = np.linalg.norm(step)
        if norm > self.max_step:
            clamped.append("linear_step")
            step = step * (self.max_step / norm)
        # projections onto convex sets holding the target never lengthen the step: the step limit still holds
        reachable = self._within_reach(self.target + step)
        if not np.allclose(reachable, self.target + step):
            clamped.append("reach")
        step = reachable - self.target
        rot = action[3:6]
        angle = np.linalg.norm(rot)
        if angle > self.max_rot:
            clamped.append("angular_step")
            rot = rot * (self.max_rot / angle)
        grip = float(np.clip(action[6], *self.config.gripper_range))
        if grip != action[6]:
            clamped.append("gripper")
        # the convex combination of two points in box and ball stays in both; clip once more for rounding
        self.target = np.clip(self.target + step, self.lo, self.hi)
        self.gripper = grip
        self.last_report = FilterReport(clamped, False)
        return np.concatenate([step, rot, [grip]]).astype(np.float32)

    def _within_reach(self, goal: np.ndarray) -> np.ndarray:
        """A point of box ∩ reach ball near `goal` (in the box); never further out than the current target.

        Alternating projections (ball, then box) slide along the boundary; if they have not converged, the
        segment from the current target (inside both) toward that point is cut where it leaves the ball.
        """
        radius = max(self.reach, float(np.linalg.norm(self.target - self.center)))
        point = goal
        for _ in range(8):
            offset = point - self.center
            dist = float(np.linalg.norm(offset))
            if dist <= radius:
                return point
            point = np.clip(self.center + offset * (radius / dist), self.lo, self.hi)
        # |target + s (point - target) - center| = radius, solved for the largest s in [0, 1]
        d, e = point - self.target, self.target - self.center
        a, b, c = d @ d, 2 * d @ e, e @ e - radius**2
        s = (-b + np.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a) if a > 0 else 0.0
        return self.target + float(np.clip(s, 0.0, 1.0)) * d
