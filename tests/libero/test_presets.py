"""`--preset srpo|siirl`, the CLI parsing of TrainConfig/EvalConfig, and the trainer's reward/filter order."""

import dataclasses

import numpy as np
import pytest

from srpo.configs import parse_config
from srpo.errors import UserFacingError
from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.evaluate import EvalConfig
from srpo_online_sim.trainer import PRESETS, TrainConfig, preset


def test_presets_are_whole_configs_and_explicit_flags_override_their_fields():
    siirl = parse_config(TrainConfig, ["--preset", "siirl"])
    assert siirl == PRESETS["siirl"] and siirl.preset == "siirl"
    a = siirl.algo
    # siiRL run_openvla_oft_libero_*.sh: 64 prompts x 8 samples, T 1.6, lr 5e-6, 512 env steps, clip 0.2/0.28;
    # filter before reward; their reward code
    assert (a.groups_per_step, a.n_rollouts, a.temperature, a.lr) == (64, 8, 1.6, 5e-6)
    assert (siirl.max_steps, a.filter_before_reward, a.reward_variant) == (512, True, "siirl")
    assert (a.clip_low, a.clip_high, a.accuracy_bounds, siirl.autocast) == (0.2, 0.28, (0.1, 0.9), True)
    own = parse_config(TrainConfig, [])
    assert own == TrainConfig() == PRESETS["srpo"]
    assert (own.algo.groups_per_step, own.algo.mini_batch, own.max_steps, own.algo.filter_before_reward,
            own.algo.reward_variant) == (8, 16, None, False, "paper")
    mixed = parse_config(TrainConfig, ["--preset", "siirl", "--max-steps", "300", "--algo.filter-before-reward",
                                       "false", "--output", "runs/x", "--variant", "paper", "--algo.lr", "1e-5"])
    assert (mixed.max_steps, mixed.algo.filter_before_reward, mixed.algo.groups_per_step) == (300, False, 64)
    assert (mixed.output_dir, mixed.algo.reward_variant, mixed.algo.lr) == ("runs/x", "paper", 1e-5)
    assert mixed.algo.mini_batch == siirl.algo.mini_batch and mixed.encoder_model == siirl.encoder_model
    assert preset("siirl", steps=3) == dataclasses.replace(siirl, steps=3)
    with pytest.raises(UserFacingError, match="--preset"):
        parse_config(TrainConfig, ["--preset", "openvla"])
    with pytest.raises(UserFacingError, match="--preset"):
        preset("openvla")


def test_config_values_and_errors():
    cfg = parse_config(TrainConfig, ["--suite", "goal", "--tasks", "0,3,7", "--algo.accuracy-bounds", "0.2", "0.8"])
    assert cfg.tasks == (0, 3, 7) and cfg.checkpoint == "Sylvest/OpenVLA-AC-PD-1traj-libero-goal"
    assert cfg.algo.accuracy_bounds == (0.2, 0.8)
    assert parse_config(TrainConfig, ["--preset", "siirl", "--suite", "goal"]).checkpoint.endswith("libero-goal")
    assert TrainConfig(tasks=(1, 2)).tasks == (1, 2)
    assert EvalConfig(suite="10").policy == "Sylvest/OpenVLA-AC-PD-1traj-libero-long"
    with pytest.raises(UserFacingError, match="unknown LIBERO suite"):
        EvalConfig(suite="long")
    with pytest.raises(UserFacingError, match="pass --policy"):
        TrainConfig(suite="90")
    with pytest.raises(UserFacingError, match="oracle"):
        parse_config(TrainConfig, ["--algo.reward", "oracle"])
    with pytest.raises(UserFacingError, match="unknown option --lr; did you mean --algo.lr"):
        parse_config(TrainConfig, ["--lr", "1e-5"])
    assert TrainConfig(suite="90", policy="ckpt").checkpoint == "ckpt"


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_filter_before_reward_in_the_trainer(tmp_path):
    """One task, two groups: g0 failed every rollout (dropped), g1 one success and two failures (kept).
    Filtering first keeps g0's far failures out of the failure normalisation; advantages use torch.std's
    unbiased estimate; dropped trajectories get NaN either way."""
    from srpo_online_sim.rollout import Request, Trajectory
    from srpo_online_sim.trainer import Trainer

    def advantages(first: bool):
        algo = Algorithm(filter_before_reward=first, reward_variant="nearest")
        trainer = Trainer(TrainConfig(policy="tiny", encoder="pixel", device="cpu", output_dir=str(tmp_path),
                                      tasks=(0,), algo=algo))
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
