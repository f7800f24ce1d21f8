"""The simulated xArm 7: kinematics from UFACTORY's offsets, IK tracking, task predicates, the scripted expert."""

import mujoco
import numpy as np
import pytest

from srpo.robot.arm import ArmError
from srpo.robot.sim.arm import SimArm, SimArmConfig
from srpo.robot.sim.scene import CUBE_HALF
from srpo.robot.teleop import ExpertConfig, ScriptedExpert


@pytest.fixture
def arm():
    arm = SimArm(SimArmConfig(task="lift", seed=3))
    arm.connect()
    return arm


def test_zero_pose_matches_published_offsets(arm):
    # all joints zero: flange at x = 52.5 + 77.5 + 76 mm, z = 267 + 293 - 342.5 - 97 mm, tool pointing down
    arm.data.qpos[arm._arm_qadr] = 0
    mujoco.mj_forward(arm.model, arm.data)
    np.testing.assert_allclose(arm.data.body("link7").xpos, [0.206, 0.0, 0.1205], atol=1e-6)
    np.testing.assert_allclose(arm.data.body("link7").xmat.reshape(3, 3)[:, 2], [0, 0, -1], atol=1e-6)


def test_observation_keys_and_types(arm):
    obs = arm.get_observation()
    assert obs["robot0_joint_pos"].shape == (7,) and obs["robot0_joint_pos"].dtype == np.float32
    assert obs["robot0_eef_pos"].shape == (3,)
    np.testing.assert_allclose(obs["robot0_gripper_width"], [0.085], atol=2e-3)  # starts open
    np.testing.assert_allclose(np.abs(obs["robot0_eef_rot_axis_angle"][0]), np.pi, atol=1e-3)  # tool down


def test_delta_actions_move_the_tool_and_gripper(arm):
    start = arm.get_observation()["robot0_eef_pos"].copy()
    for _ in range(20):
        arm.send_action(np.array([0.0025, -0.0015, 0.001, 0, 0, 0, 1.0]))
    for _ in range(10):
        arm.send_action(np.array([0, 0, 0, 0, 0, 0, 1.0]))
    obs = arm.get_observation()
    np.testing.assert_allclose(obs["robot0_eef_pos"] - start, [0.05, -0.03, 0.02], atol=4e-3)
    assert obs["robot0_gripper_width"][0] < 0.005  # closed on nothing
    assert abs(abs(obs["robot0_eef_rot_axis_angle"][0]) - np.pi) < 0.02  # orientation held


def test_rejects_bad_actions(arm):
    with pytest.raises(ArmError, match="finite"):
        arm.send_action(np.array([np.nan, 0, 0, 0, 0, 0, 0]))
    with pytest.raises(ArmError, match="unknown sim task"):
        SimArm(SimArmConfig(task="juggle"))


def _set_cube(arm, pos):
    adr = arm.model.joint("cube").qposadr[0]
    arm.data.qpos[adr:adr + 7] = [*pos, 1, 0, 0, 0]
    arm.data.qvel[:] = 0
    mujoco.mj_forward(arm.model, arm.data)


def test_lift_predicate(arm):
    assert not arm.success()  # cube starts on the table
    _set_cube(arm, [0.45, 0.0, CUBE_HALF + 0.12])
    assert arm.success()
    _set_cube(arm, [0.45, 0.0, CUBE_HALF + 0.05])
    assert not arm.success()


def test_place_predicate():
    arm = SimArm(SimArmConfig(task="place", seed=1))
    arm.connect()
    pad = arm.data.mocap_pos[0]
    assert np.linalg.norm(arm.body_pos("cube")[:2] - pad[:2]) > 0.1  # starts away from the pad
    assert not arm.success()
    _set_cube(arm, [pad[0] + 0.01, pad[1], CUBE_HALF])
    assert arm.success()  # on the pad, resting, gripper open
    _set_cube(arm, [pad[0] + 0.08, pad[1], CUBE_HALF])
    assert not arm.success()
    _set_cube(arm, [pad[0], pad[1], CUBE_HALF + 0.05])
    assert not arm.success()  # held above the pad


def _run_expert(task, noise, episodes, seed):
    arm = SimArm(SimArmConfig(task=task, seed=seed))
    arm.connect()
    outcomes = []
    for i in range(episodes):
        arm.reset()
        expert = ScriptedExpert(task, ExpertConfig(noise=noise), seed=seed * 1000 + i)
        expert.reset(arm)
        ok = False
        for _ in range(160):
            arm.send_action(expert.act(arm.get_observation()))
            ok = arm.success()
            if ok or (expert.done and _ > 120):
                break
        outcomes.append(ok)
    return outcomes


def test_clean_expert_solves_both_tasks():
    assert all(_run_expert("lift", 0.0, 3, seed=5))
    assert all(_run_expert("place", 0.0, 2, seed=6))


def test_noisy_expert_succeeds_on_most_and_fails_on_some():
    outcomes = _run_expert("lift", 0.7, 12, seed=11)
    assert 0.5 <= np.mean(outcomes) < 1.0, outcomes


def test_keyboard_teleop_keys_deadman_and_events():
    import io
    import time

    from srpo.robot.teleop import KeyboardTeleop

    kb = KeyboardTeleop(step=0.01, stream=io.StringIO("wwd ry"))
    time.sleep(0.1)
    action = kb.act({})
    np.testing.assert_allclose(action, [0.02, -0.01, 0.01, 0, 0, 0, 1.0])
    assert kb.events() == ["success"]
    assert kb.act({}) is None  # nothing pressed since: deadman holds
