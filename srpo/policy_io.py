"""How store observations become LeRobot policy inputs: the one mapping that the LeRobotDataset export
(`srpo data to-lerobot`), AWR training (`srpo train awr`) and deployment (`srpo robot deploy`) all use.

    observation.state            = concat(state keys), float32      (default STATE_KEYS, 11 values)
    observation.images.<camera>  = <camera>_rgb, uint8 H x W x 3   (camera0, camera1, ...)
    action                       = the store's `action` (ACTION_SPACE, 7 values)

A checkpoint may carry `srpo_io.json` ({"state_keys": [...]}) when it was trained on other state keys.
"""

import json
from pathlib import Path

import numpy as np

# joint_pos(7) + eef_pos(3) + gripper_width(1). The tool's axis-angle is left out: the joints already fix the
# orientation, and axis-angle jumps between +pi and -pi exactly where a downward-pointing tool sits.
STATE_KEYS: tuple[str, ...] = ("robot0_joint_pos", "robot0_eef_pos", "robot0_gripper_width")
KEY_DIMS = {"robot0_joint_pos": 7, "robot0_eef_pos": 3, "robot0_eef_rot_axis_angle": 3, "robot0_gripper_width": 1}
IO_FILE = "srpo_io.json"
STATE = "observation.state"
ACTION = "action"
IMAGE_PREFIX = "observation.images."


def state_names(keys: tuple[str, ...] = STATE_KEYS, key_dims: dict[str, int] = KEY_DIMS) -> list[str]:
    """One name per observation.state entry, e.g. robot0_joint_pos_0 .. robot0_gripper_width_0."""
    return [f"{k}_{i}" for k in keys for i in range(key_dims[k])]


def state_vector(step: dict, keys: tuple[str, ...] = STATE_KEYS) -> np.ndarray:
    """observation.state for one step (or a batch of steps: arrays with a leading time axis)."""
    return np.concatenate([np.asarray(step[k], dtype=np.float32) for k in keys], axis=-1)


def read_state_keys(checkpoint: str | Path) -> tuple[str, ...]:
    path = Path(checkpoint) / IO_FILE
    if path.is_file():
        return tuple(json.loads(path.read_text())["state_keys"])
    return STATE_KEYS


def write_io(checkpoint: str | Path, state_keys: tuple[str, ...] = STATE_KEYS) -> None:
    """Record the state keys next to a saved policy (training writes this)."""
    (Path(checkpoint) / IO_FILE).write_text(json.dumps({"state_keys": list(state_keys)}, indent=2))


def policy_observation(step: dict, state_keys: tuple[str, ...], image_features: dict[str, str]) -> dict:
    """LeRobot raw observation (numpy) from a recorder step; image_features maps feature name -> camera."""
    obs = {STATE: state_vector(step, state_keys)}
    for feature, camera in image_features.items():
        obs[feature] = np.asarray(step[f"{camera}_rgb"])
    return obs
