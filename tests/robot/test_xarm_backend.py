"""xArm backend settings that need no controller; its behaviour through the SDK is in test_fake_xarm.py."""

import pytest

from srpo.errors import UserFacingError
from srpo.robot.xarm_backend import XArmConfig


def test_boundary_past_the_reach_is_refused():
    assert XArmConfig().tcp_boundary_mm[0] <= 700  # the default box ends inside the reach
    with pytest.raises(UserFacingError, match="reach"):
        XArmConfig(tcp_boundary_mm=(750, 200, 400, -400, 550, 5))
    with pytest.raises(UserFacingError, match="empty"):
        XArmConfig(tcp_boundary_mm=(200, 680, 400, -400, 550, 5))
