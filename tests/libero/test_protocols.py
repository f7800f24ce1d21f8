"""One conformance test for every world of the online trainer (`srpo_online_sim.protocols`): LIBERO with the tiny
OpenVLA*, and the simulated xArm with the MLP policy. A new simulator adds itself to WORLDS."""

import pickle

import numpy as np
import pytest
import torch

from srpo_online_sim.pool import EnvPool
from srpo_online_sim.protocols import Env, EnvSpec, Policy, StepResult
from srpo_online_sim.rollout import Request, rollout

from .conftest import SUITE, TASK

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sim_world():
    from srpo_online_sim.mlp_policy import MLPPolicy, MLPPolicyConfig
    from srpo_online_sim.xarm_sim import SimXArmSpec

    spec = SimXArmSpec(tasks=("lift", "place"), max_steps=12, image_size=32)
    env = spec.build()
    yield spec, env, MLPPolicy(MLPPolicyConfig(n_tasks=2, hidden=32), spec.instructions(), seed=0), 1
    env.close()


@pytest.fixture(scope="module")
def libero_world():
    """A LIBERO env of its own: the session's shared envs carry other tests' history (seen: a stepped chunk that
    left the frame unchanged)."""
    from srpo_online_sim.envs import EnvConfig, EnvPool
    from srpo_online_sim.openvla.loading import tiny_policy

    pool = EnvPool(EnvConfig(suite=SUITE, max_steps=24, settle_steps=3), num_envs=1, subprocess=False)
    yield pool.spec, pool._local[0], tiny_policy(seed=0), TASK
    pool.close()


WORLDS = ["sim_world", "libero_world"]


def _inputs(policy, result: StepResult, instruction: str):
    return policy.prepare([result.policy_inputs[-1]], [instruction])


@pytest.mark.parametrize("world", WORLDS)
def test_world_conforms_to_the_protocols(world, request, tmp_path):
    spec, env, policy, task = request.getfixturevalue(world)
    assert isinstance(spec, EnvSpec) and isinstance(env, Env) and isinstance(policy, Policy)
    assert pickle.loads(pickle.dumps(spec)) == spec  # travels to spawned env workers
    instruction = spec.instructions()[task]
    assert isinstance(instruction, str) and instruction

    # initial states: a seed gives one state, another seed another one
    a, b = env.sample_init_state(task, 11), env.sample_init_state(task, 12)
    np.testing.assert_array_equal(a, env.sample_init_state(task, 11))
    assert a.ndim == 1 and not np.allclose(a, b)

    # reset renders the reward camera and gives the policy its input
    first = env.reset(task, a)
    assert not first.done and not first.success and first.policy_inputs
    frame = first.frames[-1]
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 5

    # the policy: sampled chunks with log-probs, recomputed differentiably, greedy deterministic
    inputs = _inputs(policy, first, instruction)
    gen = torch.Generator().manual_seed(0)
    out = policy.act(inputs, temperature=1.0, generator=gen)
    n_tokens = policy.chunk * policy.action_dim
    assert out.slice_tokens.shape == out.log_probs.shape == (1, n_tokens)
    assert out.actions.shape == (1, policy.chunk, policy.action_dim) and (out.log_probs <= 0).all()
    again = policy.log_probs(inputs, out.slice_tokens, 1.0)
    torch.testing.assert_close(again.detach().float(), out.log_probs.float(), atol=1e-4, rtol=1e-4)
    again.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.model.parameters())
    policy.model.zero_grad(set_to_none=True)
    g1, g2 = (policy.act(inputs, temperature=0.0).slice_tokens for _ in range(2))
    assert torch.equal(g1, g2)

    # a chunk steps the env; a reset to the same state afterwards restores the same scene
    step = env.step_chunk(spec.env_action(out.actions[0]))
    assert 1 <= step.executed <= policy.chunk and step.frames
    # a full-scale chunk moves the arm whatever the (random, tiny) policy sampled above
    push = env.step_chunk(spec.env_action(np.ones(tuple(out.actions[0].shape))))
    assert push.executed >= 1 and np.abs(push.frames[-1].astype(int) - frame.astype(int)).mean() > 0.05
    back = env.reset(task, a).frames[-1]  # LIBERO's controller keeps a little history: within half a grey level
    assert np.abs(back.astype(int) - frame.astype(int)).mean() < 0.5
    other = env.reset(task, b).frames[-1]
    assert np.abs(other.astype(int) - frame.astype(int)).mean() > 0.5

    # weights round-trip through save / load_weights
    policy.save(tmp_path / "ckpt")
    before = policy.log_probs(inputs, out.slice_tokens, 1.0).detach()
    with torch.no_grad():
        for p in policy.model.parameters():
            p.add_(0.1)
    policy.load_weights(tmp_path / "ckpt")
    torch.testing.assert_close(policy.log_probs(inputs, out.slice_tokens, 1.0).detach(), before)


@pytest.mark.parametrize("world", WORLDS)
def test_rollout_runs_every_world_through_one_loop(world, request):
    spec, env, policy, task = request.getfixturevalue(world)
    state = env.sample_init_state(task, 5)
    pool = EnvPool(spec, 1, subprocess=False)
    pool._local = [env]  # the module's env (building another LIBERO env is the slow part)
    instruction = spec.instructions()[task]
    trajs = rollout(policy, pool, [Request(task, instruction, state, 0)] * 2, temperature=1.0,
                    generator=torch.Generator().manual_seed(1))
    for t in trajs:
        assert len(t.tokens) == len(t.old_log_probs) == len(t.executed) == len(t.observations) >= 1
        assert all(1 <= e <= policy.chunk for e in t.executed) and t.video.dtype == np.uint8
        assert isinstance(t.success, bool)
    assert not np.array_equal(np.stack(trajs[0].tokens), np.stack(trajs[1].tokens))  # sampled, not replayed
