"""Rendered calibration views from the simulated rig, shared by the calibration tests (rendered once)."""

from dataclasses import dataclass

import numpy as np
import pytest

from calibration.board import BoardDetector
from calibration.capture import Capture, capture_views
from calibration.sim_rig import SimRig, SimRigConfig, sample_board_views

N_VIEWS = 16


@dataclass
class SimSession:
    rig: SimRig  # the rig (still open: tests may render more views)
    detector: BoardDetector  # detector for the rig's board
    captures: list[Capture]  # N_VIEWS views from varied poses


def _session(mount: str, seed: int) -> SimSession:
    rig = SimRig(SimRigConfig(mount=mount))
    detector = BoardDetector(rig.config.board)
    rng = np.random.default_rng(seed)
    poses = [rig.gripper_pose_for_view(v) for v in sample_board_views(N_VIEWS, rng)]
    return SimSession(rig, detector, capture_views(rig, poses, detector))


@pytest.fixture(scope="session")
def eye_in_hand() -> SimSession:
    session = _session("eye_in_hand", seed=1)
    yield session
    session.rig.close()


@pytest.fixture(scope="session")
def eye_to_hand() -> SimSession:
    session = _session("eye_to_hand", seed=2)
    yield session
    session.rig.close()
