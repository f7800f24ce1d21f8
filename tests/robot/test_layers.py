"""Arrows run one way: the robot layer and the core never import the calibration package (or anything above)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABOVE_THE_CORE = ("calibration", "srpo_offline", "srpo_online_sim")


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_robot_modules_import_nothing_above_the_core():
    offenders = {}
    for path in sorted((ROOT / "srpo" / "robot").rglob("*.py")) + [ROOT / "srpo" / "rendering.py"]:
        bad = _imported_packages(path) & set(ABOVE_THE_CORE)
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_recording_with_a_calibration_file_loads_no_calibration_procedures():
    code = ("import sys; from srpo.robot import runner; from srpo.robot.calibration_file import load_calibration; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'calibration'))")  # cv2: LeRobot's cameras
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"
