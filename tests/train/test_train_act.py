"""AWR training end to end with a tiny ACT (the CPU demo's policy): weighting semantics, checkpoints, errors."""

import json

import numpy as np
import pytest
import torch
from train_helpers import (
    RUN,
    assert_params_differ,
    assert_same_params,
    batch_of,
    build,
    first_observation,
    relative_l2,
    update_gradient,
    update_once,
)

from srpo.errors import UserFacingError
from srpo.policy_loading import load_policy
from srpo_offline.awr import TrainConfig, train_awr
from srpo_offline.awr.tiny import TINY_ACT


def _config(store, out, **kw):
    base = dict(store=store.path, out=out, policy="act", reward_run=RUN, steps=4, batch_size=4, val_every=2,
                save_every=2, log_every=1, policy_options=TINY_ACT, progress=False, lr=1e-3)
    return TrainConfig(**{**base, **kw})


def test_zero_weight_sample_has_no_effect_and_doubling_weights_changes_nothing(reward_store):
    policy, pre, ds = build(reward_store, options=TINY_ACT)
    batch = batch_of(ds, pre, [0, 3, 11, 20])
    weights = np.exp(np.random.default_rng(1).normal(size=reward_store.num_steps)).astype(np.float32)
    weights[20] = 0.0
    # the zero-weight sample replaced by unrelated data (another step's observation and action chunk)
    other = batch_of(ds, pre, [0, 3, 11, 30])
    other["index"] = batch["index"].clone()
    ref = update_once(policy, batch, weights)
    assert_same_params(ref, update_once(policy, other, weights))
    assert_same_params(ref, update_once(policy, batch, 2 * weights))
    # and weights do matter: moving the zero onto another sample changes the update
    moved = weights.copy()
    moved[20], moved[11] = weights[11], 0.0
    assert_params_differ(ref, update_once(policy, batch, moved))


def test_per_sample_adapter_mean_matches_lerobot_loss_without_vae(reward_store):
    policy, pre, ds = build(reward_store, options={**TINY_ACT, "use_vae": False})
    batch = batch_of(ds, pre, [0, 5, 9, 33])  # 9 and 33 end inside the chunk: padded steps
    policy.eval()
    with torch.no_grad():
        mean_loss, _ = policy.forward(batch)
        per_sample, _ = policy.forward(batch, reduction="none")
    valid = (~batch["action_is_pad"]).sum(1).float()
    assert per_sample.shape == (4,)
    torch.testing.assert_close((per_sample * valid).sum() / valid.sum(), mean_loss)


def test_train_checkpoint_reload_act_and_resume(reward_store, tmp_path):
    out = tmp_path / "awr"
    result = train_awr(_config(reward_store, out))
    assert [s for s, _ in result.train_loss] == [1, 2, 3, 4]
    assert [s for s, _ in result.val_loss] == [2, 4] and all(np.isfinite(v) for _, v in result.val_loss)
    assert 0 < result.weight_stats["ess_fraction"] <= 1
    logged = json.loads(result.log.read_text())
    assert logged["config"]["loss_mode"] == "adapter" and logged["train"][0]["sample_weight_ess_fraction"] > 0
    assert (result.checkpoint / "model.safetensors").exists() and (result.checkpoint / "config.json").exists()

    policy, pre, post = load_policy(result.checkpoint)
    obs = first_observation(reward_store)
    with torch.no_grad():
        action = post(policy.select_action(pre(obs)))
    assert action.shape == (1, reward_store.config.action_dim) and torch.isfinite(action).all()

    resumed = train_awr(_config(reward_store, out, steps=6, resume=True))
    assert [s for s, _ in resumed.train_loss][-2:] == [5, 6]
    assert resumed.checkpoint.parent.name == "000006"
    step = json.loads((out / "checkpoints/last/training_state/training_step.json").read_text())["step"]
    assert step == 6


def test_uniform_needs_no_reward_run(make_store, tmp_path):
    store = make_store(lengths=(6, 5), successes=(True, False), size=(16, 16))
    result = train_awr(_config(store, tmp_path / "sft", weighting="uniform", reward_run=None, steps=2,
                               val_fraction=0.0))
    assert len(result.train_loss) == 2 and result.val_loss == []
    assert result.weight_stats["ess_fraction"] == 1.0


def test_bad_inputs_give_clear_errors(make_store, reward_store, tmp_path):
    bare = make_store(lengths=(5, 5), successes=(True, False), size=(16, 16), name="bare.zarr")
    with pytest.raises(UserFacingError, match="srpo reward compute"):
        train_awr(_config(bare, tmp_path / "a"))
    with pytest.raises(UserFacingError, match="no derived/missing"):
        train_awr(_config(reward_store, tmp_path / "b", reward_run="missing"))
    with pytest.raises(UserFacingError, match="unknown policy 'pi7'"):
        train_awr(_config(reward_store, tmp_path / "c", policy="pi7"))
    with pytest.raises(UserFacingError, match="--resume"):
        train_awr(_config(reward_store, tmp_path / "d", resume=True))
    # a checkpoint for 7-dim actions cannot fine-tune on a store with 6-dim actions
    ckpt = train_awr(_config(reward_store, tmp_path / "e", steps=1, val_fraction=0.0)).checkpoint
    six = make_store(lengths=(4,), successes=(None,), size=(16, 16), action_dim=6, name="six.zarr")
    with pytest.raises(UserFacingError, match="7-dim actions but the store records 6-dim"):
        train_awr(_config(six, tmp_path / "f", pretrained=str(ckpt), weighting="uniform", reward_run=None,
                          policy_options={}))


def test_equal_weight_awr_gradient_is_lerobots_own_with_padded_steps(reward_store):
    policy, pre, ds = build(reward_store, options=TINY_ACT)
    batch = batch_of(ds, pre, [6, 16, 26, 33])  # chunk 4 near episode ends: 0, 2, 3, 3 padded steps
    assert batch["action_is_pad"].sum(1).tolist() == [0, 2, 3, 3]
    ones = np.ones(reward_store.num_steps, np.float32)
    own = update_gradient(policy, batch, None)
    assert relative_l2(update_gradient(policy, batch, ones), own) < 1e-5
    assert relative_l2(update_gradient(policy, batch, 3 * ones), own) < 1e-5
    # the mean of per-sample means (no count weights) is not LeRobot's loss on this batch
    assert relative_l2(update_gradient(policy, batch, ones, counts=False), own) > 0.02
