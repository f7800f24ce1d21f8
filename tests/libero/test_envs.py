"""A real LIBERO task (hf-libero + offline asset wheels): reset, step, render, and the env's own success."""

import numpy as np
import pytest

from srpo_online_sim.envs import SUITE_MAX_STEPS, EnvConfig, libero_action, official_init_states, task_names

from .conftest import SUITE, TASK

pytestmark = pytest.mark.slow


def test_reset_step_render_and_no_success_without_solving(libero_env):
    states = official_init_states(SUITE, TASK)
    assert states.shape[0] == 50
    first = libero_env.reset(TASK, states[0])
    frame = first.frames[0]
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8 and frame.std() > 10  # a rendered scene
    # rotated 180 degrees: the table (bright, bottom) is below the wall (top)
    assert frame[200:].mean() > frame[:40].mean()
    res = libero_env.step_chunk(libero_action(np.tile([0.5, 0, 0, 0, 0, 0, 1.0], (8, 1))))
    assert len(res.frames) == 8 and not res.success and not res.done
    assert np.abs(res.frames[-1].astype(int) - frame.astype(int)).mean() > 0.5  # the arm moved


def test_success_comes_from_the_environment(libero_env, solved_state):
    res = libero_env.reset(TASK, solved_state)
    assert not res.done
    res = libero_env.step_chunk(np.tile([0, 0, 0, 0, 0, 0, -1.0], (8, 1)))
    assert res.success and res.done and len(res.frames) == 1  # stops at the first successful step


def test_step_limit_ends_the_episode(libero_env):
    libero_env.reset(TASK, official_init_states(SUITE, TASK)[1])
    done = [libero_env.step_chunk(np.zeros((8, 7))).done for _ in range(3)]
    assert done == [False, False, True] and libero_env.steps == 24  # max_steps=24


def test_suite_metadata_and_training_states_differ_from_evaluation(libero_env):
    assert len(task_names("spatial")) == 10 and len(task_names("90")) == 90
    assert EnvConfig(suite="10").step_limit == SUITE_MAX_STEPS["10"] == 520
    sampled = libero_env.sample_init_state(TASK, seed=1_000_000)
    official = official_init_states(SUITE, TASK)
    assert sampled.shape == official.shape[1:]
    assert np.abs(official - sampled).max(axis=1).min() > 1e-4
    other = libero_env.sample_init_state(TASK, seed=1_000_001)
    assert np.abs(other - sampled).max() > 1e-4  # a different seed places the objects differently


def test_gripper_convention():
    out = libero_action(np.array([[0.1, 0.2, 0.3, 0, 0, 0, 1.0], [0, 0, 0, 0, 0, 0, -0.5]]))
    assert out[0, -1] == -1.0 and out[1, -1] == 1.0  # open -> -1, close -> +1 in LIBERO
    assert np.allclose(out[:, :6], [[0.1, 0.2, 0.3, 0, 0, 0], [0] * 6])


def test_every_reset_seeds_the_env_so_history_does_not_leak(libero_env):
    # LIBERO's env.seed is np.random.seed; reset samples placements from it before set_init_state
    state = official_init_states(SUITE, TASK)[2]
    libero_env.reset(TASK, state)
    after_first = np.random.random()
    libero_env.sample_init_state(TASK, seed=123)  # other work in the same worker moves the generator
    np.random.random(7)
    libero_env.reset(TASK, state)
    assert np.random.random() == after_first
