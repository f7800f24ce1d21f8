"""PPO mini-batches as siiRL's embodied actor: several optimiser steps per rollout batch, per-trajectory token
means, unexecuted actions masked. Tiny OpenVLA*, hand-made trajectories (no env needed)."""

import numpy as np
import pytest
import torch

from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.openvla.loading import tiny_policy
from srpo_online_sim.rollout import Request, Trajectory
from srpo_online_sim.update import decision_rows, ppo_update, token_mask

INSTRUCTION = "pick up the black bowl and place it on the plate"


def make_trajectories(policy, executed_per_traj, seed=0):
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    trajs = []
    for k, executed in enumerate(executed_per_traj):
        t = Trajectory(Request(0, INSTRUCTION, np.zeros(3), k // 2))
        for e in executed:
            image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            out = policy.act(policy.prepare([image], [INSTRUCTION]), temperature=1.6, generator=gen)
            t.observations.append(image)
            t.tokens.append(out.slice_tokens[0])
            t.old_log_probs.append(out.log_probs[0])
            t.executed.append(e)
        trajs.append(t)
    return trajs


def test_token_mask_keeps_the_executed_actions_only():
    m = token_mask(3, chunk=8, action_dim=7)
    assert m.tolist() == [True] * 21 + [False] * 35


def test_weights_are_a_token_mean_per_trajectory_then_a_mean_over_trajectories():
    policy = tiny_policy()
    a, b = make_trajectories(policy, [[8], [8, 8, 2]])
    rows = decision_rows([(a, 1.0), (b, -1.0)], n_traj=2, chunk=8, action_dim=7)
    w = {id(a): 0.0, id(b): 0.0}
    for t, _, _, weights in rows:
        w[id(t)] += float(weights.sum())
    assert w[id(a)] == pytest.approx(0.5) and w[id(b)] == pytest.approx(0.5)  # short and long count alike
    last = rows[-1][3]
    assert torch.all(last[14:] == 0) and torch.allclose(last[:14], torch.full((14,), 1 / (126 * 2)))


def test_second_minibatch_step_moves_the_ratio_and_the_clip_acts():
    policy = tiny_policy(seed=1)
    trajs = make_trajectories(policy, [[8], [8, 5], [8, 8, 2], [3]])
    advantages = np.array([1.0, -1.0, 0.5, 0.5])
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=1e-2)
    settings = Algorithm(mini_batch=2, micro_batch=3, temperature=1.6, clip_low=0.2, clip_high=0.28, grad_clip=1.0)
    metrics, steps = ppo_update(policy, optimizer, trajs, advantages, settings)
    assert metrics["optimizer_steps"] == len(steps) == 2 and metrics["decisions"] == 1 + 2 + 3 + 1
    # step 1: the sampling policy itself, ratio 1: loss = -mean over trajectories of the advantage
    assert steps[0]["clip_fraction"] == 0 and steps[0]["kl_old"] < 1e-6
    assert steps[0]["loss"] == pytest.approx(-(1.0 - 1.0) / 2, abs=1e-5)
    # step 2 runs on the updated policy: the ratio has left 1 and the clip acts
    assert steps[1]["kl_old"] > 1e-4 and steps[1]["clip_fraction"] > 0
    assert metrics["clip_fraction"] == pytest.approx((steps[0]["clip_fraction"] + steps[1]["clip_fraction"]) / 2)


def test_one_step_loss_is_the_mean_over_trajectories_not_over_tokens():
    policy = tiny_policy(seed=2)
    trajs = make_trajectories(policy, [[8], [8, 8, 8]])  # 56 and 168 valid tokens
    optimizer = torch.optim.SGD(policy.model.parameters(), lr=0.0)
    settings = Algorithm(mini_batch=8, micro_batch=8, temperature=1.6, clip_low=0.2, clip_high=0.28, grad_clip=1.0)
    metrics, steps = ppo_update(policy, optimizer, trajs, np.array([1.0, 0.0]), settings)
    assert len(steps) == 1
    # ratio 1: per-trajectory token means are 1 and 0 -> loss -0.5 (a batch token-mean would give -56/224)
    assert steps[0]["loss"] == pytest.approx(-0.5, abs=1e-5)
    nan_skipped, _ = ppo_update(policy, optimizer, trajs, np.array([np.nan, 1.0]), settings)
    assert nan_skipped["trained_trajectories"] == 1 and nan_skipped["decisions"] == 3
