"""`srpo calib` end to end on the simulated rig."""

import numpy as np
import pytest
import yaml

from calibration.geometry import pose_error
from calibration.sim_rig import default_camera_pose
from srpo.cli import main


def test_calib_commands_on_the_sim_rig(tmp_path, capsys):
    path = tmp_path / "cal.yaml"
    common = ["--file", str(path), "--views", "12"]
    assert main(["calib", "intrinsics", *common]) == 0
    assert main(["calib", "handeye", *common, "--mount", "eye_to_hand", "--seed", "3"]) == 0
    assert main(["calib", "check", *common, "--mount", "eye_to_hand", "--seed", "4", "--views", "6"]) == 0
    out = capsys.readouterr().out
    assert "intrinsics: file" in out and "reprojection error" in out
    doc = yaml.safe_load(path.read_text())
    cam = doc["cameras"]["camera0"]
    assert cam["serial"] == "sim:eye_to_hand" and cam["intrinsics"]["n_views"] == 12
    dt, dr = pose_error(np.array(cam["extrinsics"]["T"]), default_camera_pose("eye_to_hand"))
    assert dt < 0.002 and dr < 0.5
    assert cam["check"]["mean_px"] < 0.5 and cam["check"]["n_views"] == 6
    for command in ("intrinsics", "handeye", "check"):
        folder = tmp_path / f"cal_camera0_{command}"
        assert (folder / "detections.png").is_file() and (folder / "view_000.png").is_file()


def test_calib_errors_are_user_facing(tmp_path, capsys):
    assert main(["calib", "check", "--file", str(tmp_path / "none.yaml")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["calib", "intrinsics", "--source", "factory", "--file", str(tmp_path / "c.yaml")]) == 2
    assert "in simulation use --source board" in capsys.readouterr().err
    assert main(["calib", "handeye", "--rig", "xarm", "--ip", "127.0.0.1", "--backend.control-port", "9",
                 "--file", str(tmp_path / "c.yaml")]) == 2  # nothing listens there
    assert "RealSense (any) did not start" in capsys.readouterr().err  # the xarm backend's camera, opened first


def test_board_png(tmp_path, capsys):
    import cv2

    assert main(["calib", "board", "--out", str(tmp_path / "b.png"), "--dpi", "150"]) == 0
    image = cv2.imread(str(tmp_path / "b.png"), cv2.IMREAD_GRAYSCALE)
    square_px = round(0.03 / 0.0254 * 150)
    margin = square_px // 2
    assert image.shape == (6 * square_px + 2 * margin, 8 * square_px + 2 * margin)
    from PIL import Image

    assert round(Image.open(tmp_path / "b.png").info["dpi"][0]) == 150
    assert "240 x 180 mm" in capsys.readouterr().out


@pytest.mark.parametrize("group", [["calib"], ["calib", "handeye"]])
def test_help(group, capsys):
    with pytest.raises(SystemExit):
        main([*group, "--help"])
    assert "eye_in_hand" in capsys.readouterr().out or group == ["calib"]


def test_file_intrinsics_of_another_resolution_are_refused(tmp_path, capsys):
    path = tmp_path / "cal.yaml"
    assert main(["calib", "intrinsics", "--file", str(path), "--views", "10"]) == 0
    args = ["calib", "handeye", "--file", str(path), "--views", "6", "--width", "320", "--height", "240"]
    assert main(args) == 2
    assert "intrinsics are for 640x480 images, these are 320x240" in capsys.readouterr().err


def test_cli_module_imports_light():
    import subprocess
    import sys

    # numpy comes with the robot backends' registry (`--backend` is any registered backend's config), and with
    # it LeRobot's camera configs (the xArm's cameras), which bring torch, cv2 and pyrealsense2; the simulator
    # and the arm's SDK still load only inside the commands
    code = "import sys, calibration.cli; print(sorted(m for m in ('mujoco', 'xarm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=".")
    assert out.stdout.strip() == "[]"
