"""Shared test settings (headless rendering, offline hub) and the one builder of random test stores.

Helpers reach tests as fixtures: `from tests.conftest import ...` is unreliable (draccus ships a `tests` package).
"""

import os
import tempfile

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SRPO_ENCODER_CACHE", tempfile.mkdtemp(prefix="srpo-test-encoders-"))  # fitted encoders of this run

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from srpo.store import CameraSpec, EpisodeStore, StoreConfig  # noqa: E402

TEST_RATE_HZ = 30.0  # control rate of the test stores; their timestamps step by 1 / TEST_RATE_HZ


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


def record_random_store(path, lengths=(12, 15, 9), successes=(True, False, True), tasks=None, *, cameras=None,
                        depth=False, size=(24, 32), source="sim", seed=0, flush_every=5, camera_offset=None,
                        **config) -> EpisodeStore:
    """A new store at `path` holding random episodes with these lengths, success labels and tasks.

    cameras: the CameraSpecs (default camera0, with depth if `depth`, and camera1, both `size`); config: other
    StoreConfig fields. camera_offset: when given, every camera timestamp is the step's time plus this offset
    (monotonic camera clocks) instead of random.
    """
    if cameras is None:
        cameras = (CameraSpec("camera0", *size, depth=depth), CameraSpec("camera1", *size))
    store = EpisodeStore.create(path, StoreConfig(cameras=tuple(cameras), control_rate_hz=TEST_RATE_HZ, **config))
    rng = np.random.default_rng(seed)
    tasks = tasks or ["pick the cube"] * len(lengths)
    for length, success, task in zip(lengths, successes, tasks):
        with store.recorder(task=task, source=source, flush_every=flush_every) as ep:
            for t in range(length):
                step = random_step(store, rng, t / TEST_RATE_HZ)
                if camera_offset is not None:
                    for cam in store.config.cameras:
                        step[f"{cam.name}_timestamp"] = t / TEST_RATE_HZ + camera_offset
                ep.add_step(step)
            ep.success = success
    return store


@pytest.fixture(name="random_step", scope="session")
def random_step_fixture():
    """random_step(store, rng, t) -> one step with random values for every key."""
    return random_step


@pytest.fixture(name="record_random_store", scope="session")
def record_random_store_fixture():
    """record_random_store(path, ...) -> EpisodeStore; for module-scoped fixtures (make_store needs tmp_path)."""
    return record_random_store


@pytest.fixture
def make_store(tmp_path):
    """make_store(lengths=[..], successes=[..], tasks=[..], name=..., ...) -> a random store under tmp_path."""

    def _make(lengths=(12, 15, 9), successes=(True, False, True), tasks=None, name="store.zarr", **options):
        return record_random_store(tmp_path / name, lengths, successes, tasks, **options)

    return _make
