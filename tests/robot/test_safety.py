"""Safety filter: every command leaves it inside the workspace, within the step limits, finite, or as a hold."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srpo.robot.safety import SafetyConfig, SafetyFilter, SafetyStop

CFG = SafetyConfig()
RATE = 50.0
MAX_STEP = min(CFG.max_linear_step, CFG.max_linear_speed / RATE)
MAX_ROT = min(CFG.max_angular_step, CFG.max_angular_speed / RATE)

any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
big_float = st.floats(-10.0, 10.0)
inside = st.tuples(st.floats(CFG.workspace_min[0], CFG.workspace_max[0]),
                   st.floats(CFG.workspace_min[1], CFG.workspace_max[1]),
                   st.floats(CFG.workspace_min[2], CFG.workspace_max[2]))


def _check(out, flt, start_target):
    assert out.shape == (7,) and np.all(np.isfinite(out))
    assert np.linalg.norm(out[:3]) <= MAX_STEP + 1e-6
    assert np.linalg.norm(out[3:6]) <= MAX_ROT + 1e-6
    assert CFG.gripper_range[0] <= out[6] <= CFG.gripper_range[1]
    assert np.all(flt.target >= np.array(CFG.workspace_min) - 1e-9)
    assert np.all(flt.target <= np.array(CFG.workspace_max) + 1e-9)
    if not flt.last_report.held:
        np.testing.assert_allclose(flt.target, start_target + out[:3].astype(np.float64), atol=1e-6)


@settings(max_examples=300, deadline=None)
@given(start=inside, actions=st.lists(st.lists(big_float, min_size=7, max_size=7), min_size=1, max_size=20))
def test_commands_stay_in_box_and_limits(start, actions):
    flt = SafetyFilter(CFG, control_rate_hz=RATE)
    flt.reset(np.array(start))
    for action in actions:
        before = flt.target.copy()
        out = flt.filter(np.array(action), {"robot0_eef_pos": flt.target})
        _check(out, flt, before)
    assert not flt.stopped


@settings(max_examples=200, deadline=None)
@given(start=inside, action=st.lists(any_float, min_size=7, max_size=7))
def test_nan_or_inf_commands_hold_and_stop(start, action):
    flt = SafetyFilter(CFG, control_rate_hz=RATE)
    flt.reset(np.array(start), gripper=0.7)
    before = flt.target.copy()
    out = flt.filter(np.array(action))
    _check(out, flt, before)
    if not np.all(np.isfinite(action)):
        assert flt.stopped and flt.last_report.held
        np.testing.assert_allclose(out, [0, 0, 0, 0, 0, 0, 0.7], atol=1e-6)  # hold: no motion, gripper kept
        # latched: even a good command now holds until the next episode's reset
        np.testing.assert_allclose(flt.filter(np.zeros(7)), [0, 0, 0, 0, 0, 0, 0.7], atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(age=st.one_of(st.floats(0.26, 100.0), st.just(float("nan"))), bad_key=st.sampled_from(
    ["robot0_eef_pos", "robot0_joint_pos", None]))
def test_stale_or_nan_observation_stops(age, bad_key):
    flt = SafetyFilter(CFG, control_rate_hz=RATE)
    flt.reset(np.array([0.4, 0.0, 0.2]))
    obs = {"robot0_eef_pos": np.array([0.4, 0.0, 0.2]), "robot0_joint_pos": np.zeros(7)}
    if bad_key is not None:
        obs[bad_key] = np.full_like(obs[bad_key], np.nan)
        age = 0.0
    out = flt.filter(np.array([0.01, 0, 0, 0, 0, 0, 1.0]), obs, obs_age_s=age)
    assert flt.stopped
    np.testing.assert_array_equal(out, [0, 0, 0, 0, 0, 0, 0])


def test_clamps_name_the_limit_and_reset_clears_stop():
    flt = SafetyFilter(CFG, control_rate_hz=RATE)
    flt.reset(np.array([0.4, 0.0, CFG.workspace_min[2] + 0.001]))
    out = flt.filter(np.array([0.0, 0.0, -0.5, 0, 0, 2.0, 3.0]))
    assert set(flt.last_report.clamped) == {"workspace", "angular_step", "gripper"}
    assert out[2] == pytest.approx(-0.001, abs=1e-6) and out[6] == 1.0
    flt.filter(np.full(7, np.nan))
    assert flt.stopped
    flt.reset(np.array([0.4, 0.0, 0.2]))
    assert not flt.stopped
    with pytest.raises(SafetyStop):
        flt.reset(np.array([np.nan, 0, 0]))


REACH = CFG.reach_radius - CFG.reach_margin


def _in_reach(p):
    return np.linalg.norm(np.asarray(p) - np.array(CFG.reach_center)) <= REACH + 1e-9


@settings(max_examples=300, deadline=None)
@given(start=inside.filter(_in_reach),
       actions=st.lists(st.lists(big_float, min_size=7, max_size=7), min_size=1, max_size=20))
def test_commands_stay_within_reach(start, actions):
    flt = SafetyFilter(CFG, control_rate_hz=RATE)
    flt.reset(np.array(start))
    for action in actions:
        before = flt.target.copy()
        out = flt.filter(np.array(action))
        _check(out, flt, before)
        assert _in_reach(flt.target), np.linalg.norm(flt.target - np.array(CFG.reach_center))


def test_pushing_past_the_reach_holds_at_the_margin():
    """The box allows x = 0.75 m, but at shoulder height the xArm 7 ends at 0.7 m: the filter stops short."""
    flt = SafetyFilter(CFG, control_rate_hz=100.0)
    flt.reset(np.array([0.55, 0.0, 0.27]))
    for _ in range(200):
        flt.filter(np.array([0.01, 0.0, 0.0, 0, 0, 0, 0]))
    # on the reach boundary: 0.65 m from the shoulder (0.7 m less the 0.05 m margin), nearly all of it along x
    assert np.linalg.norm(flt.target - np.array(CFG.reach_center)) == pytest.approx(REACH, abs=1e-9)
    assert 0.649 < flt.target[0] <= REACH
    assert "reach" in flt.last_report.clamped
    # sideways along the reach boundary still moves (the filter slides, it does not stick)
    y0 = flt.target[1]
    for _ in range(10):
        flt.filter(np.array([0.0, 0.005, 0.0, 0, 0, 0, 0]))
    assert flt.target[1] > y0 + 0.02 and _in_reach(flt.target)
