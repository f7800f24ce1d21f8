"""`chunk_mlp`, the state policy of the offline benchmark: a LeRobot plugin whose per-sample losses, weighted
by their valid-step counts, give exactly its own batch-mean loss (the equal-weight AWR = plain BC contract)."""

import pytest
import torch
from lerobot.configs.types import FeatureType, PolicyFeature

from srpo.errors import UserFacingError
from srpo.policies import register
from srpo.policy_io import ACTION, ENV_STATE, STATE
from srpo_offline.awr import TrainConfig, train_awr
from srpo_offline.awr.losses import NATIVE, enable_per_sample_loss, loss_counts


def make_policy(chunk: int = 5):
    register()
    from lerobot.policies.factory import get_policy_class, make_policy_config

    cfg = make_policy_config("chunk_mlp", chunk_size=chunk, n_action_steps=3, hidden_dim=32, n_layers=2)
    cfg.input_features = {STATE: PolicyFeature(FeatureType.STATE, (11,)), ENV_STATE: PolicyFeature(FeatureType.ENV, (7,))}
    cfg.output_features = {ACTION: PolicyFeature(FeatureType.ACTION, (7,))}
    return get_policy_class("chunk_mlp")(cfg)


def batch(pads=(0, 2, 3, 3), chunk: int = 5):
    g = torch.Generator().manual_seed(0)
    is_pad = torch.zeros(len(pads), chunk, dtype=torch.bool)
    for i, p in enumerate(pads):
        if p:
            is_pad[i, -p:] = True
    return {STATE: torch.randn(len(pads), 11, generator=g), ENV_STATE: torch.randn(len(pads), 7, generator=g),
            ACTION: torch.randn(len(pads), chunk, 7, generator=g), "action_is_pad": is_pad}


def grads(policy) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in policy.parameters()])


def test_equal_count_weights_reproduce_the_batch_mean_loss_and_gradient():
    torch.manual_seed(0)
    policy = make_policy()
    assert enable_per_sample_loss(policy) == NATIVE
    b = batch()
    mean_loss, _ = policy.forward(b)
    mean_loss.backward()
    g_mean = grads(policy)
    policy.zero_grad()
    per_sample, _ = policy.forward(b, reduction="none")
    counts = loss_counts(policy, b)
    assert counts.tolist() == [5, 3, 2, 2]
    weighted = (per_sample * counts).sum() / counts.sum()
    weighted.backward()
    assert torch.allclose(weighted, mean_loss, atol=1e-6)
    assert torch.allclose(grads(policy), g_mean, atol=1e-6)
    # a plain mean of per-sample means differs when samples have different valid steps: the counts matter
    assert not torch.allclose(per_sample.mean(), mean_loss, atol=1e-4)


def test_padded_steps_do_not_change_the_loss():
    torch.manual_seed(0)
    policy = make_policy()
    b = batch(pads=(2,))
    base, _ = policy.forward(b, reduction="none")
    b[ACTION][0, -2:] += 100.0  # only padded targets change
    moved, _ = policy.forward(b, reduction="none")
    assert torch.allclose(base, moved)


def test_select_action_executes_n_action_steps_of_each_chunk():
    torch.manual_seed(0)
    policy = make_policy()
    obs = {k: v[:1] for k, v in batch().items() if k in (STATE, ENV_STATE)}
    chunk = policy.predict_action_chunk(obs)
    assert chunk.shape == (1, 5, 7)
    actions = [policy.select_action(obs) for _ in range(4)]
    assert all(torch.allclose(actions[i], chunk[:, i]) for i in range(3))  # the queue holds 3 of the chunk
    assert torch.allclose(actions[3], chunk[:, 0])  # then a new prediction


def test_chunk_mlp_on_images_is_refused_with_the_flag_that_fixes_it(reward_store, tmp_path):
    cfg = TrainConfig(store=str(reward_store.path), out=str(tmp_path / "mlp"), policy="chunk_mlp", weighting="uniform",
                      reward_run=None, steps=1, progress=False)
    with pytest.raises(UserFacingError, match=r"chunk_mlp cannot train on .* --images false"):
        train_awr(cfg)
