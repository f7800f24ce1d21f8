"""The update diagnostics (`srpo_online_sim.diagnostics`) against an independent NumPy/SciPy computation on a tiny
MLP policy, the bad-run flag, and the update options that act on the full distributions."""

import copy

import numpy as np
import pytest
import torch
from scipy.special import softmax
from scipy.stats import entropy as scipy_entropy

from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.diagnostics import UpdateProbe, flag_run
from srpo_online_sim.mlp_policy import MLPPolicy, MLPPolicyConfig
from srpo_online_sim.rollout import Request, Trajectory
from srpo_online_sim.update import ppo_update

CHUNK, DIM, BINS, T = 2, 4, 5, 0.7


def tiny_policy(seed: int = 0) -> MLPPolicy:
    return MLPPolicy(MLPPolicyConfig(n_tasks=1, hidden=8, layers=1, chunk=CHUNK, n_bins=BINS), ["lift it"], seed=seed)


def observation(rng) -> dict:
    return {"robot0_eef_pos": rng.normal(size=3) * 0.1, "object0_pos": rng.normal(size=3) * 0.1,
            "target0_pos": rng.normal(size=3) * 0.1, "robot0_gripper_width": rng.uniform(0, 0.08),
            "object0_quat": rng.normal(size=4)}


def trajectories(policy, rng, executed=((2, 2, 1), (2, 1)), success=(True, False), advantages=None) -> list:
    trajs = []
    for g, (ex, ok) in enumerate(zip(executed, success)):
        t = Trajectory(Request(0, "lift it", np.zeros(1), g), success=ok)
        t.observations = [observation(rng) for _ in ex]
        t.tokens = [torch.as_tensor(rng.integers(0, BINS, CHUNK * DIM)) for _ in ex]
        inputs = policy.prepare(t.observations, ["lift it"] * len(ex))
        t.old_log_probs = list(policy.log_probs(inputs, torch.stack(t.tokens), T).detach())
        t.executed = list(ex)
        trajs.append(t)
    return trajs


def numpy_log_probs(state: dict, policy: MLPPolicy, observations: list[dict]) -> np.ndarray:
    """[n, CHUNK * DIM, BINS] log-probs at T, from the weights with NumPy: tanh layer, linear head, softmax."""
    w = {k: v.detach().numpy().astype(np.float64) for k, v in state.items()}
    x = policy.features(observations, ["lift it"] * len(observations))
    h = np.tanh(x @ w["body.0.weight"].T + w["body.0.bias"])
    logits = (h @ w["head.weight"].T + w["head.bias"]).reshape(len(x), CHUNK * DIM, BINS)
    return np.log(softmax(logits / T, axis=-1))


def test_exact_kl_entropy_and_success_tokens_match_an_independent_computation():
    rng = np.random.default_rng(0)
    policy = tiny_policy()
    trajs = trajectories(policy, rng)
    before = copy.deepcopy(policy.model.state_dict())
    probe = UpdateProbe(policy, trajs, T)
    with torch.no_grad():  # "the update": any change of the weights
        policy.model.head.weight.add_(0.5 * torch.randn_like(policy.model.head.weight))
        policy.model.body[0].bias.add_(0.3)
    got = probe.after()

    kl, ent, per_dim, won = [], [], {d: [] for d in range(DIM)}, []
    for t in trajs:
        old = numpy_log_probs(before, policy, t.observations)
        new = numpy_log_probs(policy.model.state_dict(), policy, t.observations)
        for i, executed in enumerate(t.executed):
            for k in range(executed * DIM):  # executed actions only; dimension = token index % DIM
                kl.append(scipy_entropy(np.exp(old[i, k]), np.exp(new[i, k])))
                ent.append(scipy_entropy(np.exp(new[i, k])))
                per_dim[k % DIM].append(ent[-1])
                if t.success:
                    tok = int(t.tokens[i][k])
                    won.append(new[i, k, tok] - old[i, k, tok])
    assert len(kl) == 8 + 8 + 4 + 8 + 4  # 32 executed tokens of 40 (chunks of 2 actions x 4 dims)
    assert got["kl_full"] == pytest.approx(np.mean(kl), rel=1e-4) and got["kl_full"] > 1e-3
    assert got["entropy_mean"] == pytest.approx(np.mean(ent), rel=1e-5)
    for d in range(DIM):
        assert got[f"entropy_dim{d}"] == pytest.approx(np.mean(per_dim[d]), rel=1e-5)
    assert got["success_logp_change"] == pytest.approx(np.mean(won), abs=1e-5)
    assert got["tail_mass"] == pytest.approx(0.0, abs=1e-6)  # 5 bins: the old top 5 are every bin


def test_no_success_in_the_batch_leaves_the_success_token_change_out():
    rng = np.random.default_rng(1)
    policy = tiny_policy()
    probe = UpdateProbe(policy, trajectories(policy, rng, success=(False, False)), T)
    got = probe.after()  # nothing changed: zero KL, zero entropy change
    assert "success_logp_change" not in got
    assert got["kl_full"] == pytest.approx(0.0, abs=1e-7) and got["entropy_change"] == pytest.approx(0.0, abs=1e-6)


def test_flag_run_names_falling_success_tokens_and_rising_entropy():
    steady = [{"step": i, "success_logp_change": 0.01, "entropy_change": -0.01} for i in range(1, 9)]
    assert flag_run(steady) == []
    falling = [dict(r, success_logp_change=-0.02 if 3 <= r["step"] <= 6 else 0.01) for r in steady]
    assert flag_run(falling) == ["success-token log-prob fell in 4 consecutive updates (ending at update 6)"]
    broken = [dict(r, success_logp_change=-0.02 if r["step"] in (2, 3, 5, 6, 7) else 0.01) for r in steady]
    assert flag_run(broken) == []  # never 4 in a row
    rising = [dict(r, entropy_change=0.3) for r in steady]
    assert flag_run(rising) == ["entropy rose in 4 consecutive updates (ending at update 4)"]
    assert flag_run([dict(r, entropy_change=0.001) for r in steady]) == []  # below ENTROPY_RISE: noise


def _settings(**kw) -> Algorithm:
    return Algorithm(mini_batch=1, micro_batch=64, temperature=T, clip_low=0.2, clip_high=0.28, grad_clip=10.0,
                     epochs=4, **kw)


def test_negative_scale_zero_learns_nothing_from_failures():
    rng = np.random.default_rng(2)
    policy = tiny_policy()
    trajs = trajectories(policy, rng)
    before = copy.deepcopy(policy.model.state_dict())
    optimizer = torch.optim.SGD(policy.model.parameters(), lr=0.1)
    ppo_update(policy, optimizer, trajs, np.array([np.nan, -1.0]), _settings(negative_scale=0.0))
    for k, v in policy.model.state_dict().items():
        torch.testing.assert_close(v, before[k])
    ppo_update(policy, optimizer, trajs, np.array([np.nan, -1.0]), _settings())  # negative_scale 1: it moves
    assert any(not torch.equal(v, before[k]) for k, v in policy.model.state_dict().items())


def test_full_distribution_kl_penalty_keeps_the_policy_closer_to_the_rollout_policy():
    kls = {}
    for coef in (0.0, 5.0):
        rng = np.random.default_rng(3)
        policy = tiny_policy()
        trajs = trajectories(policy, rng, executed=((2, 2, 2), (2, 2, 2), (2, 2), (2, 2)),
                             success=(True, False, False, True))
        probe = UpdateProbe(policy, trajs, T)
        optimizer = torch.optim.Adam(policy.model.parameters(), lr=3e-2)
        metrics, _ = ppo_update(policy, optimizer, trajs, np.array([1.0, -1.0, -1.0, 1.0]),
                                _settings(kl_rollout_coef=coef))
        kls[coef] = probe.after()["kl_full"]
        assert (metrics["kl_rollout"] > 0) == (coef > 0)  # the penalty's KL is logged when it acts
    assert 0 < kls[5.0] < 0.7 * kls[0.0]
