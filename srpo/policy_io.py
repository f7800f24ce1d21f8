"""How store observations become LeRobot policy inputs: the one mapping that the LeRobotDataset export
(`srpo data to-lerobot`), AWR training (`srpo train awr`) and deployment (`srpo robot deploy`) all use.

    observation.state              = concat(state keys), float32      (default STATE_KEYS, 11 values)
    observation.environment_state  = concat(environment state keys)   (default none; e.g. the sim's object0_pos)
    observation.images.<camera>    = <camera>_rgb, uint8 H x W x 3   (camera0, camera1, ...; PolicyIO.images)
    action                         = the store's `action` (ACTION_SPACE, 7 values)

A training config chooses the keys (`PolicyIO`); the checkpoint records them in `srpo_io.json`
({"state_keys": [...], "environment_state_keys": [...]}) and deployment reads them back from there.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srpo.errors import UserFacingError

# joint_pos(7) + eef_pos(3) + gripper_width(1). The tool's axis-angle is left out: the joints already fix the
# orientation, and axis-angle jumps between +pi and -pi exactly where a downward-pointing tool sits.
STATE_KEYS: tuple[str, ...] = ("robot0_joint_pos", "robot0_eef_pos", "robot0_gripper_width")
KEY_DIMS = {"robot0_joint_pos": 7, "robot0_eef_pos": 3, "robot0_eef_rot_axis_angle": 3, "robot0_gripper_width": 1,
            "object0_pos": 3, "object0_quat": 4, "target0_pos": 3}  # the last three: simulator-only (privileged)
# The sim's privileged object state (datasets/README.md): where the cube is and where it should go.
SIM_ENVIRONMENT_KEYS: tuple[str, ...] = ("object0_pos", "target0_pos")
IO_FILE = "srpo_io.json"
STATE = "observation.state"
ENV_STATE = "observation.environment_state"
ACTION = "action"
IMAGE_PREFIX = "observation.images."


@dataclass(frozen=True)
class PolicyIO:
    """Which store keys feed the policy: the one choice training, export and deployment share."""

    state_keys: tuple[str, ...] = STATE_KEYS  # store keys concatenated into observation.state
    environment_state_keys: tuple[str, ...] = ()  # store keys concatenated into observation.environment_state (none: no such input)
    images: bool = True  # feed every camera as observation.images.<camera>; False: a state-only policy

    def check(self, store) -> None:
        """A clear error when the store lacks a chosen key or a key is not a vector."""
        if not self.state_keys:
            raise UserFacingError("choose at least one state key (observation.state), e.g. robot0_eef_pos")
        for key in (*self.state_keys, *self.environment_state_keys):
            spec = store.keys.get(key)
            if spec is None or spec.image or len(spec.shape) != 1:
                vectors = sorted(k for k, v in store.keys.items() if not v.image and len(v.shape) == 1)
                raise UserFacingError(f"{store.path} has no state vector {key!r}; choose from {', '.join(vectors)}")
        if not self.images and not self.environment_state_keys:
            raise UserFacingError("a policy without images needs environment state keys (e.g. object0_pos "
                                  "target0_pos on the sim) or images")

    def to_json(self) -> dict:
        return {"state_keys": list(self.state_keys), "environment_state_keys": list(self.environment_state_keys)}


def state_names(keys: tuple[str, ...] = STATE_KEYS, key_dims: dict[str, int] = KEY_DIMS) -> list[str]:
    """One name per observation.state entry, e.g. robot0_joint_pos_0 .. robot0_gripper_width_0."""
    return [f"{k}_{i}" for k in keys for i in range(key_dims[k])]


def state_vector(step: dict, keys: tuple[str, ...] = STATE_KEYS) -> np.ndarray:
    """observation.state for one step (or a batch of steps: arrays with a leading time axis)."""
    return np.concatenate([np.asarray(step[k], dtype=np.float32) for k in keys], axis=-1)


def read_io(checkpoint: str | Path) -> PolicyIO:
    """The keys a checkpoint was trained on (srpo_io.json; without one: STATE_KEYS, no environment state)."""
    path = Path(checkpoint) / IO_FILE
    if path.is_file():
        saved = json.loads(path.read_text())
        return PolicyIO(tuple(saved["state_keys"]), tuple(saved.get("environment_state_keys", ())))
    return PolicyIO()


def write_io(checkpoint: str | Path, state_keys: tuple[str, ...] = STATE_KEYS,
             environment_state_keys: tuple[str, ...] = ()) -> None:
    """Record the state keys next to a saved policy (training writes this)."""
    io = PolicyIO(tuple(state_keys), tuple(environment_state_keys))
    (Path(checkpoint) / IO_FILE).write_text(json.dumps(io.to_json(), indent=2))


def policy_observation(step: dict, state_keys: tuple[str, ...], image_features: dict[str, str],
                       environment_state_keys: tuple[str, ...] = ()) -> dict:
    """LeRobot raw observation (numpy) from a recorder step; image_features maps feature name -> camera."""
    obs = {STATE: state_vector(step, state_keys)}
    if environment_state_keys:
        obs[ENV_STATE] = state_vector(step, environment_state_keys)
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


def lerobot_features(store, video: bool = False, state_keys: tuple[str, ...] = STATE_KEYS,
                     io: PolicyIO | None = None) -> dict[str, dict]:
    """LeRobotDataset feature specs of an episode store: what the export writes and what training hands to
    LeRobot's `make_policy` (via `dataset_to_policy_features`). video: cameras as "video" (mp4) not "image".
    io (when given) overrides state_keys and adds environment state / drops the cameras."""
    cfg = store.config
    io = io or PolicyIO(tuple(state_keys))
    dims = {k: store.keys[k].shape[0] for k in (*io.state_keys, *io.environment_state_keys)}
    names = state_names(io.state_keys, dims)
    features = {
        STATE: {"dtype": "float32", "shape": (len(names),), "names": names},
        ACTION: {"dtype": "float32", "shape": (cfg.action_dim,),
                 "names": action_names(cfg.action_space, cfg.action_dim)},
    }
    if io.environment_state_keys:
        env_names = state_names(io.environment_state_keys, dims)
        features[ENV_STATE] = {"dtype": "float32", "shape": (len(env_names),), "names": env_names}
    for cam in cfg.cameras if io.images else ():
        features[IMAGE_PREFIX + cam.name] = {
            "dtype": "video" if video else "image",
            "shape": (cam.height, cam.width, 3),
            "names": ["height", "width", "channels"],
        }
    return features
