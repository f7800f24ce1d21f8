"""Shared test settings: headless rendering, offline hub, and a small synthetic-store factory."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from srpo.store import CameraSpec, EpisodeStore, StoreConfig  # noqa: E402


def random_step(store: EpisodeStore, rng: np.random.Generator, t: float) -> dict:
    """One step with random values for every key of `store`."""
    step = {}
    for key, spec in store.keys.items():
        if spec.image:
            step[key] = rng.integers(0, 256, spec.shape, dtype=spec.dtype)
        else:
            step[key] = rng.normal(size=spec.shape).astype(spec.dtype)
    step["timestamp"] = t
    return step


@pytest.fixture(name="random_step", scope="session")
def random_step_fixture():
    """random_step as a fixture: `from tests.conftest import ...` is unreliable (draccus ships a `tests` package)."""
    return random_step


@pytest.fixture
def make_store(tmp_path):
    """make_store(lengths=[..], successes=[..], tasks=[..]) -> EpisodeStore with random episodes."""

    def _make(lengths=(12, 15, 9), successes=(True, False, True), tasks=None, depth=False, size=(24, 32),
              name="store.zarr"):
        cfg = StoreConfig(cameras=(CameraSpec("camera0", *size, depth=depth), CameraSpec("camera1", *size)))
        store = EpisodeStore.create(tmp_path / name, cfg)
        rng = np.random.default_rng(0)
        tasks = tasks or ["pick the cube"] * len(lengths)
        for length, success, task in zip(lengths, successes, tasks):
            with store.recorder(task=task, source="sim", flush_every=5) as ep:
                for t in range(length):
                    ep.add_step(random_step(store, rng, t / 30.0))
                ep.success = success
        return store

    return _make
