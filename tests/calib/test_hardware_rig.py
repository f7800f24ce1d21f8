"""The real calibration rig drives srpo.robot's XArmBackend in position mode (against a recorded-call double of the
SDK: the fake controller in srpo.robot.fake_xarm streams servo mode only) and a camera double."""

import time

import numpy as np
import pytest

from calibration.geometry import make_T, rotation_about
from calibration.hardware import ArmCameraRig
from srpo.robot.cameras import Camera, Frame
from srpo.robot.xarm_backend import XArmBackend, XArmConfig, XArmError, rpy_to_matrix


class PositionAPIDouble:
    """Test double of xarm.wrapper.XArmAPI for position mode: records every call and answers like a healthy
    controller; get_position answers the last set_position (mm, roll/pitch/yaw). `codes[name]` makes a method
    return that SDK code."""

    def __init__(self, ip):
        self.ip, self.connected, self.calls, self.codes = ip, True, [], {}
        self.error_code = self.warn_code = 0
        self.rpy_pose = [400.0, 0.0, 200.0, np.pi, 0.0, 0.0]

    def _call(self, name, *args, **kwargs):
        self.calls.append((name, args, kwargs))
        return self.codes.get(name, 0)

    def __getattr__(self, name):  # every setter of the SDK: record and return the code
        if name.startswith("set_") or name in ("motion_enable", "clean_error", "clean_warn", "disconnect"):
            return lambda *a, **k: self._call(name, *a, **k)
        raise AttributeError(name)

    def get_err_warn_code(self, show=False):
        return self._call("get_err_warn_code"), [self.error_code, self.warn_code]

    def get_position_aa(self, is_radian=None):
        return self._call("get_position_aa", is_radian=is_radian), [400.0, 0.0, 200.0, np.pi, 0.0, 0.0]

    def names(self):
        return [c[0] for c in self.calls]

    def get_position(self, is_radian=None):
        return self._call("get_position", is_radian=is_radian), list(self.rpy_pose)

    def set_position(self, x, y, z, roll, pitch, yaw, **kwargs):
        code = self._call("set_position", x, y, z, roll, pitch, yaw, **kwargs)
        if code == 0:
            self.rpy_pose = [x, y, z, roll, pitch, yaw]
        return code


class CountingCameraDouble(Camera):
    """Test double of a camera: frame i is filled with the value i."""

    height, width, serial = 4, 6, "123456"

    def __init__(self):
        self.count, self.connected = 0, False

    def connect(self):
        self.connected = True

    def read(self):
        self.count += 1
        return Frame(np.full((4, 6, 3), self.count, np.uint8), time.time(), time.monotonic(), self.count)

    def disconnect(self):
        self.connected = False


def test_moves_go_through_the_backend_in_position_mode():
    api = PositionAPIDouble("10.0.0.2")
    camera = CountingCameraDouble()
    rig = ArmCameraRig(XArmBackend(XArmConfig(ip=api.ip), api_factory=lambda ip: api), camera, "eye_in_hand",
                       speed_mm_s=40.0, settle_s=0.0)
    assert camera.connected and api.calls[-2:] == [("set_mode", (0,), {}), ("set_state", (0,), {})]
    target = make_T(rotation_about([1, 0.2, 0], 2.9), [0.45, -0.05, 0.3])
    rig.move_to(target)
    name, args, kwargs = api.calls[-1]
    assert name == "set_position" and kwargs == {"speed": 40.0, "is_radian": True, "wait": True}
    np.testing.assert_allclose(args[:3], [450.0, -50.0, 300.0])
    np.testing.assert_allclose(rpy_to_matrix(*args[3:]), target[:3, :3], atol=1e-12)
    np.testing.assert_allclose(rig.eef_pose(), target, atol=1e-12)  # read back in metres, as a 4x4 pose
    assert rig.grab()[0, 0, 0] == 6 and camera.count == 6  # 5 queued frames dropped, the 6th kept
    rig.manual_mode()
    assert api.calls[-2:] == [("set_mode", (2,), {}), ("set_state", (0,), {})]
    api.codes["set_position"] = 9
    with pytest.raises(XArmError, match="out of reach"):
        rig.move_to(target)
    rig.close()
    assert not camera.connected and api.names()[-1] == "disconnect"
