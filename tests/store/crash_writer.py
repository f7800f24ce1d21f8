"""Recorder run as a subprocess by test_crash.py and killed with SIGKILL at a random moment.

Usage: crash_writer.py STORE LOG SEED. Records episodes forever; after each commit appends
"<index> <task> <length>" to LOG and fsyncs it, so the log lists only episodes whose commit returned, then
prints "committed" (the test waits for some of those, so kills land after real progress however loaded the
machine is).
Episode contents are a pure function of the task text (see episode_steps), so the test can rebuild them.
"""

import os
import sys

import numpy as np

from srpo.store import CameraSpec, EpisodeStore, StoreConfig

CONFIG = StoreConfig(cameras=(CameraSpec("camera0", 16, 20, depth=True), CameraSpec("camera1", 16, 20)),
                     control_rate_hz=30.0)


def episode_steps(store_keys: dict, task: str) -> list[dict]:
    """Every step of the episode recorded under `task` ("ep-<seed>")."""
    rng = np.random.default_rng(int(task.split("-")[1]))
    length = int(rng.integers(3, 40))
    steps = []
    for t in range(length):
        step = {}
        for key, spec in store_keys.items():
            if spec.image:
                step[key] = rng.integers(0, 256 if spec.dtype == np.uint8 else 4000, spec.shape).astype(spec.dtype)
            else:
                step[key] = rng.normal(size=spec.shape).astype(spec.dtype)
        step["timestamp"] = 1000.0 + t / 30.0
        steps.append(step)
    return steps


def main() -> None:
    path, log_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = EpisodeStore.create(path, CONFIG, exist_ok=True)
    print("ready", flush=True)
    k = 0
    while True:
        task = f"ep-{seed * 1000 + k}"
        k += 1
        with store.recorder(task=task, source="sim", flush_every=4) as ep:
            for step in episode_steps(store.keys, task):
                ep.add_step(step)
            ep.success = bool(k % 2)
        with open(log_path, "a") as log:
            log.write(f"{store.num_episodes - 1} {task} {len(episode_steps(store.keys, task))}\n")
            log.flush()
            os.fsync(log.fileno())
        print("committed", flush=True)


if __name__ == "__main__":
    main()
