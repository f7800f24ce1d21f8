"""Tiny random π0 and π0-FAST (LeRobot's classes, small Gemma/SigLIP sizes, local tokenizers) trained by the
same path as the hub models: built as a base checkpoint, fine-tuned with --pretrained, reloaded, acting."""

import numpy as np
import pytest
import torch
from train_helpers import (
    RUN,
    add_reward_run,
    assert_params_differ,
    assert_same_params,
    batch_of,
    build,
    first_observation,
    relative_l2,
    update_gradient,
    update_once,
)

from srpo.policy_loading import load_policy
from srpo.store import EpisodeStore
from srpo_offline.awr import TrainConfig, train_awr
from srpo_offline.awr.tiny import build_tiny_base, tiny_pi_sizes


@pytest.fixture(scope="module")
def pi_setup(tmp_path_factory, record_random_store):
    root = tmp_path_factory.mktemp("pi")
    store = record_random_store(root / "store.zarr", lengths=(8, 7, 9, 6), successes=(True, False, True, False),
                                size=(16, 16))
    add_reward_run(store)
    store = EpisodeStore.open(store.path)
    bases = {kind: build_tiny_base(kind, store, root / kind) for kind in ("pi0", "pi0_fast")}
    return store, bases, root


@pytest.mark.parametrize("kind", ["pi0", "pi0_fast"])
def test_zero_weight_and_doubled_weights(pi_setup, kind):
    store, bases, _ = pi_setup
    with tiny_pi_sizes():
        policy, pre, ds = build(store, kind, pretrained=str(bases[kind]))
    batch = batch_of(ds, pre, [0, 4, 9, 20])
    other = batch_of(ds, pre, [0, 4, 9, 25])  # the zero-weight sample swapped for unrelated data
    other["index"] = batch["index"].clone()
    weights = np.linspace(0.5, 2.0, store.num_steps).astype(np.float32)
    weights[20] = 0.0
    ref = update_once(policy, batch, weights)
    assert_same_params(ref, update_once(policy, other, weights))
    assert_same_params(ref, update_once(policy, batch, 2 * weights))
    moved = weights.copy()
    moved[20], moved[9] = 1.0, 0.0
    assert_params_differ(ref, update_once(policy, batch, moved))


def test_pi0_fast_per_sample_loss_reduces_lerobots_token_loss(pi_setup):
    from lerobot.utils.constants import ACTION_TOKEN_MASK

    store, bases, _ = pi_setup
    with tiny_pi_sizes():
        policy, pre, ds = build(store, "pi0_fast", pretrained=str(bases["pi0_fast"]))
    batch = batch_of(ds, pre, [0, 5, 17])
    with torch.no_grad():
        mean_loss, _ = policy.forward(batch)
        per_sample, _ = policy.forward(batch, reduction="none")
    tokens = batch[ACTION_TOKEN_MASK][:, 1:].sum(1).float()
    assert per_sample.shape == (3,)
    torch.testing.assert_close((per_sample * tokens).sum() / tokens.sum(), mean_loss)


@pytest.mark.parametrize("kind", ["pi0", "pi0_fast"])
def test_train_reload_and_act(pi_setup, kind):
    store, bases, root = pi_setup
    cfg = TrainConfig(store=store.path, out=root / f"run_{kind}", policy=kind, pretrained=str(bases[kind]),
                      reward_run=RUN, steps=2, batch_size=4, val_every=2, val_batches=1, save_every=2,
                      log_every=1, progress=False, lr=1e-3)
    with tiny_pi_sizes():
        result = train_awr(cfg)
        policy, pre, post = load_policy(result.checkpoint)
    assert len(result.train_loss) == 2 and np.isfinite(result.val_loss[-1][1])
    trained = dict(policy.named_parameters())
    with tiny_pi_sizes():
        base_policy, _, _ = load_policy(bases[kind])
    assert_params_differ({k: v.detach() for k, v in trained.items()},
                         {k: v.detach() for k, v in base_policy.named_parameters()})
    policy.reset()
    with torch.no_grad():
        action = post(policy.select_action(pre(first_observation(store))))
    assert action.shape == (1, store.config.action_dim) and torch.isfinite(action).all()


@pytest.mark.parametrize("kind", ["pi0", "pi0_fast"])
def test_equal_weight_awr_gradient_is_lerobots_own_with_padded_steps(pi_setup, kind):
    from lerobot.utils.constants import ACTION_TOKEN_MASK

    store, bases, _ = pi_setup
    with tiny_pi_sizes():
        policy, pre, ds = build(store, kind, pretrained=str(bases[kind]))
    batch = batch_of(ds, pre, [4, 13, 23, 29])  # chunk 4 near episode ends: 0, 2, 3, 3 padded steps
    assert batch["action_is_pad"].sum(1).tolist() == [0, 2, 3, 3]
    ones = np.ones(store.num_steps, np.float32)
    own = update_gradient(policy, batch, None)
    assert relative_l2(update_gradient(policy, batch, ones), own) < 1e-5
    if kind == "pi0_fast":  # samples differ in token count, so a mean of per-sample means would be off
        assert len(set(batch[ACTION_TOKEN_MASK][:, 1:].sum(1).tolist())) > 1
        assert relative_l2(update_gradient(policy, batch, ones, counts=False), own) > 0.02
