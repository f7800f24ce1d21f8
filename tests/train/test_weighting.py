"""AWR weight arithmetic and the SampleWeighter (no models)."""

import numpy as np
import pytest
import torch

from srpo.errors import UserFacingError
from srpo_offline.advantages import awr_weights
from srpo_offline.awr.weighting import AWRWeighter, chunk_mean_advantage, weight_table


def test_awr_weights_exponentiate_and_clip_without_overflow():
    w = awr_weights(np.array([0.0, 1.0, -2.0, 1e6]), beta=0.5, w_max=4.0)
    np.testing.assert_allclose(w, [1.0, 4.0, np.exp(-4.0), 4.0], rtol=1e-6)
    with pytest.raises(UserFacingError, match="beta"):
        awr_weights(np.zeros(2), beta=0.0, w_max=1.0)


def test_chunk_mean_advantage_stays_inside_each_episode():
    adv = np.arange(7, dtype=float)  # episodes [0..3], [4..6]
    got = chunk_mean_advantage(adv, np.array([4, 7]), horizon=3)
    np.testing.assert_allclose(got, [1, 2, 2.5, 3, 5, 5.5, 6])


def test_weight_table_marks_clipped_steps():
    table = weight_table(np.array([0.0, 3.0, -1.0]), np.array([3]), 2, beta=1.0, w_max=np.e)
    np.testing.assert_array_equal(table.clipped, [False, True, False])
    with pytest.raises(UserFacingError, match="NaN"):
        weight_table(np.array([np.nan]), np.array([1]), 1, 1.0, 2.0)


def test_weighter_normalises_batches_and_reports_ess():
    table = weight_table(np.log(np.array([1.0, 3.0, 0.5, 2.0])), np.array([4]), 1, beta=1.0, w_max=10.0)
    weighter = AWRWeighter(table, train_steps=np.arange(4))
    w, stats = weighter.compute_batch_weights({"index": torch.tensor([0, 1])})
    torch.testing.assert_close(w, torch.tensor([0.5, 1.5]))
    assert stats["ess_fraction"] == pytest.approx(16 / 10 / 2)
    assert weighter.get_stats()["ess"] == pytest.approx(6.5**2 / (1 + 9 + 0.25 + 4))


def test_dataset_chunks_match_store_windows(reward_store):
    from srpo_offline.awr.data import ACTION, STATE, StoreChunkDataset

    ds = StoreChunkDataset(reward_store, [1, 3], horizon=4)
    assert len(ds) == 8 + 7
    item = ds[6]  # episode 1, step 6 of 8: two real steps, two padded
    window, is_pad = reward_store.window(1, 6, 4, keys=[ACTION, "robot0_gripper_width", "camera1_rgb"])
    np.testing.assert_array_equal(item[ACTION].numpy(), window[ACTION])
    np.testing.assert_array_equal(item["action_is_pad"].numpy(), is_pad)
    assert item[STATE][-1] == window["robot0_gripper_width"][0, 0]
    np.testing.assert_allclose(item["observation.images.camera1"].permute(1, 2, 0).numpy() * 255,
                               window["camera1_rgb"][0], atol=1e-3)
    assert int(item["index"]) == reward_store.episode_bounds(1)[0] + 6
