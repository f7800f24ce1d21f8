"""Per-step progress, increments, advantages and AWR weights on episodes whose answer is known."""

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srpo_offline.advantages import awr_weights, increments, standardise
from srpo_offline.benchmark import progress_metrics
from srpo_offline.progress import StepProgressConfig, prefix_grid, step_progress
from tests.reward.synthetic import LevelEncoder, level_video

T = 51
RISE = np.linspace(0, 255, T)  # steady success
STALL = np.r_[np.linspace(0, 102, 20), np.full(T - 20, 102.0)]  # gets 40% of the way, then stalls


def test_steady_success_rises_and_stalled_failure_goes_flat():
    videos = [level_video(RISE), level_video(RISE), level_video(STALL), level_video(np.zeros(T))]
    res = step_progress(videos, [True, True, False, False], ["t"] * 4, LevelEncoder(), progress_bar=False)
    ref = res.references["t"]
    assert ref.d_start == pytest.approx(5.0) and ref.d_end == pytest.approx(0.0, abs=1e-9)
    # progress = level / 255 exactly (levels are rounded to uint8 in the video)
    np.testing.assert_allclose(res.progress[0], np.round(RISE) / 255, atol=1e-9)
    np.testing.assert_allclose(res.progress[2], np.round(STALL) / 255, atol=1e-9)
    np.testing.assert_allclose(res.progress[3], 0.0, atol=1e-12)
    assert np.all(res.progress[2][20:] == res.progress[2][19])  # flat after stalling
    m = progress_metrics(res.progress, [True, True, False, False], ["t"] * 4)["per_task"]["t"]
    assert m["SC"] == pytest.approx(1.0) and m["Mono"] == pytest.approx(1.0)
    # finals: successes 1, 1; failures 0.4, 0 -> SMD = (1 - 0.2) / sqrt((0 + 0.08) / 2)
    assert m["SMD"] == pytest.approx(0.8 / np.sqrt(0.04))
    assert res.encoded_prefixes == 4 * T


def test_increments_advantages_weights_hand_computed():
    videos = [level_video([0, 255]), level_video([0, 0, 255])]
    res = step_progress(videos, [True, True], ["t", "t"], LevelEncoder(), StepProgressConfig(beta=0.5, w_max=3.0),
                        progress_bar=False)
    np.testing.assert_allclose(res.concat("progress"), [0, 1, 0, 0, 1])
    np.testing.assert_allclose(res.concat("increment"), [0, 1, 0, 0, 1])
    # D over the dataset: mean 0.4, std sqrt(0.24)
    a = (np.array([0, 1, 0, 0, 1]) - 0.4) / np.sqrt(0.24)
    assert res.mu == pytest.approx(0.4) and res.sigma == pytest.approx(np.sqrt(0.24))
    np.testing.assert_allclose(res.concat("advantage"), a, rtol=1e-6)
    np.testing.assert_allclose(res.concat("weight"), np.minimum(np.exp(a / 0.5), 3.0), rtol=1e-6)
    assert res.concat("weight")[1] == pytest.approx(3.0)  # exp(2.449 / 0.5) = 134 clipped to w_max


def test_stride_is_exact_for_linear_motion_and_close_otherwise():
    curved = 255 * np.linspace(0, 1, 60) ** 2
    linear = np.arange(0, 256, 5)  # integer levels: exactly linear after the uint8 rounding
    videos = [level_video(linear), level_video(curved)]
    exact = step_progress(videos, [True, False], ["t", "t"], LevelEncoder(), progress_bar=False)
    enc = LevelEncoder()
    strided = step_progress(videos, [True, False], ["t", "t"], enc, StepProgressConfig(stride=5), progress_bar=False)
    assert strided.encoded_prefixes == len(prefix_grid(52, 5)) + len(prefix_grid(60, 5)) == 12 + 13
    np.testing.assert_allclose(strided.progress[0], exact.progress[0], atol=1e-9)  # linear: exact
    err = np.abs(strided.progress[1] - exact.progress[1])
    assert 0 < err.max() < 0.01  # a parabola interpolated over 5 steps of 59: error <= (5/59)^2 / 4 ~ 0.0018
    np.testing.assert_array_equal(prefix_grid(11, 4), [0, 4, 8, 10])


def test_unlabelled_scored_and_tasks_without_success_reported(caplog):
    videos = [level_video(RISE), level_video(STALL), level_video(RISE), level_video(STALL)]
    with caplog.at_level(logging.WARNING):
        res = step_progress(videos, [True, None, False, -1], ["a", "a", "b", "b"], LevelEncoder(),
                            progress_bar=False)
    assert res.unlabelled == [1, 3] and res.unreferenced == [2, 3] and list(res.references) == ["a"]
    assert res.references["a"].episodes == [0]  # the unlabelled episode is not a reference
    np.testing.assert_allclose(res.progress[1], np.round(STALL) / 255, atol=1e-9)
    assert np.isnan(res.progress[2]).all() and np.all(res.weight[2] == 1.0) and np.all(res.advantage[3] == 0)
    assert "without a labelled success" in caplog.text


def test_trajectory_normalisation_is_min_max_per_episode():
    videos = [level_video(RISE), level_video(STALL)]
    res = step_progress(videos, [True, False], ["t", "t"], LevelEncoder(), StepProgressConfig(normalise="trajectory"),
                        progress_bar=False)
    assert res.progress[1].max() == pytest.approx(1.0) and res.progress[1].min() == 0.0


def test_advantage_helpers():
    np.testing.assert_allclose(increments(np.array([0.2, 0.5, 0.4])), [0.0, 0.3, -0.1], atol=1e-15)
    adv, mu, sigma = standardise([np.ones(3), np.ones(2)])
    assert sigma == 0 and all(np.all(a == 0) for a in adv)
    assert awr_weights(np.array([1e6]), beta=1.0, w_max=20.0)[0] == 20.0
    with pytest.raises(ValueError):
        awr_weights(np.zeros(1), beta=0.0)

levels = st.lists(st.integers(0, 255), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(levels, st.sampled_from([True, False, None])), min_size=1, max_size=5),
       st.integers(1, 4), st.floats(0.2, 5.0))
def test_progress_properties(episodes, stride, beta):
    videos = [level_video(lv) for lv, _ in episodes]
    labels = [s for _, s in episodes]
    res = step_progress(videos, labels, ["t"] * len(videos), LevelEncoder(), StepProgressConfig(stride=stride, beta=beta),
                        progress_bar=False)
    if True not in labels:
        assert res.unreferenced == list(range(len(videos)))
        assert all(np.all(w == 1.0) for w in res.weight)
        return
    for p, d, w, v in zip(res.progress, res.increment, res.weight, videos):
        assert len(p) == len(v) and np.all((p >= 0) & (p <= 1))  # bounds
        assert d[0] == 0 and np.allclose(np.cumsum(d), p - p[0])  # increments telescope to progress
        assert np.all((w > 0) & (w <= 20.0))
    # comparable across episodes: equal last-frame level -> equal progress, whatever the episode
    flat = np.concatenate(res.progress)
    lv = np.concatenate([np.round(v[:, 0, 0, 0]) for v in videos])
    if stride == 1:
        for level in np.unique(lv):
            assert np.ptp(flat[lv == level]) < 1e-9


class _LastFrameMean:
    """Test double: embeds a video as the mean pixel of its last frame (a 1-D world 'model')."""

    name, model_id = "last-frame-mean", "test"

    def encode(self, videos):
        return np.array([[float(v[-1].mean())] for v in videos])


def test_an_encoder_that_does_not_track_progress_is_reported_not_hidden(caplog):
    # every episode starts at value 5; successes end at 0 and 10 (their centre is 5, the start itself)
    def video(values):
        return np.stack([np.full((2, 2, 3), v, np.uint8) for v in values])

    videos = [video([5, 3, 0]), video([5, 8, 10]), video([5, 6, 7])]
    with caplog.at_level("WARNING"):
        result = step_progress(videos, [True, True, False], ["t"] * 3, _LastFrameMean(),
                               StepProgressConfig(), progress_bar=False)
    ref = result.references["t"]
    assert ref.d_start == 0.0 and ref.d_end == 5.0
    assert "does not measure progress" in caplog.text
    assert all(np.all(p == 0) for p in result.progress) and all(np.all(w == 1) for w in result.weight)
