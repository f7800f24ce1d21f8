"""Stores with a synthetic reward run for the training tests (tiny images, short episodes)."""

import sys
from pathlib import Path

import pytest

from srpo.store import EpisodeStore

sys.path.insert(0, str(Path(__file__).parent))  # tests import train_helpers.py (pytest runs in importlib mode)

from train_helpers import add_reward_run  # noqa: E402


@pytest.fixture
def reward_store(make_store):
    """A 4-episode store (16x16 images, 2 cameras) with a synthetic reward run named RUN."""
    store = make_store(lengths=(10, 8, 9, 7), successes=(True, False, True, False), size=(16, 16))
    add_reward_run(store)
    return EpisodeStore.open(store.path, mode="r")
