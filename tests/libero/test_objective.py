"""Group filtering, group-normalised advantages (with the reward stage's trajectory_rewards) and the clip."""

import numpy as np
import torch

from srpo_offline.progress import trajectory_rewards
from srpo_online_sim.objective import clipped_loss, group_advantages, kl_to_reference, mixed_groups


def test_grpo_baseline_gives_all_failure_groups_zero_advantage():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(16, 8))
    success = np.array([True, False, True, False, True, True, False, True] + [False] * 8)
    groups = np.repeat([0, 1], 8)  # group 1 failed every rollout
    grpo = trajectory_rewards(emb, success, variant="paper", alpha=0.0).rewards
    adv = group_advantages(grpo, groups)
    assert np.all(adv[8:] == 0)
    assert np.all(adv[:8][success[:8]] > 0) and np.all(adv[:8][~success[:8]] < 0)
    # SRPO (alpha 0.8) gives the same all-failure group a learning signal ordered by progress
    srpo = trajectory_rewards(emb, success, variant="paper", alpha=0.8).rewards
    adv = group_advantages(srpo, groups)
    assert np.abs(adv[8:]).max() > 0.5 and abs(adv[8:].mean()) < 1e-9


def test_advantage_formula_and_mixed_groups():
    r = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    g = np.array([0, 0, 0, 0, 1, 1])
    adv = group_advantages(r, g)
    assert np.allclose(adv[:4], (r[:4] - 0.25) / (np.std(r[:4]) + 1e-6))
    assert np.all(adv[4:] == 0)
    assert mixed_groups(r.astype(bool), g).tolist() == [True] * 4 + [False] * 2


def test_clipped_loss_uses_asymmetric_clip():
    old = torch.zeros(2, 3)
    new = torch.log(torch.tensor([[1.5, 1.1, 0.5], [1.5, 1.1, 0.5]]))
    adv = torch.tensor([1.0, -1.0])
    loss, stats = clipped_loss(new, old, adv, clip_low=0.2, clip_high=0.28)
    # A>0: min(r, clip(r)) = [1.28, 1.1, 0.5]; A<0: min(-r, -clip(r)) = [-1.5, -1.1, -0.8]
    assert torch.isclose(loss, -torch.tensor(1.28 + 1.1 + 0.5 - 1.5 - 1.1 - 0.8))
    assert stats["clipped_tokens"] == 2
    assert torch.all(kl_to_reference(new, old) >= 0) and kl_to_reference(old, old).abs().max() == 0
