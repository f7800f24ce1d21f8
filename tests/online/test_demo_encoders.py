"""The online bench's fitted encoders: `state` (the privileged control) and `learned` (camera frames + labels only),
fitted on the warm start's own demonstrations and scoring the online trainer's trajectories."""

import dataclasses

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from srpo_offline.encoders import build_encoder
from srpo_offline.encoders.fitting import STATE_KEYS, state_sequence
from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.demo_encoders import demo_fit_data, fit_demo_encoder
from srpo_online_sim.online import OnlineTrainer, encoder_input
from srpo_online_sim.pool import EnvPool
from srpo_online_sim.sim_bench import OnlineBenchConfig, arm_setup
from srpo_online_sim.warm_start import collect_demos
from srpo_online_sim.xarm_sim import SimXArmEnv, SimXArmSpec

SPEC = SimXArmSpec(tasks=("lift",), render=False)


@pytest.mark.timeout(300)
def test_state_encoder_fitted_on_demos_tracks_progress_and_scores_rollouts(tmp_path):
    torch.set_num_threads(1)
    path = fit_demo_encoder(SPEC, "state", "front", demos_per_task=3, seed=0, cache=tmp_path, steps=300)
    stamp = path.stat().st_mtime_ns
    assert fit_demo_encoder(SPEC, "state", "front", 3, 0, tmp_path, steps=300) == path  # cached by its data
    assert path.stat().st_mtime_ns == stamp
    assert fit_demo_encoder(SPEC, "state", "front", 3, 1, tmp_path, steps=300) != path  # other seed, other demos
    encoder = build_encoder("state", str(path))
    assert encoder.meta["keys"] == list(STATE_KEYS) and encoder.meta["n_success"] == 3
    assert "demonstrations, seed 0" in encoder.meta["store"]

    # progress on a demonstration the fit never saw: the embedding of prefix 0..t nears the fitted successes'
    # endings as t goes on
    train = demo_fit_data(SPEC, "state", "front", 3, seed=0)
    goal = encoder.encode([x for x in train.inputs]).mean(0)
    held_out = collect_demos(SPEC, 1, seed=7)[0]
    seq = state_sequence([*held_out.observations, held_out.last], STATE_KEYS)
    steps = np.arange(0, len(seq), 4)
    dist = np.linalg.norm(encoder.encode([seq[: t + 1] for t in steps]) - goal, axis=1)
    assert spearmanr(steps, dist).statistic < -0.8
    assert dist[-1] < 0.5 * dist[0]

    # the trainer scores each rollout's own per-step simulator state (no frames rendered or kept)
    algo = Algorithm(reward="srpo", groups_per_step=2, n_rollouts=4, keep_mixed_only=False, temperature=1.0,
                     mini_batch=8, micro_batch=4096, epochs=1, seed=0)
    from srpo_online_sim.warm_start import WarmStartConfig, behaviour_clone

    policy, _ = behaviour_clone(SPEC, WarmStartConfig(demos_per_task=2, epochs=5, hidden=32, n_bins=16))
    trainer = OnlineTrainer(SPEC, policy, algo, tmp_path / "run", encoder=encoder, num_envs=4, subprocess=False)
    seen = []
    encode = encoder.encode
    encoder.encode = lambda inputs: seen.append(inputs[0]) or encode(inputs)  # records what the trainer scores
    with EnvPool(SPEC, 4, subprocess=False) as pool:
        metrics = trainer.train_step(pool)
    assert len(seen) == 8 and all(x.ndim == 2 and x.shape[1] == encoder.meta["in_dim"] for x in seen)
    lengths = sorted(len(x) for x in seen)
    assert lengths[0] > 1 and np.isfinite(metrics["reward_mean"])
    assert arm_setup(OnlineBenchConfig(), "srpo:state")[2] == "state"
    assert "CONTROL with privileged information" in arm_setup(OnlineBenchConfig(), "srpo:state")[3]


@pytest.mark.timeout(300)
def test_learned_encoder_fits_on_demo_frames_the_trainer_also_renders(tmp_path):
    torch.set_num_threads(1)
    frames = demo_fit_data(SPEC, "learned", "front", 2, seed=0)
    states = demo_fit_data(SPEC, "state", "front", 2, seed=0)
    assert frames.keys == () and len(frames.inputs) == 2 and frames.success == [True, True]
    for x, s in zip(frames.inputs, states.inputs):  # one frame per step: the reset frame, then every tick
        assert x.dtype == np.uint8 and x.shape[1:] == (64, 64, 3) and len(x) == len(s)
    # the fit's first frame is what the online env renders from the same initial state on the same camera
    env = SimXArmEnv(dataclasses.replace(SPEC, render=True, reward_camera="front"))
    try:
        from srpo_online_sim.warm_start import DEMO_SEED_OFFSET

        first = env.reset(0, env.sample_init_state(0, DEMO_SEED_OFFSET)).frames[0]
    finally:
        env.close()
    assert np.abs(first.astype(int) - frames.inputs[0][0].astype(int)).mean() < 1.0
    assert np.abs(frames.inputs[0][-1].astype(int) - frames.inputs[0][0].astype(int)).mean() > 1.0  # it moved

    path = fit_demo_encoder(SPEC, "learned", "front", 2, 0, tmp_path, steps=20)
    encoder = build_encoder("learned", str(path))
    assert encoder.meta["camera"] == "camera0" and encoder.meta["keys"] == []  # front = camera0; no state read
    _, name, camera, note = arm_setup(OnlineBenchConfig(), "srpo:learned")
    assert (name, camera) == ("learned", "front") and "warm start's own demonstrations" in note

    class Traj:  # what encoder_input reads of a Trajectory
        video = frames.inputs[0]
        states = []

    assert encoder_input(encoder, Traj()) is Traj.video
