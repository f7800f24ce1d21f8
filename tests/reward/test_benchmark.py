"""Progress Reward Benchmark metrics (appendix A) on hand-computed cases."""

import numpy as np
import pytest

from srpo_offline.benchmark import (
    js_divergence,
    mmd2,
    monotonicity,
    progress_metrics,
    smd,
    spearman_with_time,
)


def test_metric_primitives_hand_computed():
    assert spearman_with_time(np.array([0.0, 0.1, 0.5, 0.4])) == pytest.approx(0.8)  # 1 - 6*2/(4*15)
    assert spearman_with_time(np.array([3.0, 2.0, 1.0])) == pytest.approx(-1.0)
    assert spearman_with_time(np.full(5, 0.3)) == 0.0
    assert monotonicity(np.array([0.0, 0.5, 0.5, 1.0])) == pytest.approx(2 / 3)
    assert mmd2(np.array([1.0, 1.0]), np.array([0.0, 0.0])) == pytest.approx(2 - 2 * np.exp(-8.0))
    assert mmd2(np.array([0.3, 0.7]), np.array([0.7, 0.3])) == pytest.approx(0.0, abs=1e-15)
    assert js_divergence(np.array([0.95, 1.0]), np.array([0.0, 0.05])) == pytest.approx(np.log(2))
    assert js_divergence(np.array([0.0, 1.0]), np.array([0.0, 0.0])) == pytest.approx(
        0.5 * (0.5 * np.log(0.5 / 0.75) + 0.5 * np.log(2.0)) + 0.5 * np.log(1 / 0.75))
    # pooled sd: ((1 * 0.02) + (2 * 0.01)) / 3 -> sqrt(0.04 / 3)
    x, y = np.array([0.9, 1.1]), np.array([0.1, 0.2, 0.3])
    assert smd(x, y) == pytest.approx((1.0 - 0.2) / np.sqrt(0.04 / 3))
    assert smd(np.array([1.0, 1.0]), np.array([0.0, 0.0])) == pytest.approx(1000.0)  # sd floored at 1e-3


def test_progress_metrics_averages_over_tasks_and_skips_what_is_missing():
    up, down = np.linspace(0, 1, 5), np.linspace(1, 0, 5)
    progress = [up, down, np.linspace(0, 0.2, 5), up, np.full(5, np.nan), up[:3]]
    success = [True, True, False, True, False, None]
    tasks = ["a", "a", "a", "b", "b", "b"]
    m = progress_metrics(progress, success, tasks)
    a, b = m["per_task"]["a"], m["per_task"]["b"]
    assert a["SC"] == pytest.approx(0.0) and a["Mono"] == pytest.approx(0.5) and a["n_failure"] == 1
    assert b["SC"] == pytest.approx(1.0) and b["n_failure"] == 0 and b["MMD"] is None  # NaN curve skipped
    assert m["mean"]["SC"] == pytest.approx(0.5) and m["mean"]["Mono"] == pytest.approx(0.75)
    # finals of task a: successes 1, 0; failure 0.2 -> only task a counts for MMD
    assert m["mean"]["MMD"] == pytest.approx(mmd2(np.array([1.0, 0.0]), np.array([0.2])))
    assert m["settings"]["mmd_bandwidth"] == 0.25 and m["settings"]["js_bins"] == 10
