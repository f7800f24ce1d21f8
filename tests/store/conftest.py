"""Helpers for the store tests, as fixtures (random_step comes from tests/conftest.py)."""

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def crash_writer():
    """The crash_writer module (run as a subprocess by test_crash, imported here for episode_steps)."""
    path = Path(__file__).with_name("crash_writer.py")
    spec = importlib.util.spec_from_file_location("store_crash_writer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
