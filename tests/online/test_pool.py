"""Env workers in subprocesses: the simulated xArm world stepped in 2 spawned workers matches the same world
stepped in this process, and a worker's error comes back naming the worker."""

import numpy as np
import pytest

from srpo_online_sim.pool import EnvPool
from srpo_online_sim.xarm_sim import SimXArmSpec


@pytest.mark.timeout(300)
def test_subprocess_workers_step_like_in_process_envs():
    spec = SimXArmSpec(tasks=("lift", "place"), max_steps=6, image_size=24)
    actions = spec.env_action(np.array([[0.01, 0.0, -0.01, 0.0]] * 4))
    runs = []
    for subprocess in (True, False):
        with EnvPool(spec, 2, subprocess=subprocess) as pool:
            states = [pool.call("sample_init_state", [(t, 7)], [t])[0] for t in (0, 1)]
            first = pool.call("reset", [(0, states[0]), (1, states[1])])
            steps = [pool.call("step_chunk", [(actions,), (actions,)]) for _ in range(2)]
            if subprocess:
                with pytest.raises(RuntimeError, match="env worker 1 .*SimXArmSpec.*UserFacingError"):
                    pool.call("reset", [(1, np.zeros(3))], [1])
        runs.append((states, first, steps))
    (s_sub, f_sub, st_sub), (s_loc, f_loc, st_loc) = runs
    for a, b in zip(s_sub, s_loc):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(s_sub[0][-3:], s_sub[1][-3:])  # lift's pad is parked away, place's is on the table
    for a, b in zip(f_sub + st_sub[0] + st_sub[1], f_loc + st_loc[0] + st_loc[1]):
        np.testing.assert_array_equal(a.frames[-1], b.frames[-1])
        np.testing.assert_allclose(a.observations[-1]["robot0_eef_pos"], b.observations[-1]["robot0_eef_pos"])
    assert [r.executed for r in st_sub[0]] == [4, 4] and [r.executed for r in st_sub[1]] == [2, 2]
    assert all(r.done and not r.success for r in st_sub[1])  # the 6-tick limit ends both episodes
