"""Shared LIBERO fixtures: one real task env, and an initial state in which that task is already solved."""

import numpy as np
import pytest

SUITE = "spatial"
TASK = 0  # "pick up the black bowl between the plate and the ramekin and place it on the plate"


def bowl_on_plate(env) -> None:
    """Move task 0's bowl onto the plate (its success predicate: On(akita_black_bowl_1, plate_1))."""
    data = env.env.env.sim.data
    bowl = data.get_joint_qpos("akita_black_bowl_1_joint0").copy()
    plate = data.get_joint_qpos("plate_1_joint0")
    bowl[:3] = plate[:3] + np.array([0.0, 0.0, 0.03])
    data.set_joint_qpos("akita_black_bowl_1_joint0", bowl)
    env.env.env.sim.forward()


@pytest.fixture(scope="session")
def env_pool():
    """Two in-process envs shared by every test (building a LIBERO env is the slow part)."""
    from srpo_online_sim.envs import EnvConfig, EnvPool

    pool = EnvPool(EnvConfig(suite=SUITE, max_steps=24, settle_steps=3), num_envs=2, subprocess=False)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def libero_env(env_pool):
    return env_pool._local[0]


@pytest.fixture(scope="session")
def solved_state(libero_env):
    """A flattened MuJoCo state of task 0 with the bowl resting on the plate."""
    from srpo_online_sim.envs import NOOP_ACTION, official_init_states

    libero_env.reset(TASK, official_init_states(SUITE, TASK)[0])
    bowl_on_plate(libero_env)
    for _ in range(15):
        libero_env.env.step(NOOP_ACTION)
    return np.asarray(libero_env.env.get_sim_state()).copy()
