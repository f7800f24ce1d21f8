"""Crash safety: a recorder subprocess SIGKILLed at random points loses no committed episode."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from srpo.store import EpisodeStore
from srpo.store.validate import validate_store

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20


def _run_and_kill(store: Path, log: Path, seed: int, commits: int, delay: float) -> None:
    """Start a recorder, let it commit `commits` episodes, then SIGKILL it `delay` seconds later."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("crash_writer.py")), str(store), str(log),
                             str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    for expected in ["ready"] + ["committed"] * commits:
        line = proc.stdout.readline()
        assert line.strip() == expected.encode(), proc.stderr.read().decode()
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()


def test_sigkill_at_random_points_never_loses_committed_episodes(tmp_path, crash_writer):
    episode_steps = crash_writer.episode_steps
    store_path, log = tmp_path / "crash.zarr", tmp_path / "committed.log"
    rng = np.random.default_rng(1234)
    recovered = truncated = requested = 0
    for i in range(KILLS):
        commits = int(rng.integers(0, 3))
        requested += commits
        _run_and_kill(store_path, log, seed=i + 1, commits=commits, delay=float(rng.uniform(0, 0.15)))
        before = EpisodeStore.open(store_path, mode="r")
        pending, n_before = before.uncommitted_steps(), before.num_episodes
        mode = "recover" if i % 2 == 0 else "truncate"
        store = EpisodeStore.open(store_path, mode="a", on_uncommitted=mode)  # repairs what the kill left
        assert store.uncommitted_steps() == 0
        if pending and mode == "recover" and store.num_episodes == n_before + 1:
            recovered += 1
        truncated += pending > 0 and mode == "truncate"
        report = validate_store(store_path)
        assert report.ok, "\n".join(map(str, report.errors))

    store = EpisodeStore.open(store_path, mode="r")
    episodes = store.episodes()
    committed = [line.split() for line in log.read_text().splitlines()]
    assert len(committed) >= requested > KILLS // 2
    by_task = {e.task: e for e in episodes}
    for index, task, length in committed:  # every logged commit is there, with its contents intact
        info = by_task[task]
        assert (info.index, info.status, info.length) == (int(index), "complete", int(length))
        expected = episode_steps(store.keys, task)
        got = store.episode(info.index)
        for key in store.keys:
            np.testing.assert_array_equal(got[key], np.stack([s[key] for s in expected]), err_msg=f"{task} {key}")
    for info in episodes:  # recovered episodes hold exactly a prefix of what was being recorded, nothing stale
        if info.status == "incomplete":
            assert info.success is None
            expected = episode_steps(store.keys, info.task)
            got = store.episode(info.index)
            assert 0 < info.length <= len(expected)
            for key in store.keys:
                np.testing.assert_array_equal(got[key], np.stack([s[key] for s in expected[: info.length]]))
    assert recovered + truncated > 0, "no kill landed mid-episode; the test exercised nothing"
