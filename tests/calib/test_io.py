"""The calibration YAML: round trip, and what the recorder stores from it."""

import numpy as np
import pytest
import yaml

from calibration.check import CheckReport
from calibration.geometry import make_T, rotation_about
from calibration.handeye import HandEyeResult
from srpo.errors import UserFacingError
from srpo.robot import calibration_file as io
from srpo.robot.calibration_file import Intrinsics, load_calibration
from srpo.store import CameraSpec, EpisodeStore, StoreConfig

INTR = Intrinsics(
    640, 480, 605.25, 604.75, 321.5, 242.25, (0.01, -0.02, 0.0005, -0.0003, 0.0), rms_px=0.21, n_views=18
)


def _result(mount="eye_in_hand"):
    T = make_T(rotation_about([0.2, 0.3, 1.0], 1.1), [0.061, -0.012, 0.043])
    target = make_T(rotation_about([1, 0, 0], np.pi), [0.45, 0.05, 0.0])
    return HandEyeResult(T, mount, "park", target, 0.31, 0.05, 18)


def _write(tmp_path):
    doc = io.new_calibration("ufactory_xarm7", {"squares_x": 8})
    io.set_intrinsics(doc, "camera0", INTR, serial="135122071234")
    io.set_extrinsics(doc, "camera0", _result())
    io.set_intrinsics(doc, "camera1", INTR, serial="000111")
    io.set_extrinsics(doc, "camera1", _result("eye_to_hand"))
    io.set_check(doc, "camera0", CheckReport(0.42, 1.3, [0.4, 0.44], 2, [None, None]))
    return io.write_calibration(tmp_path / "cal.yaml", doc)


def test_yaml_round_trip(tmp_path):
    path = _write(tmp_path)
    text = path.read_text()
    assert "format: srpo-calibration/1" in text and "135122071234" in text  # human readable, plain YAML
    doc = io.read_calibration(path)
    assert io.get_intrinsics(doc, "camera0") == INTR
    T, mount = io.get_extrinsics(doc, "camera0")
    np.testing.assert_allclose(T, _result().T, atol=1e-9)
    assert mount == "eye_in_hand" and doc["cameras"]["camera1"]["extrinsics"]["frame"] == "base"
    assert doc["cameras"]["camera0"]["check"]["mean_px"] == 0.42
    assert doc["robot"] == "ufactory_xarm7" and doc["date"]
    # rewriting what was read changes nothing but the date
    again = io.write_calibration(tmp_path / "again.yaml", io.read_calibration(path))
    a, b = yaml.safe_load(path.read_text()), yaml.safe_load(again.read_text())
    a.pop("date"), b.pop("date")
    assert a == b


def test_recorder_calibration_goes_into_store_attrs(tmp_path):
    path = _write(tmp_path)
    calib = load_calibration(path)
    assert (
        calib.intrinsics["camera0"]["fx"] == 605.25 and calib.intrinsics["camera0"]["distortion"][0] == 0.01
    )
    assert calib.extrinsics["camera1"]["frame"] == "base"
    cameras = calib.apply(
        (CameraSpec("camera0", 480, 640, serial="135122071234"), CameraSpec("camera2", 240, 320))
    )
    assert cameras[0].intrinsics["cy"] == 242.25 and cameras[1].intrinsics is None
    config = StoreConfig(cameras=cameras, calibration=calib.store_attrs, control_rate_hz=30.0)
    EpisodeStore.create(tmp_path / "s.zarr", config)
    stored = EpisodeStore.open(tmp_path / "s.zarr", mode="r").config
    assert stored.calibration["sha256"] == calib.store_attrs["sha256"]
    assert stored.calibration["cameras"]["camera0"]["extrinsics"]["T"] == calib.extrinsics["camera0"]["T"]
    np.testing.assert_allclose(np.array(stored.cameras[0].extrinsics["T"]), _result().T, atol=1e-9)


def test_mismatched_camera_is_refused(tmp_path):
    calib = load_calibration(_write(tmp_path))
    with pytest.raises(UserFacingError, match="serial"):
        calib.apply((CameraSpec("camera0", 480, 640, serial="999"),))
    with pytest.raises(UserFacingError, match="1280x720"):
        calib.apply((CameraSpec("camera0", 720, 1280),))


def test_intrinsics_scale_to_the_recorded_size(tmp_path):
    """Calibrated at 640x480, recorded at 128x96 (the frame resized whole): a point's image in the resized frame
    lands where the scaled intrinsics project it (the naive cx * s is 0.4 px off here)."""
    import cv2

    calib = load_calibration(_write(tmp_path))
    (cam,) = calib.apply((CameraSpec("camera0", 96, 128),))
    intr = cam.intrinsics
    assert (intr["width"], intr["height"], intr["scaled_from"]) == (128, 96, [640, 480])
    assert intr["distortion"] == calib.intrinsics["camera0"]["distortion"]
    full = np.zeros((480, 640), np.float32)
    full[200:205, 301:306] = 1.0  # a bright 5x5 patch, not aligned to the 5-pixel grid of the resize
    u, v = 303.0, 202.0  # its centre: where the calibrated camera sees the point (x/z, y/z)
    x, y = (u - INTR.cx) / INTR.fx, (v - INTR.cy) / INTR.fy
    small = cv2.resize(full, (128, 96), interpolation=cv2.INTER_AREA)
    rows, cols = np.indices(small.shape)
    seen = (cols * small).sum() / small.sum(), (rows * small).sum() / small.sum()
    np.testing.assert_allclose(seen, (intr["fx"] * x + intr["cx"], intr["fy"] * y + intr["cy"]), atol=0.02)
    with pytest.raises(UserFacingError, match="aspect ratio"):
        calib.apply((CameraSpec("camera0", 96, 160),))


def test_bad_files(tmp_path):
    with pytest.raises(UserFacingError, match="not found"):
        load_calibration(tmp_path / "missing.yaml")
    (tmp_path / "other.yaml").write_text("a: 1\n")
    with pytest.raises(UserFacingError, match="not a calibration file"):
        load_calibration(tmp_path / "other.yaml")
    doc = io.new_calibration("ufactory_xarm7", {})
    with pytest.raises(UserFacingError, match="run `srpo calib handeye`"):
        io.get_extrinsics(doc, "camera0")
