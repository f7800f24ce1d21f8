"""Reward fidelity against the oracle: per-episode Spearman, error and approach share, by outcome, by hand."""

import numpy as np
import pytest

from srpo.errors import UserFacingError
from srpo.store import EpisodeStore
from srpo_offline.fidelity import reward_fidelity

ORACLE = [[0, .1, .2, .5, 1], [0, .1, .2, .2, .1, 0], [0, .2, .4, .6, 1], [.1, .1, .1, .1]]
STAGE = [[0, 0, 1, 2, 3], [0] * 6, [0, 1, 2, 2, 3], [0] * 4]
RUN = [[0, 0, .3, .6, .9], [.5, .4, .3, .3, .4, .5], [.2] * 5, [0, .1, .2, .3]]


@pytest.fixture
def store(make_store):
    s = make_store(lengths=(5, 6, 5, 4), successes=(True, False, True, False), tasks=["lift"] * 4)
    rw = EpisodeStore.open(s.path, mode="a")

    def flat(rows):
        return np.concatenate([np.asarray(r, dtype=np.float32) for r in rows])

    rw.write_derived("oracle", {"progress": flat(ORACLE), "stage": flat(STAGE)}, {"encoder": "oracle"})
    rw.write_derived("srpo_pixel", {"progress": flat(RUN)}, {"encoder": "pixel"})
    return s.path


def test_fidelity_by_hand(store):
    f = reward_fidelity(store, "srpo_pixel", "oracle")
    rho0 = 9.5 / np.sqrt(95)  # ranks 1..5 against 1.5, 1.5, 3, 4, 5
    np.testing.assert_allclose([p["spearman"] for p in f["per_episode"][:3]], [rho0, -1.0, 0.0], atol=1e-6)
    assert f["per_episode"][3]["spearman"] is None  # the oracle never moved: undefined
    s, fl = f["spearman"]["success"], f["spearman"]["failure"]
    assert s["n"] == 2 and s["mean"] == pytest.approx(rho0 / 2, abs=1e-6) and s["n_undefined"] == 0
    assert fl["n"] == 1 and fl["mean"] == pytest.approx(-1.0) and fl["n_undefined"] == 1
    assert f["abs_error"]["success"]["mean"] == pytest.approx((0.08 + 0.32) / 2, abs=1e-6)
    # approach: episode 0 reaches the grasp at t = 2: the run rose 0.3 of its 0.9, the oracle 0.2 of 1
    assert f["approach"]["run_share"]["success"]["mean"] == pytest.approx(1 / 3, abs=1e-6)
    assert f["approach"]["oracle_share"]["success"]["mean"] == pytest.approx(0.2, abs=1e-6)
    assert f["approach"]["run_share"]["success"]["n_undefined"] == 1  # episode 2: the run never rose
    # progress_metrics of both runs: SC of the run = mean(rho0, 0) (a flat curve counts 0)
    assert f["metrics"]["run"]["mean"]["SC"] == pytest.approx(rho0 / 2, abs=1e-6)
    assert f["metrics"]["oracle"]["mean"]["SC"] == pytest.approx(1.0)


def test_missing_runs_are_named(store):
    with pytest.raises(UserFacingError, match="derived/nope"):
        reward_fidelity(store, "nope", "oracle")
