"""Scripted operator profiles: their mix is met exactly, each episode keeps its operator, and each sloppy
operator shows its habit in the recorded simulator state (with no random noise, habits alone)."""

import numpy as np
import pytest

from srpo.errors import UserFacingError
from srpo.robot.runner import RecordConfig, record_episodes
from srpo.robot.teleop import OPERATOR_PROFILES, operator_schedule, parse_operator_mix
from srpo.store import EpisodeStore


def test_mix_parsing_and_exact_schedule():
    assert parse_operator_mix("expert:3,dither:1") == {"expert": 0.75, "dither": 0.25}
    assert parse_operator_mix("overshoot") == {"overshoot": 1.0}
    for bad in ("nobody:1", "expert:x", "expert:-1", "expert:0", ""):
        with pytest.raises(UserFacingError):
            parse_operator_mix(bad)
    mix = {"expert": 0.4, "early_release": 0.3, "overshoot": 0.3}
    a, b = operator_schedule(mix, 10, seed=0), operator_schedule(mix, 10, seed=1)
    assert sorted(a) == sorted(b) == ["early_release"] * 3 + ["expert"] * 4 + ["overshoot"] * 3
    assert a != b  # the order is shuffled by the seed
    assert sorted(operator_schedule({"expert": 0.5, "dither": 0.5}, 3, 0)).count("expert") in (1, 2)


@pytest.fixture(scope="module")
def habits(tmp_path_factory):
    out = tmp_path_factory.mktemp("operators") / "store.zarr"
    mix = "expert:1,early_release:1,overshoot:1,early_close:1"
    record_episodes(RecordConfig(backend="sim", task="lift", episodes=8, out=str(out), max_steps=150,
                                 expert_noise=0.0, operator=mix, seed=3, camera_height=24, camera_width=32),
                    progress=False)
    return EpisodeStore.open(out)


def by_operator(store):
    out: dict[str, list] = {}
    for e in store.episodes():
        out.setdefault(e.meta["operator"], []).append((e, store.episode(e.index)))
    return out


def test_each_episode_keeps_its_operator(habits):
    ops = by_operator(habits)
    assert sorted(ops) == ["early_close", "early_release", "expert", "overshoot"]
    assert all(len(v) == 2 for v in ops.values()) and set(ops) <= set(OPERATOR_PROFILES)


def test_the_clean_expert_succeeds_and_early_release_never_does(habits):
    ops = by_operator(habits)
    assert all(e.success is True for e, _ in ops["expert"])
    assert all(e.success is False for e, _ in ops["early_release"])
    for _, arrays in ops["early_release"]:  # it held the cube off the table, then let go below the lift height
        assert 0.01 < arrays["object0_pos"][:, 2].max() - arrays["object0_pos"][0, 2] < 0.1


def test_overshoot_comes_down_past_the_cube_and_early_close_closes_high(habits):
    ops = by_operator(habits)
    for _, arrays in ops["overshoot"]:  # came down 3-4 cm past the cube, at cube height, before any grasp
        eef, cube = arrays["robot0_eef_pos"], arrays["object0_pos"]
        off = np.linalg.norm(eef[:, :2] - cube[0, :2], axis=1)
        assert ((eef[:, 2] < 0.03) & (off > 0.025)).any()
    for _, arrays in ops["early_close"]:
        closed_high = (arrays["robot0_gripper_width"][:, 0] < 0.02) & (arrays["robot0_eef_pos"][:, 2] > 0.05)
        assert closed_high.any()  # the gripper closed on air well above the cube
    for _, arrays in ops["expert"]:  # the clean expert closes at the cube, never high above it
        closed_high = (arrays["robot0_gripper_width"][:, 0] < 0.02) & (arrays["robot0_eef_pos"][:, 2] > 0.05)
        first_close = np.flatnonzero(arrays["robot0_gripper_width"][:, 0] < 0.045)
        assert first_close.size and arrays["robot0_eef_pos"][first_close[0], 2] < 0.05


def test_state_key_selection_feeds_privileged_state_as_environment_state(habits, tmp_path):
    from srpo.policy_io import (
        ENV_STATE,
        IMAGE_PREFIX,
        STATE,
        PolicyIO,
        lerobot_features,
        policy_observation,
        read_io,
        write_io,
    )

    io = PolicyIO(state_keys=("robot0_eef_pos", "robot0_gripper_width"),
                  environment_state_keys=("object0_pos", "object0_quat"), images=False)
    io.check(habits)
    features = lerobot_features(habits, io=io)
    assert features[STATE]["shape"] == (4,) and features[ENV_STATE]["shape"] == (7,)
    assert features[ENV_STATE]["names"][:4] == ["object0_pos_0", "object0_pos_1", "object0_pos_2", "object0_quat_0"]
    assert not any(k.startswith(IMAGE_PREFIX) for k in features)  # a state-only policy sees no camera
    with_images = lerobot_features(habits, io=PolicyIO(environment_state_keys=("target0_pos",)))
    assert {k for k in with_images if k.startswith(IMAGE_PREFIX)} == {IMAGE_PREFIX + "camera0", IMAGE_PREFIX + "camera1"}
    step = {k: v[5] for k, v in habits.episode(0).items()}
    obs = policy_observation(step, io.state_keys, {}, io.environment_state_keys)
    assert np.array_equal(obs[ENV_STATE], np.concatenate([step["object0_pos"], step["object0_quat"]]))
    assert np.array_equal(obs[STATE], np.concatenate([step["robot0_eef_pos"], step["robot0_gripper_width"]]))
    write_io(tmp_path, io.state_keys, io.environment_state_keys)
    assert read_io(tmp_path).environment_state_keys == ("object0_pos", "object0_quat")
    with pytest.raises(UserFacingError, match="no state vector 'object9_pos'"):
        PolicyIO(environment_state_keys=("object9_pos",)).check(habits)
    with pytest.raises(UserFacingError, match="without images needs environment state"):
        PolicyIO(images=False).check(habits)
