"""Policy runner: a tiny random LeRobot ACT (real classes, saved with save_pretrained) drives the sim arm."""

import time

import numpy as np
import pytest

from srpo.errors import UserFacingError
from srpo.policy_io import STATE_KEYS, state_vector, write_io
from srpo.robot.arm import ROBOT_KEYS
from srpo.robot.policy_runner import LoadedPolicy, PolicyConfig, PolicySource
from srpo.robot.runner import DeployConfig, deploy_policy
from srpo.robot.safety import SafetyFilter
from srpo.store import EpisodeStore


def test_deploy_tiny_act_on_sim(tiny_act, tmp_path):
    out = tmp_path / "rollouts.zarr"
    results = deploy_policy(DeployConfig(policy=tiny_act, task="lift", episodes=2, max_steps=20, out=str(out)),
                            progress=False)
    assert len(results.episodes) == 2 and all(r.status == "complete" and r.steps == 20 for r in results.episodes)
    assert results.success_rate == 0.0  # a random policy does not lift the cube
    store = EpisodeStore.open(out)
    assert [e.source for e in store.episodes()] == ["policy", "policy"]
    actions = store.episode(0)["action"]
    limit = SafetyFilter(control_rate_hz=20.0).max_step
    assert np.all(np.linalg.norm(actions[:, :3], axis=1) <= limit + 1e-6)  # every command was filtered
    assert actions[:, :3].std() > 0  # and it did move


def test_chunks_are_executed_before_new_inference(tiny_act):
    cfg = PolicyConfig(checkpoint=tiny_act)
    policy = LoadedPolicy(cfg)
    source = PolicySource(policy, "lift the red cube", cfg)
    rng = np.random.default_rng(0)
    step = {k: rng.normal(size=n).astype(np.float32) for k, n in zip(STATE_KEYS, (7, 3, 1))}
    step |= {f"camera{i}_rgb": rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for i in range(2)}
    source.reset(None)
    actions = [source.act(step) for _ in range(20)]
    assert source.inference_count == 3  # chunk of 8: ticks 1, 9, 17
    np.testing.assert_allclose(actions[0], policy.predict_chunk(step, "lift the red cube")[0], atol=1e-5)
    assert state_vector(step).shape == (11,)
    source.close()


def test_non_blocking_mode_holds_while_thinking(tiny_act):
    cfg = PolicyConfig(checkpoint=tiny_act, blocking=False)
    policy = LoadedPolicy(cfg)
    slow = policy.predict_chunk

    def delayed(step, task):
        time.sleep(0.3)
        return slow(step, task)

    policy.predict_chunk = delayed
    source = PolicySource(policy, "t", cfg)
    step = {k: np.zeros(n, np.float32) for k, n in zip(STATE_KEYS, (7, 3, 1))}
    step |= {f"camera{i}_rgb": np.zeros((96, 128, 3), np.uint8) for i in range(2)}
    source.reset(None)
    assert source.act(step) is None  # control thread not blocked: the recorder holds the arm
    deadline = time.monotonic() + 20.0  # the chunk arrives once the 0.3 s of thinking is over (later on a busy box)
    while (first := source.act(step)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first is not None and first.shape == (7,)
    source.close()


def test_bad_checkpoint_is_a_clear_error(tmp_path, tiny_act):
    with pytest.raises(UserFacingError, match="not a LeRobot policy checkpoint"):
        LoadedPolicy(PolicyConfig(checkpoint=str(tmp_path)))
    import shutil

    other = tmp_path / "act14"
    shutil.copytree(tiny_act, other)
    write_io(other, ROBOT_KEYS)  # claims 14 state values, the checkpoint takes 11
    with pytest.raises(UserFacingError, match="expects a 11-value observation.state"):
        LoadedPolicy(PolicyConfig(checkpoint=str(other)))
    bare = tmp_path / "no_processors"
    shutil.copytree(tiny_act, bare)
    (bare / "policy_preprocessor.json").unlink()  # loading would otherwise build processors without stats
    with pytest.raises(UserFacingError, match="lacks LeRobot's processor files"):
        LoadedPolicy(PolicyConfig(checkpoint=str(bare)))
