"""Export an episode store to a LeRobotDataset v3 with LeRobot's own writer (create / add_frame / save_episode /
finalize), so that `LeRobotDataset(repo_id, root=out)` loads it offline.

Keys written:
    observation.state            float32: srpo.policy_io.STATE_KEYS concatenated (joint positions, eef position,
                                 gripper width), the same state that `srpo train awr` and deployment use
    observation.images.<camera>  uint8 HxWx3, PNG (lossless, the default) or mp4 with --video
    action                       float32 [action_dim], named from the store's action_space attr
    task                         the episode's instruction (LeRobot's task / task_index)
    srpo.<key>                   every other per-step vector of the store (timestamps, camera timestamps, the
                                 tool's axis-angle, simulator state), and srpo.success (the episode's label per
                                 frame: 1, 0, -1 unlabelled): no policy reads them; `srpo data from-lerobot`
                                 restores the store from them exactly
Depth images are not exported (LeRobot 0.6 stores depth only as quantised video); the store keeps them.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srpo.configs import POSITIONAL
from srpo.errors import StoreError
from srpo.policy_io import (
    ACTION,
    CARRY_PREFIX,
    IMAGE_PREFIX,
    STATE,
    STATE_KEYS,
    SUCCESS,
    lerobot_features,
    state_vector,
)
from srpo.store.episode_store import EpisodeStore

BLOCK = 64  # steps read from the store at a time (bounded memory for long episodes)
# The smallest frames LeRobot 0.6.1's default video encoder (SVT-AV1) takes, measured one size at a time
# (tests/store/test_lerobot_export.py): 24 columns kill the process with SIGFPE, 25 encode; 3 rows are refused
# by avcodec_open2, 4 encode.
MIN_VIDEO_HEIGHT, MIN_VIDEO_WIDTH = 4, 25


@dataclass(frozen=True)
class LeRobotExportConfig:
    """Write the store as a LeRobotDataset v3 (LeRobot's own writer) that `LeRobotDataset(REPO_ID, root=OUT)`
    loads offline. Images are stored lossless by default (frames read back identical); --video encodes mp4
    instead (smaller, lossy)."""

    path: str = field(metadata=POSITIONAL)  # the store directory
    out: str = field(metadata=POSITIONAL)  # the dataset root to create (must not exist)
    repo_id: str  # dataset name, e.g. myuser/xarm_pick (no upload happens)
    video: bool = False  # encode camera streams as mp4 (lossy) instead of PNG
    episodes: tuple[int, ...] | None = None  # export only these episode indices (negative counts from the end)
    include_incomplete: bool = False  # also export episodes marked incomplete or aborted (skipped by default)
    image_writer_threads: int = 2  # threads LeRobot uses to write PNG frames


def carried_keys(store) -> list[str]:
    """The store's per-step vectors that observation.state and action leave out (written as srpo.<key>)."""
    return [k for k, spec in store.keys.items() if not spec.image and k not in (*STATE_KEYS, ACTION)]


def carried_features(store) -> dict[str, dict]:
    """LeRobot feature specs of the carried values: float64 timestamps, float32 vectors, the int8 label."""
    features = {}
    for key in carried_keys(store):
        spec = store.keys[key]
        features[CARRY_PREFIX + key] = {"dtype": str(spec.dtype), "shape": spec.shape or (1,), "names": None}
    features[SUCCESS] = {"dtype": "int8", "shape": (1,), "names": None}
    return features


def export_to_lerobot(path: str | Path, out: str | Path, repo_id: str, **options) -> dict:
    """`export` with the other fields of LeRobotExportConfig as keyword options."""
    return export(LeRobotExportConfig(path=str(path), out=str(out), repo_id=repo_id, **options))


def export(cfg: LeRobotExportConfig) -> dict:
    """Write the store at `cfg.path` as a LeRobotDataset under `cfg.out`; returns {"episodes", "frames",
    "skipped", "source_episodes"}."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    from tqdm import tqdm

    store = EpisodeStore.open(cfg.path, mode="r")
    out = Path(cfg.out)
    if out.exists():
        raise StoreError(f"{out} already exists; LeRobot writes a new dataset root. Choose a new OUT or remove it.")
    small = [f"{c.name} ({c.height}x{c.width})" for c in store.config.cameras
             if c.height < MIN_VIDEO_HEIGHT or c.width < MIN_VIDEO_WIDTH]
    if cfg.video and small:
        raise StoreError(f"--video: LeRobot's AV1 encoder crashes on frames under {MIN_VIDEO_HEIGHT} rows or "
                         f"{MIN_VIDEO_WIDTH} columns, and {', '.join(small)} are smaller; export without --video "
                         "(PNG, lossless) or record larger images")
    fps = store.config.control_rate_hz
    if abs(fps - round(fps)) > 1e-6:
        raise StoreError(f"LeRobot datasets need an integer fps; the store records at {fps} Hz")
    infos = store.episodes()
    chosen = [infos[store.episode_index(i)] for i in cfg.episodes] if cfg.episodes is not None else infos
    keep = [e for e in chosen if cfg.include_incomplete or e.status == "complete"]
    skipped = [e.index for e in chosen if e not in keep]
    if not keep:
        raise StoreError(f"no episodes to export from {cfg.path} (skipped {skipped}: not complete; "
                         "--include-incomplete exports them)")

    dataset = LeRobotDataset.create(
        repo_id=cfg.repo_id, fps=int(round(fps)), features={**lerobot_features(store, cfg.video), **carried_features(store)}, root=out,
        robot_type=store.config.robot, use_videos=cfg.video, image_writer_threads=cfg.image_writer_threads,
    )
    cams = [c.name for c in store.config.cameras]
    carried = carried_keys(store)
    keys = [*STATE_KEYS, ACTION, *carried, *(f"{c}_rgb" for c in cams)]
    frames = 0
    try:
        for info in tqdm(keep, desc="episodes", unit="ep"):
            label = np.array([-1 if info.success is None else int(info.success)], np.int8)
            for start in range(0, info.length, BLOCK):
                block = store.steps(info.index, start, start + BLOCK, keys=keys)
                state = state_vector(block)
                for j in range(len(state)):
                    frame = {STATE: state[j], ACTION: block[ACTION][j], "task": info.task, SUCCESS: label}
                    for k in carried:
                        frame[CARRY_PREFIX + k] = block[k][j].reshape(-1)
                    for c in cams:
                        frame[IMAGE_PREFIX + c] = block[f"{c}_rgb"][j]
                    dataset.add_frame(frame)
            dataset.save_episode()
            frames += info.length
    finally:
        dataset.finalize()
    return {"episodes": len(keep), "frames": frames, "skipped": skipped,
            "source_episodes": [e.index for e in keep]}
