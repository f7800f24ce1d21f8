"""The episode store's layout: keys, dtypes, codecs and root attrs (described for users in datasets/README.md).

A store is a Zarr group written in zarr format 2 (so zarr-python 2 tools such as diffusion_policy and UMI read
it) in the UMI replay-buffer style:

    <store>/
      data/<key>            every array shares the time axis; episodes are concatenated
      meta/episode_ends     int64 cumulative ends; extending it is the commit of an episode
      meta/success          int8 per episode: 1 success, 0 failure, -1 not labelled yet
      meta/task_index       int32 per episode, index into meta.attrs["tasks"]
      meta/source           int8 per episode, index into SOURCES
      meta/start_time       float64 per episode, UNIX seconds
      meta/status           int8 per episode, index into STATUSES
      derived/<run>/...     values computed from the recording (progress, advantages, weights) + provenance

Root attrs hold the schema version, control rate, robot, action space and the cameras' calibration.
"""

from dataclasses import asdict, dataclass, field

import numcodecs
import numpy as np

SCHEMA_VERSION = 1

SOURCES = ("teleop", "policy", "sim", "rosbag", "lerobot")  # append only: stores keep the index
STATUSES = ("complete", "incomplete", "aborted")  # incomplete: recovered after a crash; aborted: camera/arm fault
UNLABELLED = -1
PENDING_ATTR = "pending_episode"  # meta attrs: task/source/start of the episode being recorded (for recovery)

# Blosc for images, chosen with benchmarks/store_write.py (numbers in docs/store.md): lz4 level 5 without shuffle
# writes and reads fastest of the variants that compress at all (6.7x on rendered sim frames; noisy camera frames
# are incompressible for every LZ codec, so there it costs no more than no compression). zstd or bit-shuffle
# gain 1.1-1.3x on camera frames for about half the write throughput and slower reads.
IMAGE_COMPRESSOR = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.NOSHUFFLE)
LOWDIM_COMPRESSOR = numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE)
LOWDIM_CHUNK = 1024  # steps per chunk for state/action/timestamp arrays
ARM_JOINTS = 7  # joints of the xArm 7: the default length of robot0_joint_pos, for recordings and imports


@dataclass(frozen=True)
class CameraSpec:
    """One camera stream: its image size and what is known of its calibration."""

    name: str  # "camera0", "camera1", ... (UMI style; the key prefix of its arrays)
    height: int  # image rows
    width: int  # image columns
    depth: bool = False  # also record an aligned uint16 depth image (millimetres)
    serial: str | None = None  # device serial (RealSense) or a stable id (sim camera name)
    intrinsics: dict | None = None  # {"fx","fy","cx","cy","distortion":[...],"model":...} in pixels
    extrinsics: dict | None = None  # {"frame": "base"|"ee", "T": 4x4 list}: camera pose in that frame


@dataclass(frozen=True)
class StoreConfig:
    """What a new store records; written into the root attrs."""

    cameras: tuple[CameraSpec, ...]  # the camera streams, in camera0..N order
    control_rate_hz: float  # rate at which steps are recorded; no default: the recorder or importer sets it
    action_dim: int = 7  # length of the commanded action vector
    joint_dim: int = ARM_JOINTS  # length of robot0_joint_pos
    robot: str = "ufactory_xarm7"  # robot model
    action_space: str = "eef_delta_pos(3)+axis_angle(3)+gripper(1)"  # how to read `action`
    calibration: dict = field(default_factory=dict)  # summary of the `srpo calib` file in use; {} if none
    extra_keys: dict = field(default_factory=dict)  # more float32 state vectors per step, name -> length (the simulator's privileged object state)

    def to_attrs(self) -> dict:
        attrs = asdict(self)
        attrs["cameras"] = [asdict(c) for c in self.cameras]
        return {"schema_version": SCHEMA_VERSION, **attrs}

    @classmethod
    def from_attrs(cls, attrs: dict) -> "StoreConfig":
        cams = tuple(CameraSpec(**c) for c in attrs["cameras"])
        keys = ("action_dim", "joint_dim", "control_rate_hz", "robot", "action_space", "calibration", "extra_keys")
        return cls(cameras=cams, **{k: attrs[k] for k in keys if k in attrs})


@dataclass(frozen=True)
class KeySpec:
    """dtype and per-step shape of one data array."""

    dtype: np.dtype
    shape: tuple[int, ...]
    image: bool = False


def data_keys(config: StoreConfig) -> dict[str, KeySpec]:
    """Every `data/` array a store with this config holds, with its dtype and per-step shape."""
    keys: dict[str, KeySpec] = {}
    for cam in config.cameras:
        keys[f"{cam.name}_rgb"] = KeySpec(np.dtype(np.uint8), (cam.height, cam.width, 3), image=True)
        if cam.depth:
            keys[f"{cam.name}_depth"] = KeySpec(np.dtype(np.uint16), (cam.height, cam.width), image=True)
        keys[f"{cam.name}_timestamp"] = KeySpec(np.dtype(np.float64), ())  # capture time of the paired frame
    keys["robot0_joint_pos"] = KeySpec(np.dtype(np.float32), (config.joint_dim,))
    keys["robot0_eef_pos"] = KeySpec(np.dtype(np.float32), (3,))  # metres, base frame
    keys["robot0_eef_rot_axis_angle"] = KeySpec(np.dtype(np.float32), (3,))
    keys["robot0_gripper_width"] = KeySpec(np.dtype(np.float32), (1,))  # metres
    for name, length in config.extra_keys.items():
        keys[name] = KeySpec(np.dtype(np.float32), (int(length),))
    keys["action"] = KeySpec(np.dtype(np.float32), (config.action_dim,))
    # control-tick time; written last in every flush, so a finite value marks a fully written step
    keys["timestamp"] = KeySpec(np.dtype(np.float64), ())
    return keys


META_ARRAYS: dict[str, np.dtype] = {
    "success": np.dtype(np.int8),
    "task_index": np.dtype(np.int32),
    "source": np.dtype(np.int8),
    "start_time": np.dtype(np.float64),
    "status": np.dtype(np.int8),
}
