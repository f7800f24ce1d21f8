"""AWR weight arithmetic and the SampleWeighter (no models)."""

import numpy as np
import pytest
import torch

from srpo.errors import UserFacingError
from srpo_offline.awr.weighting import AWRWeighter, awr_weights, chunk_mean_advantage, weight_table


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
