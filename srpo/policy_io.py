"""How store observations become LeRobot policy inputs: the one mapping that the LeRobotDataset export
(`srpo data to-lerobot`), AWR training (`srpo train awr`) and deployment (`srpo robot deploy`) all use.

    observation.state            = concat(state keys), float32      (default STATE_KEYS, 11 values)
    observation.images.<camera>  = <camera>_rgb, uint8 H x W x 3   (camera0, camera1, ...)
    action                       = the store's `action` (ACTION_SPACE, 7 values)

A checkpoint may carry `srpo_io.json` ({"state_keys": [...]}) when it was trained on other state keys.
"""

import json
import re
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


def action_names(action_space: str, action_dim: int) -> list[str]:
    """'eef_delta_pos(3)+axis_angle(3)+gripper(1)' -> eef_delta_pos_0.., axis_angle_0.., gripper."""
    names: list[str] = []
    for part in action_space.split("+"):
        match = re.fullmatch(r"\s*([A-Za-z_][\w.]*)\((\d+)\)\s*", part)
        if not match:
            break
        base, n = match.group(1), int(match.group(2))
        names += [base] if n == 1 else [f"{base}_{i}" for i in range(n)]
    return names if len(names) == action_dim else [f"action_{i}" for i in range(action_dim)]


def lerobot_features(store, video: bool = False, state_keys: tuple[str, ...] = STATE_KEYS) -> dict[str, dict]:
    """LeRobotDataset feature specs of an episode store: what the export writes and what training hands to
    LeRobot's `make_policy` (via `dataset_to_policy_features`). video: cameras as "video" (mp4) not "image"."""
    cfg = store.config
    names = state_names(state_keys, {k: store.keys[k].shape[0] for k in state_keys})
    features = {
        STATE: {"dtype": "float32", "shape": (len(names),), "names": names},
        ACTION: {"dtype": "float32", "shape": (cfg.action_dim,),
                 "names": action_names(cfg.action_space, cfg.action_dim)},
    }
    for cam in cfg.cameras:
        features[IMAGE_PREFIX + cam.name] = {
            "dtype": "video" if video else "image",
            "shape": (cam.height, cam.width, 3),
            "names": ["height", "width", "channels"],
        }
    return features
