"""The package sets its own rendering defaults: a sim recording works with MUJOCO_GL / PYOPENGL_PLATFORM unset."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from srpo.store import EpisodeStore

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, sys
import srpo.robot.cli  # what `srpo robot record` imports first (it once loaded mujoco before the defaults were set)
from srpo.robot.runner import RecordConfig, record_episodes
record_episodes(RecordConfig(task="lift", episodes=1, out=sys.argv[1], camera_height=32, camera_width=32,
                             max_steps=5), progress=False)
print("MUJOCO_GL=" + os.environ["MUJOCO_GL"], "PYOPENGL_PLATFORM=" + os.environ["PYOPENGL_PLATFORM"])
"""


def test_sim_recording_without_rendering_variables(tmp_path):
    out = tmp_path / "bare.zarr"
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    chosen = dict(item.split("=") for item in proc.stdout.split()[-2:])
    assert chosen["MUJOCO_GL"] in ("egl", "osmesa") and chosen["PYOPENGL_PLATFORM"] == chosen["MUJOCO_GL"]
    episode = EpisodeStore.open(out).episode(0)
    for camera in ("camera0_rgb", "camera1_rgb"):
        frames = episode[camera]
        assert frames.shape == (5, 32, 32, 3)
        assert np.all(frames.reshape(5, -1).max(axis=1) > 0) and frames.std() > 5  # rendered, not blank


def test_a_users_choice_is_kept(monkeypatch):
    from srpo.rendering import set_rendering_defaults

    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
    assert set_rendering_defaults() == "osmesa" and os.environ["PYOPENGL_PLATFORM"] == "osmesa"
