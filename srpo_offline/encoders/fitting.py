"""Fitting an encoder on a store's own episodes: the stage behind the `learned` and `state` encoders.

`fit_encoder(FitConfig(store=...))` trains a small network on the store's labelled episodes (one camera's frames
for `learned`, proprioception + object pose for `state`) and saves it in a cache keyed by a hash of the data it
saw (episode indices, tasks, labels, lengths and the inputs' bytes) and of the fit's settings; a second call on
the same data returns the cached file. `srpo reward fit STORE` runs it from the command line; `fit_on_data` fits on
data held in memory the same way (the online bench's warm-start demonstrations, `srpo_online_sim.demo_encoders`).

Objectives (`--objective`; measured on stores the fit never saw: docs/reward.md):
  goal_distance  the distance from a frame to the ending of a random successful episode, regressed onto the
                 frame's steps-to-go / the median success length: distance to the successes' endings IS time to
                 success on the references, so the DBSCAN centres of full successes sit at distance 0
  tcn            time-contrastive triplets (Sermanet et al. 2018): frames close in time near, far frames far
  vip            VIP's value loss (Ma et al. 2023) with each success's ending as the goal
  latent         latent prediction (the paper's world-model family, BYOL/JEPA style): a predictor maps the
                 embedding of frame t to the EMA target encoder's embedding of frame t + k
Only camera frames (or the named state keys) and success labels are read: a real recording works the same way.
"""

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from srpo.configs import POSITIONAL
from srpo.errors import UserFacingError

OBJECTIVES = ("goal_distance", "tcn", "vip", "latent")
STATE_KEYS = ("robot0_eef_pos", "robot0_gripper_width", "object0_pos", "target0_pos")  # present ones are used
FIT_VERSION = 1  # bump when fitting changes what a cached file holds


@dataclass(frozen=True)
class FitConfig:
    """Fit the `learned` (camera frames) or `state` (proprioception + object pose) encoder on a store's labelled
    episodes; the result is cached under --cache, keyed by the data and these settings."""

    store: str = field(default="", metadata=POSITIONAL)  # episode store directory
    encoder: str = "learned"  # learned (a CNN on one camera's frames) or state (an MLP on STATE_KEYS)
    camera: str = "camera0"  # store camera the learned encoder sees (ignored by state)
    objective: str = "goal_distance"  # goal_distance, tcn, vip or latent (see the module docstring)
    steps: int = 400  # optimiser updates (about a minute on one loaded core at 64 px)
    batch_size: int = 64  # frames per update
    size: int = 64  # frames are area-resized to size x size
    dim: int = 64  # embedding dimension
    lr: float = 1e-3  # Adam learning rate
    shift: int = 4  # random shift augmentation of frames, in pixels (learned only)
    seed: int = 0  # torch and sampling seed: the same data and seed give the same weights
    episodes: tuple[int, ...] = ()  # fit on these episode indices only; () = every episode of the store
    cache: str = ""  # cache directory; "" = $SRPO_ENCODER_CACHE or ~/.cache/srpo/encoders

    def settings(self) -> dict:
        """The settings that change the fitted weights (part of the cache key)."""
        return {k: v for k, v in asdict(self).items() if k not in ("store", "cache", "episodes")}


@dataclass(frozen=True, eq=False)
class FitData:
    """What a fit reads from the store: per-episode inputs and labels."""

    inputs: list  # per episode: uint8 T x size x size x 3 frames (learned) or float32 T x D features (state)
    success: list  # per episode: True / False / None
    tasks: list  # per episode: its task
    episodes: list  # the store's indices of these episodes
    keys: tuple  # state keys used (state), () for learned


def cache_dir(cfg: FitConfig) -> Path:
    return Path(cfg.cache or os.environ.get("SRPO_ENCODER_CACHE") or Path.home() / ".cache" / "srpo" / "encoders")


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 T x H x W x 3 -> T x size x size x 3 (area interpolation)."""
    import cv2

    if frames.shape[1:3] == (size, size):
        return frames
    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames])


def state_features(arrays: dict, keys: tuple[str, ...]) -> np.ndarray:
    """float32 T x D: the keys' values, the object's offset from the hand and the target's from the object."""
    parts = [np.asarray(arrays[k], np.float32).reshape(len(arrays[k]), -1) for k in keys]
    if "object0_pos" in keys and "robot0_eef_pos" in keys:
        parts.append(arrays["object0_pos"] - arrays["robot0_eef_pos"])
    if "target0_pos" in keys and "object0_pos" in keys:
        parts.append(arrays["target0_pos"] - arrays["object0_pos"])
    return np.concatenate(parts, axis=1).astype(np.float32)


def state_keys(store) -> tuple[str, ...]:
    keys = tuple(k for k in STATE_KEYS if k in store.keys)
    if "object0_pos" not in keys:
        raise UserFacingError(
            f"{store.path} has no object0_pos: the state encoder needs the object's pose with every step "
            "(the simulator records it; on a real robot, record a tracker's estimate under that key)")
    return keys


def read_fit_data(cfg: FitConfig) -> FitData:
    """The store's chosen episodes as the fit's inputs, refusing stores it cannot learn from."""
    from srpo.store import EpisodeStore

    if not cfg.store:
        raise UserFacingError("name the episode store to fit the encoder on (STORE)")
    if cfg.encoder not in ("learned", "state"):
        raise UserFacingError(f"--encoder must be learned or state, not {cfg.encoder!r}")
    if cfg.objective not in OBJECTIVES:
        raise UserFacingError(f"unknown --objective {cfg.objective!r}; use one of {', '.join(OBJECTIVES)}")
    store = EpisodeStore.open(cfg.store, mode="r")
    infos = store.episodes()
    chosen = list(cfg.episodes) or list(range(len(infos)))
    if any(not 0 <= i < len(infos) for i in chosen):
        raise UserFacingError(f"--episodes must lie in [0, {len(infos)}); got {list(cfg.episodes)}")
    success = [infos[i].success for i in chosen]
    if not any(s is True for s in success):
        raise UserFacingError(f"{cfg.store}: fitting an encoder needs at least one episode labelled successful "
                              "(the reference); label episodes with `srpo data label`")
    if cfg.encoder == "state":
        keys = state_keys(store)
        inputs = [state_features(store.episode(i, keys=list(keys)), keys) for i in chosen]
    else:
        keys = ()
        key = f"{cfg.camera}_rgb"
        if key not in store.keys:
            cams = ", ".join(c.name for c in store.config.cameras)
            raise UserFacingError(f"{cfg.store} has no camera {cfg.camera!r}; choose --camera from {cams}")
        inputs = [resize_frames(store.episode(i, keys=[key])[key], cfg.size) for i in chosen]
    return FitData(inputs, success, [infos[i].task for i in chosen], chosen, keys)


def data_hash(data: FitData) -> str:
    """sha256 of everything the fit sees: episode indices, tasks, labels and the inputs' bytes."""
    h = hashlib.sha256()
    for i, x, s, t in zip(data.episodes, data.inputs, data.success, data.tasks):
        h.update(json.dumps([i, t, s, list(x.shape), str(x.dtype)]).encode())
        h.update(np.ascontiguousarray(x).tobytes())
    h.update(json.dumps(list(data.keys)).encode())
    return h.hexdigest()


def state_sequence(observations: list[dict], keys: tuple[str, ...]) -> np.ndarray:
    """float32 T x D state features (`state_features`) of a list of per-step observation dicts (the simulator's)."""
    missing = [k for k in keys if k not in observations[0]]
    if missing:
        raise UserFacingError(f"the observations have no {missing}: the state encoder needs them at every step")
    return state_features({k: np.stack([np.asarray(o[k]) for o in observations]) for k in keys}, keys)


def fit_encoder(cfg: FitConfig, progress: bool = True) -> Path:
    """Fit (or find in the cache) the encoder for cfg's store and settings; returns the saved file's path."""
    return fit_on_data(cfg, read_fit_data(cfg), progress)


def fit_on_data(cfg: FitConfig, data: FitData, progress: bool = True, source: str = "") -> Path:
    """Fit (or find in the cache) the encoder for `data` (read from a store, or built in memory such as the online
    bench's demonstrations) and cfg's settings; `source` names where the data came from (default: cfg.store)."""
    digest = data_hash(data)
    key = hashlib.sha256(json.dumps([digest, cfg.settings(), FIT_VERSION]).encode()).hexdigest()[:20]
    path = cache_dir(cfg) / f"{cfg.encoder}-{key}.pt"
    if path.exists():
        return path
    import torch

    from srpo_offline.encoders.networks import make_network
    from srpo_offline.encoders.objectives import train

    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    in_dim = data.inputs[0].shape[1] if cfg.encoder == "state" else None
    stats = None
    if cfg.encoder == "state":
        allx = np.concatenate(data.inputs)
        stats = {"mean": allx.mean(0).tolist(), "std": np.maximum(allx.std(0), 1e-3).tolist()}
    net = make_network(cfg.encoder, cfg.dim, in_dim, stats)
    losses = train(net, data, cfg, progress=progress)
    meta = {"encoder": cfg.encoder, "settings": cfg.settings(), "camera": cfg.camera if cfg.encoder == "learned" else "state",
            "in_dim": in_dim, "stats": stats, "keys": list(data.keys), "store": source or str(cfg.store),
            "episodes": data.episodes, "n_success": sum(s is True for s in data.success), "data_hash": digest,
            "final_loss": losses[-1] if losses else None, "seconds": time.perf_counter() - t0, "version": FIT_VERSION}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": net.state_dict(), "meta": meta}, tmp)
    tmp.replace(path)  # a crash never leaves a half-written cache entry
    return path
