"""The fitted encoders (learned: a CNN on camera frames; state: an MLP on proprioception + object pose) on a
scripted store: fitting is deterministic and cached by the data it saw, and the fitted metric orders a scripted
episode's early frames before its late ones."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from srpo.errors import UserFacingError
from srpo.store import CameraSpec, EpisodeStore, StoreConfig
from srpo_offline.encoders import build_encoder, choose_encoder
from srpo_offline.encoders.fitting import FitConfig, data_hash, fit_encoder, read_fit_data
from srpo_offline.reward_run import RewardConfig, compute_reward_run

SIZE = 48  # frame side (the CNN needs >= 48 px)
FAST = dict(steps=120, batch_size=16, size=SIZE, dim=16)  # a fit of a few seconds on one core
BRIEF = dict(FAST, steps=10)  # enough updates to tell fits apart


def scripted_store(path, random_step, reach=(1.0, 1.0, 1.0, 0.45, 0.5), length=20) -> EpisodeStore:
    """Episodes in which a white square (the 'hand') moves right across the frame toward a fixed 'cube'; an
    episode whose reach is 1.0 gets there (success), the others stop part way (failure). The state keys move
    the same way: the hand's x goes from 0 to reach, the cube sits at x = 1."""
    store = EpisodeStore.create(path, StoreConfig(cameras=(CameraSpec("camera0", SIZE, SIZE),),
                                                  control_rate_hz=10.0, extra_keys={"object0_pos": 3}))
    rng = np.random.default_rng(0)
    for r in reach:
        with store.recorder(task="reach the cube", source="sim") as ep:
            for t in range(length):
                x = r * min(1.0, t / (length - 4))
                step = random_step(store, rng, t / 10.0)
                frame = np.full((SIZE, SIZE, 3), 30, np.uint8)
                frame[4:10, SIZE - 8:SIZE - 2] = (200, 40, 40)  # the cube
                c = int(round(x * (SIZE - 14)))
                frame[14:22, c:c + 8] = 255
                step["camera0_rgb"] = frame + rng.integers(0, 8, frame.shape, dtype=np.uint8)
                step["robot0_eef_pos"] = np.array([x, 0.0, 0.1], np.float32) + rng.normal(0, 0.005, 3).astype(np.float32)
                step["robot0_gripper_width"] = np.array([0.08], np.float32)
                step["object0_pos"] = np.array([1.0, 0.0, 0.02], np.float32)
                ep.add_step(step)
            ep.success = r == 1.0
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory, random_step):
    path = tmp_path_factory.mktemp("fit") / "store.zarr"
    scripted_store(path, random_step)
    return path


def test_fitting_is_deterministic_and_cached_by_the_data(store, tmp_path):
    import torch

    FAST = BRIEF  # noqa: N806
    a = fit_encoder(FitConfig(store=str(store), cache=str(tmp_path / "a"), **FAST), progress=False)
    b = fit_encoder(FitConfig(store=str(store), cache=str(tmp_path / "b"), **FAST), progress=False)
    assert a.name == b.name  # the same key: same data, same settings
    wa, wb = torch.load(a)["state_dict"], torch.load(b)["state_dict"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    mtime = a.stat().st_mtime_ns
    assert fit_encoder(FitConfig(store=str(store), cache=str(tmp_path / "a"), **FAST), progress=False) == a
    assert a.stat().st_mtime_ns == mtime  # the cache answered; nothing was refitted
    other_seed = fit_encoder(FitConfig(store=str(store), cache=str(tmp_path / "a"), seed=1, **FAST), progress=False)
    subset = fit_encoder(FitConfig(store=str(store), cache=str(tmp_path / "a"), episodes=(0, 1, 3), **FAST),
                         progress=False)
    assert len({a, other_seed, subset}) == 3  # the key follows the settings and the episodes seen
    meta = torch.load(subset, weights_only=False)["meta"]
    assert meta["episodes"] == [0, 1, 3] and meta["n_success"] == 2
    assert meta["data_hash"] == data_hash(read_fit_data(FitConfig(store=str(store), size=SIZE, episodes=(0, 1, 3))))


@pytest.mark.parametrize("encoder", ["learned", "state"])
def test_fitted_metric_orders_early_before_late_frames(store, tmp_path, monkeypatch, encoder):
    monkeypatch.setenv("SRPO_ENCODER_CACHE", str(tmp_path))
    fitted = fit_encoder(FitConfig(store=str(store), encoder=encoder, **FAST), progress=False)
    enc = build_encoder(encoder, model=str(fitted))
    s = EpisodeStore.open(store)
    if encoder == "state":
        from srpo_offline.encoders.fitting import state_features, state_keys

        keys = state_keys(s)
        seqs = [state_features(s.episode(i, keys=list(keys)), keys) for i in range(5)]
    else:
        seqs = [s.episode(i, keys=["camera0_rgb"])["camera0_rgb"] for i in range(5)]
    goal = enc.encode([v[-1:] for v in seqs[:3]]).mean(0)
    # the distance to the successes' endings falls with time: steadily on successes, part way on failures
    for i, v in enumerate(seqs):
        d = np.linalg.norm(enc.encode([v[: t + 1] for t in range(len(v))]) - goal, axis=1)
        if i < 3:
            assert spearmanr(np.arange(len(v)), -d).statistic > 0.8 and d[:3].mean() > 3 * d[-3:].mean(), (encoder, i)
        else:
            assert d[:3].mean() > d[-3:].mean() > 0.3 * d[:3].mean(), (encoder, i)
    # through the reward stage (the benchmark test covers fitting there when no --model is given)
    run = compute_reward_run(RewardConfig(store=str(store), encoder=encoder, model=str(fitted), run_name=f"r_{encoder}"))
    fit = run.provenance["fit"]
    assert run.provenance["encoder"] == encoder and fit["episodes"] == [0, 1, 2, 3, 4]
    assert run.provenance["camera"] == ("state" if encoder == "state" else "camera0")
    progress = run.result.progress
    assert min(p[-1] for p in progress[:3]) > 0.8 and max(p[0] for p in progress) < 0.3
    assert max(p[-1] for p in progress[3:]) < min(p[-1] for p in progress[:3])  # failures end short of success


def test_fit_refuses_what_it_cannot_learn_from(tmp_path, make_store):
    few = make_store(successes=(False, False, None), name="few.zarr")
    with pytest.raises(UserFacingError, match="at least one episode labelled successful"):
        fit_encoder(FitConfig(store=str(few.path), cache=str(tmp_path)))
    ok = make_store(successes=(True, False, True), name="ok.zarr")
    with pytest.raises(UserFacingError, match="object0_pos"):
        fit_encoder(FitConfig(store=str(ok.path), encoder="state", cache=str(tmp_path)))
    with pytest.raises(UserFacingError, match="no camera 'camera7'"):
        fit_encoder(FitConfig(store=str(ok.path), camera="camera7", cache=str(tmp_path)))
    with pytest.raises(UserFacingError, match="objective"):
        fit_encoder(FitConfig(store=str(ok.path), objective="magic", cache=str(tmp_path)))
    with pytest.raises(UserFacingError, match="srpo reward fit"):
        build_encoder("learned")
    assert choose_encoder("state", camera="camera1").camera == "state"  # the control reads no camera
