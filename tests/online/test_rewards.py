"""Trajectory rewards of the online trainer (grpo / srpo / oracle) and the signal-fraction statistic."""

import numpy as np
import pytest

from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.rewards import oracle_agreement, signal_fraction, trajectory_rewards

SUCCESS = np.array([True, False, False, False, False, False])
TASKS = np.zeros(6, int)
GROUPS = np.array([0, 0, 0, 1, 1, 1])
# group 0: one success and two failures; group 1 failed entirely, at different distances from the success
EMB = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [2.0, 0.0], [4.0, 0.0], [6.0, 0.0]])
ORACLE = np.array([1.0, 0.6, 0.4, 0.5, 0.3, 0.1])


def test_grpo_is_binary_and_leaves_an_all_failed_group_without_signal():
    r, _ = trajectory_rewards("grpo", SUCCESS, TASKS, EMB, ORACLE, alpha=0.8)
    assert r.tolist() == [1, 0, 0, 0, 0, 0]
    assert signal_fraction(r, GROUPS) == 0.5


def test_srpo_shapes_failures_by_distance_to_the_batch_successes_so_every_group_carries_signal():
    r, results = trajectory_rewards("srpo", SUCCESS, TASKS, EMB, ORACLE, variant="nearest", alpha=0.8)
    assert r[0] == 1.0 and np.all((r[1:] > 0) & (r[1:] < 0.8))
    assert np.all(np.diff(r[[1, 3, 2, 4, 5]]) < 0)  # closer to the success (distance 1, 2, 3, 4, 6): larger
    assert signal_fraction(r, GROUPS) == 1.0 and results[0].n_success == 1
    agree = oracle_agreement(r, ORACLE, SUCCESS)
    assert agree["oracle_spearman_failures"] == pytest.approx(1.0) and agree["oracle_spearman"] == pytest.approx(1.0)
    assert agree["oracle_failure_mean"] == pytest.approx(0.38)


def test_oracle_reward_is_one_on_success_and_the_progress_otherwise():
    r, _ = trajectory_rewards("oracle", SUCCESS, TASKS, EMB, ORACLE, alpha=0.8, keep=GROUPS == 1)
    assert np.isnan(r[:3]).all() and r[3:].tolist() == [0.5, 0.3, 0.1]
    assert signal_fraction(r, GROUPS) == 0.5  # group 0 was filtered out: no signal


def test_signal_fraction_edge_cases_and_unknown_reward():
    assert signal_fraction(np.array([0.3, 0.3, 0.7, 0.7]), np.array([0, 0, 1, 1])) == 0.0
    assert signal_fraction(np.array([0.3, np.nan]), np.array([0, 0])) == 0.0  # one reward left: no variance
    with pytest.raises(Exception, match="unknown reward"):
        Algorithm(reward="dense")
