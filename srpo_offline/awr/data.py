"""The episode store as a LeRobot training dataset: frames in LeRobot's key layout, its features and stats.

One sample is the observation at step t of an episode plus the action chunk a[t : t+H] (H = the policy's
`action_delta_indices`), padded past the episode's end with `action_is_pad` set, exactly what a
LeRobotDataset with `delta_timestamps` yields. `index` is the global step index into the store, which the
AWR weighter uses to look up the step's weight.
"""

from dataclasses import dataclass

import numpy as np
import torch

from srpo.errors import UserFacingError
from srpo.policy_io import ACTION, ENV_STATE, IMAGE_PREFIX, STATE, PolicyIO
from srpo.store import EpisodeStore

STATS_IMAGE_FRAMES = 256  # frames sampled per camera for image mean/std (LeRobot samples similarly)


def camera_names(store: EpisodeStore, io: PolicyIO = PolicyIO()) -> list[str]:
    return [cam.name for cam in store.config.cameras] if io.images else []


def state_dim(store: EpisodeStore, io: PolicyIO = PolicyIO()) -> int:
    return sum(store.keys[k].shape[0] for k in io.state_keys)


@dataclass
class StoreMeta:
    """The part of `LeRobotDatasetMetadata` that LeRobot's `make_policy` reads (features and stats)."""

    features: dict  # LeRobotDataset feature specs
    stats: dict  # {key: {"mean","std","min","max","q01",...: np.ndarray}}


def _vector_stats(store: EpisodeStore, keys: tuple[str, ...], steps: np.ndarray) -> dict:
    from lerobot.datasets.compute_stats import get_feature_stats

    arr = np.concatenate([store.data[k].get_orthogonal_selection((steps,)) for k in keys], axis=1)
    return get_feature_stats(arr.astype(np.float32), axis=0, keepdims=False)


def compute_stats(store: EpisodeStore, steps: np.ndarray, seed: int = 0, io: PolicyIO = PolicyIO()) -> dict:
    """Normalisation stats over the given global steps, with LeRobot's own stats function."""
    from lerobot.datasets.compute_stats import get_feature_stats

    steps = np.sort(steps)
    stats = {STATE: _vector_stats(store, io.state_keys, steps), ACTION: _vector_stats(store, (ACTION,), steps)}
    if io.environment_state_keys:
        stats[ENV_STATE] = _vector_stats(store, io.environment_state_keys, steps)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(steps, size=min(len(steps), STATS_IMAGE_FRAMES), replace=False))
    for cam in camera_names(store, io):
        frames = store.data[f"{cam}_rgb"].get_orthogonal_selection((sample,))  # N H W 3
        chw = frames.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        stats[IMAGE_PREFIX + cam] = get_feature_stats(chw, axis=(0, 2, 3), keepdims=True)
        stats[IMAGE_PREFIX + cam] = {k: v.reshape(3, 1, 1) if v.size == 3 else v
                                     for k, v in stats[IMAGE_PREFIX + cam].items()}
    return stats


def split_episodes(store: EpisodeStore, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Hold out whole episodes (never frames of a training episode): round(val_fraction * N), at least one
    when val_fraction > 0 and the store has two or more episodes."""
    episodes = [e.index for e in store.episodes() if e.length > 0]
    if not episodes:
        raise UserFacingError(f"{store.path} holds no episodes; record some first (`srpo robot record`).")
    n_val = int(round(val_fraction * len(episodes)))
    if val_fraction > 0 and len(episodes) > 1:
        n_val = min(max(n_val, 1), len(episodes) - 1)
    else:
        n_val = 0
    order = np.random.default_rng(seed).permutation(episodes)
    return sorted(order[n_val:].tolist()), sorted(order[:n_val].tolist())


class StoreChunkDataset(torch.utils.data.Dataset):
    """Map-style dataset over every step of the given episodes (LeRobot frame layout).

    State and actions (a few floats a step) are read into memory once; images are read per sample, one
    Zarr chunk per frame, so a DataLoader worker touches only the frames it serves.
    """

    def __init__(self, store: EpisodeStore, episodes: list[int], horizon: int, io: PolicyIO = PolicyIO()):
        self.store = store
        self.horizon = horizon
        self.cameras = camera_names(store, io)
        infos = {e.index: e for e in store.episodes()}
        rows = [(i, t) for i in episodes for t in range(infos[i].length)]
        self.items = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
        self.bounds = {i: (infos[i].start, infos[i].end) for i in episodes}
        self.tasks = {i: infos[i].task for i in episodes}
        self.state = np.concatenate([store.data[k][:] for k in io.state_keys], axis=1).astype(np.float32)
        self.env_state = (np.concatenate([store.data[k][:] for k in io.environment_state_keys], axis=1)
                          .astype(np.float32) if io.environment_state_keys else None)
        self.actions = store.data[ACTION][:].astype(np.float32)

    def __len__(self) -> int:
        return len(self.items)

    def global_indices(self) -> np.ndarray:
        """Global step index of every item."""
        return np.asarray([self.bounds[int(e)][0] + int(t) for e, t in self.items], dtype=np.int64)

    def __getitem__(self, idx: int) -> dict:
        episode, t = (int(v) for v in self.items[idx])
        start, end = self.bounds[episode]
        g = start + t
        # action chunk a[t : t+H]; past the episode's end the last action repeats and is marked as padding
        steps = np.minimum(np.arange(g, g + self.horizon), end - 1)
        item = {
            IMAGE_PREFIX + c: torch.from_numpy(self.store.data[f"{c}_rgb"][g]).permute(2, 0, 1).float().div_(255.0)
            for c in self.cameras
        }
        item[STATE] = torch.from_numpy(self.state[g])
        if self.env_state is not None:
            item[ENV_STATE] = torch.from_numpy(self.env_state[g])
        item[ACTION] = torch.from_numpy(self.actions[steps])
        item["action_is_pad"] = torch.from_numpy(np.arange(g, g + self.horizon) >= end)
        item["task"] = self.tasks[episode]
        item["index"] = torch.tensor(g)
        item["episode_index"] = torch.tensor(episode)
        item["frame_index"] = torch.tensor(t)
        return item
