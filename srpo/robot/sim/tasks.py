"""Tabletop tasks of the simulated xArm: where objects start, the instruction, and the success predicate."""

from dataclasses import dataclass

import mujoco
import numpy as np

from srpo.robot.sim.scene import CUBE_HALF

CUBE_REGION = ((0.38, 0.52), (-0.12, 0.12))  # x, y ranges (m) where the cube starts
TARGET_RADIUS = 0.045  # m, radius of the green pad


@dataclass(frozen=True)
class SimTask:
    """A task: its instruction text and how it places objects and judges success."""

    name: str  # short id used on the command line
    instruction: str  # the language instruction stored with every episode
    lift_height: float = 0.08  # lift: cube bottom this far above the table counts as lifted (m)

    def place_objects(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        cube = model.joint("cube").qposadr[0]
        x, y = rng.uniform(*CUBE_REGION[0]), rng.uniform(*CUBE_REGION[1])
        yaw = rng.uniform(-0.3, 0.3)
        data.qpos[cube:cube + 7] = [x, y, CUBE_HALF, np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]
        if self.name == "lift":
            target = (0.9, 0.45)  # off the working area: the pad plays no part
        else:
            # the pad lies 12-20 cm from the cube, toward the other side of the table
            side = -np.sign(y) if abs(y) > 1e-3 else 1.0
            target = (np.clip(x + rng.uniform(-0.06, 0.06), 0.35, 0.55), y + side * rng.uniform(0.12, 0.2))
        data.mocap_pos[0] = [target[0], target[1], 0.0005]

    def on_reset(self, arm) -> None:
        """Hook for tasks that need the arm set up differently; all current tasks start from home."""

    def success(self, arm) -> bool:
        cube = arm.body_pos("cube")
        if self.name == "lift":
            return bool(cube[2] - CUBE_HALF > self.lift_height)
        target = arm.data.mocap_pos[0]
        on_pad = np.linalg.norm(cube[:2] - target[:2]) < TARGET_RADIUS
        resting = cube[2] < CUBE_HALF + 0.005
        released = arm.get_observation()["robot0_gripper_width"][0] > 2 * CUBE_HALF + 0.01
        return bool(on_pad and resting and released)


TASKS: dict[str, SimTask] = {
    "lift": SimTask("lift", "lift the red cube"),
    "place": SimTask("place", "put the red cube on the green pad"),
}


def get_task(name: str) -> SimTask:
    return TASKS[name]
