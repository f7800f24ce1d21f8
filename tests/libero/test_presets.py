"""`--preset srpo|siirl`, the CLI parsing of TrainConfig/EvalConfig, and the trainer's reward/filter order."""

import numpy as np
import pytest

from srpo.configs import parse_config
from srpo.errors import UserFacingError
from srpo_online_sim.evaluate import EvalConfig
from srpo_online_sim.trainer import TrainConfig


def test_siirl_preset_is_the_authors_settings_and_explicit_flags_win():
    siirl = parse_config(TrainConfig, ["--preset", "siirl"]).resolved()
    # siiRL run_openvla_oft_libero_*.sh: 64 prompts x 8 samples, T 1.6, lr 5e-6, 512 env steps, clip 0.2/0.28;
    # the paper: mini-batches of 128 trajectories; filter before reward; their reward code
    assert (siirl.groups_per_step, siirl.n_rollouts, siirl.temperature, siirl.lr) == (64, 8, 1.6, 5e-6)
    assert (siirl.max_steps, siirl.mini_batch, siirl.filter_before_reward, siirl.reward_variant) == (
        512, 128, True, "siirl")
    assert (siirl.clip_low, siirl.clip_high, siirl.accuracy_bounds, siirl.autocast) == (0.2, 0.28, (0.1, 0.9), True)
    assert siirl.groups_per_step * siirl.n_rollouts // siirl.mini_batch == 4  # optimiser steps per full batch
    own = TrainConfig().resolved()
    assert (own.groups_per_step, own.mini_batch, own.max_steps, own.filter_before_reward, own.reward_variant) == (
        8, 16, None, False, "paper")
    mixed = parse_config(TrainConfig, ["--preset", "siirl", "--max-steps", "300", "--filter-before-reward",
                                       "false", "--output", "runs/x", "--variant", "paper"]).resolved()
    assert (mixed.max_steps, mixed.filter_before_reward, mixed.groups_per_step) == (300, False, 64)
    assert (mixed.output_dir, mixed.reward_variant) == ("runs/x", "paper")


def test_config_values_and_errors():
    cfg = parse_config(TrainConfig, ["--suite", "goal", "--tasks", "0,3,7", "--accuracy-bounds", "0.2", "0.8"])
    assert cfg.tasks == (0, 3, 7) and cfg.policy == "Sylvest/OpenVLA-AC-PD-1traj-libero-goal"
    assert cfg.accuracy_bounds == (0.2, 0.8)
    assert TrainConfig(tasks=(1, 2)).tasks == (1, 2)
    assert EvalConfig(suite="10").policy == "Sylvest/OpenVLA-AC-PD-1traj-libero-long"
    with pytest.raises(UserFacingError, match="--preset"):
        TrainConfig(preset="openvla")
    with pytest.raises(UserFacingError, match="unknown LIBERO suite"):
        EvalConfig(suite="long")
    with pytest.raises(UserFacingError, match="pass --policy"):
        TrainConfig(suite="90")
    assert TrainConfig(suite="90", policy="ckpt").policy == "ckpt"


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_filter_before_reward_in_the_trainer(tmp_path):
    """One task, two groups: g0 failed every rollout (dropped), g1 one success and two failures (kept).
    Filtering first keeps g0's far failures out of the failure normalisation; advantages use torch.std's
    unbiased estimate; dropped trajectories get NaN either way."""
    from srpo_online_sim.rollout import Request, Trajectory
    from srpo_online_sim.trainer import Trainer

    def advantages(first: bool):
        trainer = Trainer(TrainConfig(policy="tiny", encoder="pixel", device="cpu", output_dir=str(tmp_path),
                                      tasks=(0,), filter_before_reward=first, reward_variant="nearest"))
        success, groups = [False, False, True, False, False], [0, 0, 1, 1, 1]
        trajs = [Trajectory(Request(0, "x", np.zeros(1), g), success=s) for s, g in zip(success, groups)]
        emb = np.array([[10.0, 0.0], [12.0, 0.0], [0.0, 0.0], [3.0, 0.0], [5.0, 0.0]])
        return trainer._rewards(trajs, emb)

    def grpo(r):
        return (r - r.mean()) / (r.std(ddof=1) + 1e-6)

    first, metrics = advantages(True)
    after, _ = advantages(False)
    assert np.isnan(first[:2]).all() and np.isnan(after[:2]).all() and metrics["kept_fraction"] == 3 / 5
    # filter first: failures at 3 and 5 only -> z = -1, +1
    np.testing.assert_allclose(first[2:], grpo(np.array([1.0, 0.8 * _sig(1.0), 0.8 * _sig(-1.0)])), atol=1e-6)
    # reward first: failures at 10, 12, 3, 5 -> mean 7.5, std sqrt(13.25)
    z = (np.array([3.0, 5.0]) - 7.5) / np.sqrt(13.25)
    np.testing.assert_allclose(after[2:], grpo(np.array([1.0, *(0.8 * _sig(-z))])), atol=1e-6)
    assert np.abs(first[2:] - after[2:]).max() > 0.05
