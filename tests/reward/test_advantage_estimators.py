"""Advantage estimators on per-step progress, with hand-computed numbers, and their selection by name."""

import numpy as np
import pytest

from srpo.errors import UserFacingError
from srpo.store import EpisodeStore
from srpo_offline.advantages import AdvantageConfig, estimate, progress_advantages
from srpo_offline.reward_run import RewardConfig, compute_reward_run

EP_A = np.array([0.0, 0.2, 0.5, 0.5, 1.0])
EP_B = np.array([0.0, 0.4, 0.3])


def _scores(**kw):
    return np.concatenate(estimate([EP_A, EP_B], AdvantageConfig(**kw)))


def test_each_estimator_by_hand():
    np.testing.assert_allclose(_scores(estimator="paper"), [0, .2, .3, 0, .5, 0, .4, -.1], atol=1e-12)
    np.testing.assert_allclose(_scores(estimator="n_step", n_step=2), [.5, .3, .5, .5, 0, .3, -.1, 0], atol=1e-12)
    np.testing.assert_allclose(_scores(estimator="to_go"), [1, .8, .5, .5, 0, .3, -.1, 0], atol=1e-12)
    # GAE(0.5): rewards A .2 .3 0 .5 0 -> backwards 0, .5, .25, .425, .4125; B .4 -.1 0 -> 0, -.1, .35
    np.testing.assert_allclose(_scores(estimator="gae", gae_lambda=0.5),
                               [.4125, .425, .25, .5, 0, .35, -.1, 0], atol=1e-12)
    np.testing.assert_allclose(_scores(estimator="final"), [1, 1, 1, 1, 1, .3, .3, .3], atol=1e-12)


def test_gae_spans_one_step_to_progress_to_go():
    np.testing.assert_allclose(_scores(estimator="gae", gae_lambda=1.0), _scores(estimator="to_go"), atol=1e-12)
    np.testing.assert_allclose(_scores(estimator="gae", gae_lambda=0.0), _scores(estimator="n_step", n_step=1),
                               atol=1e-12)


def test_standardised_over_all_steps_then_one_awr_weight():
    adv = progress_advantages([EP_A, EP_B, np.full(2, np.nan)], AdvantageConfig(estimator="to_go"), beta=0.5,
                              w_max=4.0)
    scores = np.array([1, .8, .5, .5, 0, .3, -.1, 0])
    assert adv.mu == pytest.approx(3.0 / 8) and adv.sigma == pytest.approx(scores.std())
    a = (scores - 0.375) / scores.std()
    np.testing.assert_allclose(np.concatenate(adv.advantage[:2]), a, rtol=1e-9)
    np.testing.assert_array_equal(adv.advantage[2], [0, 0])  # no progress (no reference): weight 1
    w = np.concatenate(adv.weight)
    np.testing.assert_allclose(w, np.r_[np.minimum(np.exp(a / 0.5), 4.0), 1, 1], rtol=1e-9)
    assert np.concatenate(adv.clipped).tolist() == (w == 4.0).tolist() and w[0] == 4.0
    np.testing.assert_allclose(adv.increment[0], [0, .2, .3, 0, .5], atol=1e-12)  # D is kept whatever the estimator


@pytest.mark.parametrize("kw", [{"estimator": "td"}, {"estimator": "n_step", "n_step": 0},
                                {"estimator": "gae", "gae_lambda": 1.5}])
def test_bad_estimator_settings_are_refused(kw):
    with pytest.raises(UserFacingError):
        estimate([EP_A], AdvantageConfig(**kw))


def test_reward_run_uses_and_records_the_estimator(make_store):
    store = make_store(lengths=(12, 15, 9, 10), successes=(True, False, True, False)).path
    assert RewardConfig().estimator == "gae"  # the measured best (docs/offline_bench.md); the paper's by name
    paper = compute_reward_run(RewardConfig(store=str(store), encoder="pixel", camera="camera1", run_name="p",
                                            estimator="paper"))
    to_go = compute_reward_run(RewardConfig(store=str(store), encoder="pixel", camera="camera1", run_name="g",
                                            estimator="to_go"))
    assert paper.provenance["advantage"]["estimator"] == "paper"
    assert to_go.provenance["advantage"] == {"estimator": "to_go", "n_step": 10, "gae_lambda": 0.95}
    arrays, _ = EpisodeStore.open(store).read_derived("g")
    progress = np.split(arrays["progress"].astype(np.float64), EpisodeStore.open(store).episode_ends[:-1])
    expected = progress_advantages(progress, AdvantageConfig(estimator="to_go"))
    np.testing.assert_allclose(arrays["advantage"], np.concatenate(expected.advantage), rtol=1e-5, atol=1e-6)
    assert not np.allclose(arrays["advantage"], EpisodeStore.open(store).read_derived("p")[0]["advantage"])


def test_reestimating_a_run_needs_no_encoder_and_matches_computing_it(make_store):
    from srpo_offline.reward_run import reestimate_run

    store = make_store(lengths=(12, 15, 9, 10), successes=(True, False, True, False)).path
    compute_reward_run(RewardConfig(store=str(store), encoder="pixel", camera="camera1", run_name="p", w_max=3.0))
    direct = compute_reward_run(RewardConfig(store=str(store), encoder="pixel", camera="camera1", run_name="g",
                                             estimator="gae", gae_lambda=0.8, w_max=3.0))
    prov = reestimate_run(store, "p", "p_gae", AdvantageConfig(estimator="gae", gae_lambda=0.8))
    assert prov["source_run"] == "p" and prov["w_max"] == 3.0 and prov["advantage"]["gae_lambda"] == 0.8
    assert prov["mu"] == pytest.approx(direct.provenance["mu"], rel=1e-5)
    s = EpisodeStore.open(store)
    again, want = s.read_derived("p_gae")[0], s.read_derived("g")[0]
    for key in ("progress", "distance"):  # copied
        np.testing.assert_array_equal(again[key], want[key])
    np.testing.assert_allclose(again["increment"], want["increment"], atol=1e-7)  # from the float32 progress
    np.testing.assert_allclose(again["advantage"], want["advantage"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(again["weight"], want["weight"], rtol=1e-4)
    with pytest.raises(UserFacingError, match="already exists"):
        reestimate_run(store, "p", "p_gae")


def test_shaped_ends_each_episode_with_its_trajectory_reward_by_hand():
    # GAE(0.5) with rewards r(t) = R(t+1) - R(t) and r(T) = g (A: success, g = 1; B: failure, g = .25)
    got = np.concatenate(estimate([EP_A, EP_B], AdvantageConfig(estimator="shaped", gae_lambda=0.5),
                                  terminal=np.array([1.0, 0.25])))
    # backwards: A 1 | .5 + .5 * 1 | 0 + .5 * 1 | .3 + .5 * .5 | .2 + .5 * .55;  B .25 | -.1 + .125 | .4 + .0125
    np.testing.assert_allclose(got, [.475, .55, .5, 1.0, 1.0, .4125, .025, .25], atol=1e-12)
    # no trajectory reward (an unlabelled episode): the same as gae
    plain = estimate([EP_A], AdvantageConfig(estimator="shaped", gae_lambda=0.5), terminal=np.array([np.nan]))
    np.testing.assert_allclose(plain[0], _scores(estimator="gae", gae_lambda=0.5)[:5], atol=1e-12)
    with pytest.raises(UserFacingError, match="trajectory reward"):
        estimate([EP_A], AdvantageConfig(estimator="shaped"))


def test_shaped_weights_the_completing_steps_of_successes_above_the_median():
    """A time-linear progress (what a steps-to-go objective fits) rises least at the end, so gae weights the
    steps that complete a success below the median; the trajectory reward at the end lifts them above it."""
    rng = np.random.default_rng(0)
    success = [np.linspace(0, 1, n) for n in rng.integers(90, 130, 8)]
    failure = [np.minimum(np.linspace(0, 0.6, n), 0.3) for n in rng.integers(90, 130, 8)]
    progress, terminal = success + failure, np.r_[np.ones(8), np.full(8, 0.3)]
    for estimator, above in (("gae", False), ("shaped", True)):
        w = progress_advantages(progress, AdvantageConfig(estimator=estimator), terminal=terminal).weight
        median = np.median(np.concatenate(w))
        last = np.concatenate([x[-10:] for x in w[:8]])
        assert (np.mean(last > median) > 0.9) == above, estimator
        assert (np.mean(last > median) < 0.1) == (not above), estimator
    w = progress_advantages(progress, AdvantageConfig(estimator="shaped"), terminal=terminal).weight
    assert np.mean([x[-10:].mean() for x in w[:8]]) > 2 * np.mean([x[-10:].mean() for x in w[8:]])


def test_terminal_rewards_follow_eq_5():
    from srpo_offline.progress import ALPHA, paper_phi, terminal_rewards

    d = [0.1, 0.9, 0.5, 0.2, 0.7, 0.3]
    g = terminal_rewards(d, [True, False, False, None, False, False], ["a", "a", "a", "a", "b", "b"])
    assert g[0] == 1.0 and np.isnan(g[3])
    np.testing.assert_allclose(g[[1, 2]], paper_phi(np.array([0.9, 0.5]), ALPHA))  # standardised within task a
    np.testing.assert_allclose(g[[4, 5]], paper_phi(np.array([0.7, 0.3]), ALPHA))
    assert g[2] > g[1] and g[5] > g[4] and (g[[1, 2, 4, 5]] < ALPHA).all()  # nearer the successes: more reward


def test_shaped_reward_run_reads_the_labels(make_store):
    from srpo_offline.reward_run import reestimate_run

    store = make_store(lengths=(12, 15, 9, 10), successes=(True, False, True, False)).path
    direct = compute_reward_run(RewardConfig(store=str(store), encoder="pixel", camera="camera1", run_name="p",
                                             estimator="shaped"))
    reestimate_run(store, "p", "p_gae", AdvantageConfig(estimator="gae"))
    s = EpisodeStore.open(store)
    shaped, gae = s.read_derived("p")[0], s.read_derived("p_gae")[0]
    last = s.episode_ends - 1
    ok = np.array([True, False, True, False])
    # the successes' last steps score the trajectory reward 1.0 (before standardising), more than any failure's
    raw = shaped["advantage"] * direct.provenance["sigma"] + direct.provenance["mu"]
    np.testing.assert_allclose(raw[last[ok]], 1.0, atol=1e-5)
    assert raw[last[~ok]].max() < 0.8 and not np.allclose(shaped["weight"], gae["weight"])
    again = reestimate_run(store, "p_gae", "p_again", AdvantageConfig(estimator="shaped"))
    assert again["advantage"]["estimator"] == "shaped"
    np.testing.assert_allclose(s.read_derived("p_again")[0]["weight"], shaped["weight"], rtol=1e-4)
