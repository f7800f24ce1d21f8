"""Oracle progress from simulator state: stage by stage on hand-made states, on the simulator's own scripted
episodes, and stored as a reward run that training reads by name."""

import numpy as np
import pytest

from srpo.errors import UserFacingError
from srpo.store import EpisodeStore
from srpo_offline.advantages import AdvantageConfig, progress_advantages
from srpo_offline.oracle import compute_oracle_run, oracle_progress, oracle_trace

CUBE = (0.45, 0.10, 0.02)  # resting on the table (half edge 2 cm)
START = (0.40, 0.00, 0.22)  # 0.2291 m from the cube
OPEN = 0.085


def _episode(rows, pad=(0.45, -0.05, 0.0005)):
    """rows of (eef xyz, gripper width, cube xyz) -> store-like arrays."""
    eef, width, cube = zip(*rows)
    return {"robot0_eef_pos": np.array(eef), "robot0_gripper_width": np.array(width)[:, None],
            "object0_pos": np.array(cube), "target0_pos": np.tile(pad, (len(rows), 1))}


def test_lift_stages_by_hand():
    at_cube = (0.45, 0.10, 0.013)  # the TCP 7 mm below the cube centre, as the expert grasps
    rows = [
        (START, OPEN, CUBE),  # approach: nothing reduced yet
        ((0.425, 0.05, 0.12), OPEN, CUBE),  # halfway to the cube: approach fraction 0.5
        (at_cube, OPEN, CUBE),  # at the cube, open: grasp stage starts
        (at_cube, 0.0625, CUBE),  # half closed
        (at_cube, 0.040, CUBE),  # holding, cube still on the table: lift stage starts
        ((0.45, 0.10, 0.053), 0.040, (0.45, 0.10, 0.06)),  # cube bottom 4 cm up: half the lift height (8 cm)
        ((0.45, 0.10, 0.103), 0.040, (0.45, 0.10, 0.11)),  # 9 cm up: the task's success predicate
    ]
    tr = oracle_trace(_episode(rows), "lift the red cube")
    np.testing.assert_allclose(tr.progress, [0, 1 / 6, 1 / 3, 1 / 2, 2 / 3, 5 / 6, 1], atol=1e-9)
    assert tr.stage.tolist() == [0, 0, 1, 1, 2, 2, 3]


def test_closing_on_air_or_knocking_the_cube_is_not_progress():
    at_cube = (0.45, 0.10, 0.013)
    knocked = (0.55, 0.10, 0.02)  # the cube pushed 10 cm away
    rows = [(START, OPEN, CUBE), (at_cube, 0.0, CUBE), (at_cube, OPEN, knocked)]
    r = oracle_progress(_episode(rows), "lift")
    d0 = np.linalg.norm(np.subtract(START, CUBE))
    # closed on nothing: still approach, scored by the distance alone (7 mm of 229)
    assert r[1] == pytest.approx((1 - 0.007 / d0) / 3)
    assert r[2] == pytest.approx((1 - np.hypot(0.1, 0.007) / d0) / 3)
    assert r[2] < r[1]


def test_place_stages_by_hand():
    pad = (0.45, -0.05, 0.0005)  # 15 cm from the cube in the table plane
    rows = [
        (START, OPEN, CUBE),
        ((0.45, 0.10, 0.113), 0.040, (0.45, 0.10, 0.12)),  # held, lifted 10 cm, not moved: carry 0.5
        ((0.45, 0.025, 0.113), 0.040, (0.45, 0.025, 0.12)),  # halfway to the pad: carry 0.75
        ((0.45, -0.04, 0.063), 0.040, (0.45, -0.04, 0.07)),  # over the pad, 5 cm up: place 0.25
        ((0.45, -0.04, 0.013), 0.045, (0.45, -0.04, 0.02)),  # on the pad, half open: place 0.75
        ((0.45, -0.04, 0.013), 0.060, (0.45, -0.04, 0.02)),  # released on the pad: success
        ((0.45, -0.04, 0.013), 0.060, (0.45, 0.03, 0.02)),  # resting, open, but off the pad: approach
    ]
    tr = oracle_trace(_episode(rows, pad), "put the red cube on the green pad")
    np.testing.assert_allclose(tr.progress[:6], [0, 2.5 / 4, 2.75 / 4, 3.25 / 4, 3.75 / 4, 1.0], atol=1e-9)
    assert tr.stage.tolist()[:6] == [0, 2, 2, 3, 3, 4] and tr.stage[6] == 0 and tr.progress[6] < 0.25


def test_scripted_sim_episodes_succeed_at_one_and_failures_stay_low():
    from srpo.robot.sim.arm import SimArm, SimArmConfig
    from srpo.robot.teleop import ExpertConfig, ScriptedExpert

    finals = {}
    for noise, seed in ((0.0, 1), (1.5, 3)):  # seed 3 at noise 1.5 misses the grasp (measured)
        arm = SimArm(SimArmConfig(task="lift"))
        arm.connect()
        arm.reset(seed=seed)
        expert = ScriptedExpert("lift", ExpertConfig(noise=noise), seed=seed)
        expert.reset(arm)
        rows = []
        while not expert.done and len(rows) < 150:
            obs = arm.get_observation()
            rows.append((obs["robot0_eef_pos"], obs["robot0_gripper_width"][0], arm.body_pos("cube").copy()))
            arm.send_action(expert.act(obs))
        r = oracle_progress(_episode(rows), "lift")
        finals[seed] = (arm.success(), r)
    ok, r = finals[1]
    assert ok and r[-1] == 1.0 and r[0] == 0.0
    assert np.all(np.diff(r) > -0.02)  # the clean expert never loses progress beyond noise
    failed, r = finals[3]
    assert not failed and r.max() < 1 / 3  # never held the cube


def test_oracle_run_is_a_reward_run_training_reads(make_store):
    from srpo_offline.awr.weighting import reward_run_weights

    store = make_store(lengths=(6, 5), successes=(True, False), tasks=["lift the red cube", "lift"])
    rng = np.random.default_rng(0)
    data = EpisodeStore.open(store.path, mode="a").data
    n = store.num_steps
    # privileged state as sim recordings store it: the cube near the TCP, rising in episode 0
    eef = np.column_stack([np.full(n, 0.45), np.full(n, 0.1), np.linspace(0.2, 0.01, n)])
    data["robot0_eef_pos"][:] = eef.astype(np.float32)
    data["robot0_gripper_width"][:] = rng.uniform(0.03, 0.09, (n, 1)).astype(np.float32)
    cube = data.create_array("object0_pos", shape=(n, 3), dtype=np.float32)
    cube[:] = (eef + [0, 0, 0.007]).astype(np.float32)
    prov = compute_oracle_run(store.path, advantage=AdvantageConfig(estimator="to_go"), beta=0.5, w_max=5.0)
    arrays, attrs = EpisodeStore.open(store.path).read_derived("oracle")
    assert attrs["provenance"] == prov and prov["advantage"]["estimator"] == "to_go" and prov["encoder"] == "oracle"
    episodes = [EpisodeStore.open(store.path).episode(i, keys=["robot0_eef_pos", "robot0_gripper_width",
                                                              "object0_pos"]) for i in (0, 1)]
    progress = [oracle_progress(e, "lift") for e in episodes]
    np.testing.assert_allclose(arrays["progress"], np.concatenate(progress), rtol=1e-6)
    assert 0 < arrays["progress"].max() <= 1  # the random widths make some steps hold
    expected = progress_advantages(progress, AdvantageConfig(estimator="to_go"), 0.5, 5.0)
    np.testing.assert_allclose(arrays["weight"], np.concatenate(expected.weight), rtol=1e-5)
    table, how = reward_run_weights(EpisodeStore.open(store.path), "oracle", horizon=1)
    assert how["source"] == "stored" and np.array_equal(table.weight, arrays["weight"])
    with pytest.raises(UserFacingError, match="already exists"):
        compute_oracle_run(store.path)


def test_stores_without_simulator_state_are_refused(make_store):
    store = make_store(lengths=(4,), successes=(True,), tasks=["lift"])
    with pytest.raises(UserFacingError, match="object0_pos"):
        compute_oracle_run(store.path)
    with pytest.raises(UserFacingError, match="sim tasks"):
        oracle_progress({}, "wipe the board")
