import numpy as np

from srpo.store import EpisodeStore


def test_episodes_windows_and_bounds(make_store):
    store = make_store(lengths=(12, 15, 9), successes=(True, False, None))
    reopened = EpisodeStore.open(store.path)
    assert reopened.num_episodes == 3 and reopened.num_steps == 36
    assert [e.length for e in reopened.episodes()] == [12, 15, 9]
    assert [e.success for e in reopened.episodes()] == [True, False, None]
    assert reopened.episode_bounds(1) == (12, 27)
    window, is_pad = reopened.window(2, 5, 6, keys=["action"])
    assert window["action"].shape == (6, 7)
    assert is_pad.tolist() == [False] * 4 + [True] * 2
    np.testing.assert_array_equal(window["action"][4], window["action"][3])  # padding repeats the last step
    # full-length windows of 8: (12-8+1) + (15-8+1) + (9-8+1) = 5 + 8 + 2
    assert len(reopened.window_index(8, full_only=True)) == 15
