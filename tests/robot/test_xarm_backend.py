"""xArm backend against XArmAPIDouble: a recorded-call double of xarm-python-sdk's XArmAPI (no arm here)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from srpo.errors import UserFacingError
from srpo.robot.xarm_backend import XArmBackend, XArmConfig, XArmError


class XArmAPIDouble:
    """Test double of xarm.wrapper.XArmAPI: records every call, answers like a healthy controller.

    `codes[name]` makes a method return that SDK code; `error_code` / `warn_code` mimic the SDK's values cached
    from the report stream, `live_error` (when set) what the controller answers to get_err_warn_code now.
    """

    def __init__(self, ip, connected=True):
        self.ip = ip
        self.connected = connected
        self.calls: list[tuple] = []
        self.codes: dict[str, int] = {}
        self.error_code = 0
        self.warn_code = 0
        self.live_error: int | None = None
        self.pose = [400.0, 0.0, 200.0, np.pi, 0.0, 0.0]  # mm, axis-angle rad
        self.angles = [0.0, -0.25, 0.0, 0.9, 0.0, 1.15, 0.0]
        self.gripper = 850.0

    def _call(self, name, *args, **kwargs):
        self.calls.append((name, args, kwargs))
        return self.codes.get(name, 0)

    def __getattr__(self, name):  # every setter of the SDK: record and return the code
        if name.startswith("set_") or name in ("motion_enable", "clean_error", "clean_warn", "disconnect"):
            return lambda *a, **k: self._call(name, *a, **k)
        raise AttributeError(name)

    def get_position_aa(self, is_radian=None):
        return self._call("get_position_aa", is_radian=is_radian), list(self.pose)

    def get_servo_angle(self, is_radian=None):
        return self._call("get_servo_angle", is_radian=is_radian), list(self.angles)

    def get_err_warn_code(self):
        error = self.error_code if self.live_error is None else self.live_error
        return 0, [error, self.warn_code]

    def get_gripper_position(self):
        return self._call("get_gripper_position"), self.gripper

    def names(self):
        return [c[0] for c in self.calls]


@pytest.fixture
def double():
    return XArmAPIDouble("10.0.0.2")


def _arm(double, **cfg):
    return XArmBackend(XArmConfig(ip=double.ip, **cfg), api_factory=lambda ip: double)


def test_connect_sequence_applies_sdk_safety_then_servo_mode(double):
    arm = _arm(double, collision_sensitivity=4, max_tcp_speed_mm_s=200)
    arm.connect()
    names = double.names()
    order = ["clean_warn", "clean_error", "motion_enable", "set_collision_sensitivity", "set_reduced_max_tcp_speed",
             "set_reduced_tcp_boundary", "set_reduced_mode", "set_mode", "set_state", "set_gripper_mode",
             "set_gripper_enable", "set_gripper_speed", "get_position_aa"]
    assert names == order
    calls = {c[0]: c for c in double.calls}
    assert calls["set_collision_sensitivity"][1] == (4,)
    assert calls["set_reduced_max_tcp_speed"][1] == (200,)
    assert calls["set_reduced_tcp_boundary"][1] == ([680, 200, 400, -400, 550, 5],)  # x_max inside the reach
    assert calls["set_mode"][1] == (1,)  # servo mode
    np.testing.assert_allclose(arm.target_pos, [0.4, 0.0, 0.2])


def test_observation_units(double):
    arm = _arm(double)
    arm.connect()
    double.gripper = 425.0
    obs = arm.get_observation()
    np.testing.assert_allclose(obs["robot0_eef_pos"], [0.4, 0.0, 0.2], atol=1e-6)  # mm -> m
    np.testing.assert_allclose(obs["robot0_gripper_width"], [0.0425], atol=1e-6)  # pulses -> m
    assert obs["robot0_joint_pos"].shape == (7,)


def test_servo_stream_integrates_small_steps_and_gripper_deadband(double):
    arm = _arm(double)
    arm.connect()
    double.calls.clear()
    for _ in range(3):
        arm.send_action(np.array([0.001, -0.002, 0.0005, 0, 0, 0, 0.0]))
    arm.send_action(np.array([0, 0, 0, 0, 0, 0.01, 0.01]))  # within the gripper deadband: not re-sent
    arm.send_action(np.array([0, 0, 0, 0, 0, 0, 1.0]))
    servo = [c for c in double.calls if c[0] == "set_servo_cartesian_aa"]
    assert len(servo) == 5 and all(c[2]["is_radian"] for c in servo)
    np.testing.assert_allclose(servo[2][1][0][:3], [403.0, -6.0, 201.5])  # mm, integrated from connect pose
    sent = Rotation.from_rotvec(servo[3][1][0][3:6])
    expected = Rotation.from_euler("z", 0.01) * Rotation.from_rotvec([np.pi, 0, 0])  # rotation step, base frame
    assert (sent * expected.inv()).magnitude() < 1e-6
    grip = [c for c in double.calls if c[0] == "set_gripper_position"]
    assert [c[1][0] for c in grip] == [850.0, 0.0]  # open once, then closed


def test_sdk_codes_become_clear_errors(double):
    arm = _arm(double)
    arm.connect()
    double.codes["set_servo_cartesian_aa"] = 1
    double.error_code = 22
    with pytest.raises(XArmError) as err:
        arm.send_action(np.zeros(7))
    text = str(err.value)
    assert "C22" in text and "Self-Collision" in text.title()  # the SDK's own description of error 22


def test_controller_fault_stops_observation(double):
    arm = _arm(double)
    arm.connect()
    double.error_code = 31
    with pytest.raises(XArmError, match="C31"):
        arm.get_observation()


def test_connect_failures(double):
    double.codes["set_mode"] = -2
    with pytest.raises(XArmError, match=r"set_mode\(1\).*NOT_READY"):
        _arm(double).connect()
    offline = XArmAPIDouble("10.0.0.9", connected=False)
    with pytest.raises(XArmError, match="could not reach"):
        _arm(offline).connect()
    with pytest.raises(XArmError, match="non-finite"):
        arm = _arm(XArmAPIDouble("x"))
        arm.connect()
        arm.send_action(np.array([np.nan] * 7))


def test_disconnect_stops_then_closes_once(double):
    arm = _arm(double)
    arm.connect()
    double.calls.clear()
    arm.disconnect()
    arm.disconnect()
    assert double.names() == ["set_state", "set_mode", "set_state", "disconnect"]
    assert double.calls[0][1] == (4,)  # state 4: stop


def test_connect_does_not_trust_the_lagging_error_cache(double):
    """After clean_error the SDK still caches the old error until its next report (200 ms): connect() asks."""
    double.error_code, double.live_error = 31, 0
    arm = _arm(double)
    arm.connect()
    assert arm.get_observation()["robot0_eef_pos"].shape == (3,)


def test_refused_command_carries_the_controllers_own_error(double):
    """The cache has not caught up yet when a servo command is refused: the reason still names C31."""
    arm = _arm(double)
    arm.connect()
    double.codes["set_servo_cartesian_aa"] = 1  # HAS_ERROR
    double.live_error = 31
    with pytest.raises(XArmError, match="C31.*[Cc]ollision"):
        arm.send_action(np.zeros(7))


def test_boundary_past_the_reach_is_refused():
    with pytest.raises(UserFacingError, match="reach"):
        XArmConfig(tcp_boundary_mm=(750, 200, 400, -400, 550, 5))
    with pytest.raises(UserFacingError, match="empty"):
        XArmConfig(tcp_boundary_mm=(200, 680, 400, -400, 550, 5))
