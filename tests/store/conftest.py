"""Helpers for the store tests, as fixtures: draccus installs a top-level `tests` package into site-packages,
so `from tests... import` is not reliable outside pytest's own module registration."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest


def _random_step(store, rng: np.random.Generator, t: float) -> dict:
    """One step with random values for every key of `store` (same as tests/conftest.random_step)."""
    step = {}
    for key, spec in store.keys.items():
        if spec.image:
            step[key] = rng.integers(0, 256, spec.shape, dtype=spec.dtype)
        else:
            step[key] = rng.normal(size=spec.shape).astype(spec.dtype)
    step["timestamp"] = t
    return step


@pytest.fixture(scope="session")
def random_step():
    return _random_step


@pytest.fixture(scope="session")
def crash_writer():
    """The crash_writer module (run as a subprocess by test_crash, imported here for episode_steps)."""
    path = Path(__file__).with_name("crash_writer.py")
    spec = importlib.util.spec_from_file_location("store_crash_writer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
