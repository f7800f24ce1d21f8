"""Trajectory-level rewards (paper eq. 5): hand-computed cases, edge cases and properties."""

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from srpo_offline.clustering import ClusterConfig, cluster_references
from srpo_offline.progress import RewardInputError, grouped_trajectory_rewards, trajectory_rewards


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


# two successes (0,0), (0,2) -> one cluster, centre (0,1); failures at distance 3 and 4 from it
EMB = np.array([[0.0, 0.0], [0.0, 2.0], [3.0, 1.0], [0.0, 5.0]])
OK = np.array([True, True, False, False])


def test_paper_hand_computed():
    r = trajectory_rewards(EMB, OK)
    assert r.n_clusters == 1 and r.n_noise == 0 and not r.fell_back_to_mean
    np.testing.assert_allclose(r.centres, [[0.0, 1.0]])
    np.testing.assert_allclose(r.distances, [1.0, 1.0, 3.0, 4.0])
    # mean_fail 3.5, std_fail 0.5 -> z = -1, +1 -> 0.8 * sigmoid(1), 0.8 * sigmoid(-1)
    np.testing.assert_allclose(r.rewards, [1.0, 1.0, 0.8 * sig(1.0), 0.8 * sig(-1.0)])
    np.testing.assert_allclose(r.rewards[2:], [0.5848468629, 0.2151531371], atol=1e-9)


def test_siirl_hand_computed():
    r = trajectory_rewards(EMB, OK, variant="siirl")
    # StandardScaler + eps=0.5: the two successes are 2 standardised units apart -> both noise -> mean
    assert r.fell_back_to_mean and r.n_clusters == 0 and r.n_noise == 2
    np.testing.assert_allclose(r.centres, [[0.0, 1.0]])
    # nd = 0 and 1 -> 0.6 * sigmoid(10 * 0.5), 0.6 * sigmoid(-5)
    np.testing.assert_allclose(r.rewards, [1.0, 1.0, 0.6 * sig(5.0), 0.6 * sig(-5.0)])


def test_nearest_uses_single_successes_and_can_flip_the_order():
    r = trajectory_rewards(EMB, OK, variant="nearest")
    # (3,1) is sqrt(10) from both successes, (0,5) is 3 from (0,2): the order of the two failures flips
    np.testing.assert_allclose(r.distances[2:], [np.sqrt(10.0), 3.0])
    np.testing.assert_allclose(r.rewards[2:], [0.8 * sig(-1.0), 0.8 * sig(1.0)])
    assert r.n_clusters == 2


def test_fixed_reference_shapes_failures_without_batch_successes():
    ref = np.array([[0.0, 0.0], [0.0, 2.0]])
    emb = np.array([[3.0, 1.0], [0.0, 5.0]])
    r = trajectory_rewards(emb, np.array([False, False]), variant="fixed-reference", reference=ref)
    np.testing.assert_allclose(r.rewards, [0.8 * sig(1.0), 0.8 * sig(-1.0)])
    with pytest.raises(RewardInputError, match="reference"):
        trajectory_rewards(emb, np.array([False, False]), variant="fixed-reference")
    with pytest.raises(RewardInputError, match="reference"):
        trajectory_rewards(emb, np.array([False, False]), reference=ref)


def test_dbscan_finds_two_strategies_and_noise():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.1, (5, 2))
    b = rng.normal(0, 0.1, (5, 2)) + [10.0, 0.0]
    outlier = np.array([[5.0, 8.0]])
    refs = np.concatenate([a, b, outlier])
    c = cluster_references(refs)
    assert c.n_clusters == 2 and c.n_noise == 1 and not c.fell_back_to_mean
    centres = c.centres[np.argsort(c.centres[:, 0])]
    np.testing.assert_allclose(centres, [a.mean(0), b.mean(0)], atol=1e-12)
    # a failure next to strategy b is scored against b, not against the mean of all successes
    emb = np.concatenate([refs, [[9.0, 0.0]], [[3.0, 0.0]]])
    ok = np.r_[np.ones(len(refs), bool), False, False]
    r = trajectory_rewards(emb, ok)
    assert r.distances[-2] < 1.2 and r.rewards[-2] > r.rewards[-1]


def test_high_dimensional_clusters_where_the_authors_setting_falls_back():
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1, (2, 1408))
    refs = np.concatenate([c + rng.normal(0, 0.1, (6, 1408)) for c in centres])
    ours = cluster_references(refs)
    theirs = cluster_references(refs, ClusterConfig.siirl())
    assert ours.n_clusters == 2 and ours.n_noise == 0
    assert theirs.fell_back_to_mean and theirs.n_noise == 12


def test_edge_no_successes_gives_zero_with_warning(caplog):
    with caplog.at_level(logging.WARNING):
        r = trajectory_rewards(np.ones((3, 4)), np.zeros(3, bool))
    np.testing.assert_array_equal(r.rewards, 0.0)
    assert "plain GRPO" in r.note and "plain GRPO" in caplog.text
    assert np.isnan(r.distances).all() and r.centres.shape == (0, 4)


def test_edge_no_failures_one_failure_equal_distances_one_success():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(trajectory_rewards(x, np.ones(4, bool)).rewards, 1.0)
    one_fail = trajectory_rewards(x, np.array([True, True, True, False]), alpha=0.6)
    assert one_fail.rewards[-1] == pytest.approx(0.3)
    # failures on a circle around the single success: all distances equal -> alpha / 2
    ring = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    eq = trajectory_rewards(ring, np.array([True, False, False, False]))
    np.testing.assert_allclose(eq.rewards, [1.0, 0.4, 0.4, 0.4])
    assert eq.fell_back_to_mean and eq.n_clusters == 0  # one success cannot form a DBSCAN cluster
    np.testing.assert_allclose(eq.centres, [[0.0, 0.0]])
    # siiRL: a failure-distance range below 1e-6 gives nd = 0.5 -> 0.6 * sigmoid(0) = 0.3 (was pinned at
    # 0.6 * sigmoid(5), the nd = 0 of this project's earlier reading; issue 12)
    assert trajectory_rewards(ring, np.array([True, False, False, False]), variant="siirl").rewards[1] == (
        pytest.approx(0.3))
    empty = trajectory_rewards(np.zeros((0, 3)), np.zeros(0, bool))
    assert empty.rewards.shape == (0,)


def test_bad_input_errors():
    x = np.ones((3, 2))
    x[1, 0] = np.nan
    with pytest.raises(RewardInputError, match=r"rows \[1\]"):
        trajectory_rewards(x, np.array([True, False, False]))
    with pytest.raises(RewardInputError, match="shape"):
        trajectory_rewards(np.ones((3, 2)), np.array([True, False]))
    with pytest.raises(RewardInputError, match="variant"):
        trajectory_rewards(np.ones((3, 2)), np.ones(3, bool), variant="bogus")
    with pytest.raises(RewardInputError, match="alpha"):
        trajectory_rewards(np.ones((3, 2)), np.ones(3, bool), alpha=1.5)


def test_grouped_rewards_use_each_groups_own_successes():
    emb = np.concatenate([EMB, EMB + 100.0])
    ok = np.concatenate([OK, OK])
    rewards, results = grouped_trajectory_rewards(emb, ok, ["a"] * 4 + ["b"] * 4)
    np.testing.assert_allclose(rewards[:4], rewards[4:])
    assert set(results) == {"a", "b"} and results["b"].distances[2] == pytest.approx(3.0)


def test_siirl_equal_distance_threshold_is_absolute_1e6():
    # failures at distances 3 and 3 + 5e-7 (range below 1e-6): both nd = 0.5 -> 0.3
    emb = np.array([[0.0, 0.0], [0.0, 2.0], [3.0, 1.0], [-3.0 - 5e-7, 1.0]])
    r = trajectory_rewards(emb, OK, variant="siirl")
    np.testing.assert_allclose(r.rewards[2:], [0.3, 0.3])
    # range 2e-6 is above it: min-max applies, nd = 0 and 1 -> 0.6 sigmoid(5), 0.6 sigmoid(-5)
    emb[3, 0] = -3.0 - 2e-6
    np.testing.assert_allclose(trajectory_rewards(emb, OK, variant="siirl").rewards[2:],
                               [0.6 * sig(5.0), 0.6 * sig(-5.0)])
    one = trajectory_rewards(EMB[:3], OK[:3], variant="siirl")  # a single failure
    assert one.rewards[2] == pytest.approx(0.3)


@pytest.mark.parametrize("variant", ["paper", "siirl", "nearest"])
def test_alpha_zero_is_plain_grpo_for_every_variant(variant):
    r = trajectory_rewards(EMB, OK, variant=variant, alpha=0.0)
    np.testing.assert_array_equal(r.rewards, [1.0, 1.0, 0.0, 0.0])
    assert "plain GRPO" in r.note and r.n_clusters == 0


def test_filter_before_reward_takes_references_and_normalisation_from_kept_groups_only():
    # task "a", three rollout groups: g0 failed every rollout (dropped), g1 and g2 mixed (kept)
    emb = np.array([[10.0, 0.0], [12.0, 0.0],  # g0: two failures, far away
                    [0.0, 0.0], [3.0, 0.0],  # g1: success at the origin, failure 3 from it
                    [0.0, 0.2], [5.0, 0.0]])  # g2: success near the origin, failure 5 from it
    ok = np.array([False, False, True, False, True, False])
    rollout_group = np.array([0, 0, 1, 1, 2, 2])
    keep = np.array([0.1 <= ok[rollout_group == g].mean() <= 0.9 for g in rollout_group])
    assert keep.tolist() == [False, False, True, True, True, True]
    filtered, results = grouped_trajectory_rewards(emb, ok, ["a"] * 6, keep=keep, variant="nearest")
    assert np.isnan(filtered[:2]).all() and results["a"].n_failure == 2
    # kept failures only: distances 3 and 5 -> z = -1, +1
    np.testing.assert_allclose(filtered[2:], [1.0, 0.8 * sig(1.0), 1.0, 0.8 * sig(-1.0)])
    # rewarding first: g0's failures (10, 12) enter the normalisation: mean 7.5, std sqrt(13.25)
    everything, _ = grouped_trajectory_rewards(emb, ok, ["a"] * 6, variant="nearest")
    z = (np.array([10.0, 12.0, 3.0, 5.0]) - 7.5) / np.sqrt(13.25)
    np.testing.assert_allclose(everything[[0, 1, 3, 5]], 0.8 * sig(-z))
    with pytest.raises(RewardInputError, match="keep"):
        grouped_trajectory_rewards(emb, ok, ["a"] * 6, keep=keep[:3])


# ---------------------------------------------------------------- properties
group = st.integers(3, 12).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, (n, 3), elements=st.floats(-5, 5, allow_nan=False, width=32)),
        arrays(np.bool_, (n,)),
        st.permutations(list(range(n))),
    )
)


@settings(max_examples=60, deadline=None)
@given(group, st.sampled_from(["paper", "siirl", "nearest"]), st.floats(0.05, 1.0))
def test_properties(data, variant, alpha):
    x, ok, perm = data
    r = trajectory_rewards(x, ok, variant=variant, alpha=alpha)
    fail = ~ok
    # bounds: successes 1, failures within (0, scale) where scale is alpha (siirl: 0.6)
    scale = 0.6 if variant == "siirl" else alpha
    assert np.all(r.rewards[ok] == 1.0)
    assert np.all((r.rewards[fail] >= 0.0) & (r.rewards[fail] <= scale))
    if ok.any() and fail.sum() > 1:
        # monotone: a failure closer to the nearest centre never gets less
        d, g = r.distances[fail], r.rewards[fail]
        order = np.argsort(d, kind="stable")
        assert np.all(np.diff(g[order]) <= 1e-12)
    # permutation invariance: shuffling the group shuffles the rewards
    p = np.array(perm)
    rp = trajectory_rewards(x[p], ok[p], variant=variant, alpha=alpha)
    np.testing.assert_allclose(rp.rewards, r.rewards[p], atol=1e-9)
    # alpha scaling (paper and nearest): failure rewards are proportional to alpha
    if variant != "siirl":
        half = trajectory_rewards(x, ok, variant=variant, alpha=alpha / 2)
        np.testing.assert_allclose(half.rewards[fail], r.rewards[fail] / 2, atol=1e-12)


def test_duplicate_references_cluster_the_same_in_any_order():
    # found by CI: two successes repeated twice; the dot-product distance put one pair ~1e-8 apart, above a
    # near-zero eps, so which pair became a cluster depended on the order of the references
    a, b = [0.125, 0.125, 0.125], [0.125, 0.125, -1.5]
    x = np.array([[0.125, 0.125, 0.0]] + [a] * 7 + [b, a, b])
    ok = np.array([False] * 7 + [True] * 4)
    p = np.array([0, 1, 2, 3, 8, 5, 6, 7, 4, 9, 10])
    r = trajectory_rewards(x, ok, variant="paper", alpha=1.0)
    rp = trajectory_rewards(x[p], ok[p], variant="paper", alpha=1.0)
    assert r.n_clusters == rp.n_clusters == 2
    np.testing.assert_allclose(rp.rewards, r.rewards[p], atol=1e-9)
