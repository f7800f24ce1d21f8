"""Stores with a synthetic reward run for the training tests (tiny images, short episodes)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from srpo.store import EpisodeStore

RUN = "srpo_test"
sys.path.insert(0, str(Path(__file__).parent))  # tests import helpers.py (pytest runs in importlib mode)


def add_reward_run(store: EpisodeStore, seed: int = 0, name: str = RUN) -> dict:
    """Write a derived run with random advantages and AWR weights exp(A) clipped at 5."""
    rng = np.random.default_rng(seed)
    adv = rng.normal(size=store.num_steps).astype(np.float32)
    arrays = {
        "progress": np.cumsum(np.abs(adv)).astype(np.float32),
        "increment": adv.copy(),
        "advantage": adv,
        "weight": np.minimum(np.exp(adv), 5.0).astype(np.float32),
    }
    rw = EpisodeStore.open(store.path, mode="a")
    rw.write_derived(name, arrays, {"encoder": "synthetic", "beta": 1.0, "w_max": 5.0, "version": 1})
    return arrays


@pytest.fixture
def reward_store(make_store):
    """A 4-episode store (16x16 images, 2 cameras) with a synthetic reward run named RUN."""
    store = make_store(lengths=(10, 8, 9, 7), successes=(True, False, True, False), size=(16, 16))
    add_reward_run(store)
    return EpisodeStore.open(store.path, mode="r")
