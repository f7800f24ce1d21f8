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
