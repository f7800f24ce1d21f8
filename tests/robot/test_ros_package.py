"""The ROS 2 package is a well-formed ament_python package; checked without ROS."""

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "robot_ws" / "src" / "srpo_ros"
NODES = ("arm_node", "camera_node", "teleop_node", "recorder_node", "policy_node")


def test_ament_python_package_layout():
    xml = ET.parse(PKG / "package.xml").getroot()
    assert xml.find("name").text == "srpo_ros"
    assert xml.find("export/build_type").text == "ament_python"
    deps = {e.text for e in xml.findall("exec_depend")}
    assert {"rclpy", "std_msgs", "std_srvs", "sensor_msgs", "geometry_msgs", "launch", "launch_ros",
            "python3-numpy", "python3-scipy", "python3-opencv"} <= deps
    assert (PKG / "resource" / "srpo_ros").is_file() and (PKG / "setup.cfg").is_file()
    setup_src = (PKG / "setup.py").read_text()
    for node in NODES:
        assert f"{node} = {{PACKAGE}}.{node}:main" in setup_src
        tree = ast.parse((PKG / "srpo_ros" / f"{node}.py").read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)
    # the launch files live in one place, the top-level launch/ (installed under share/srpo_ros/launch), which is
    # not a Python package: it would shadow ROS's `launch`
    assert not (ROOT / "launch" / "__init__.py").exists() and not (PKG / "launch").exists()
    for launch_file in ("teleop_record.launch.py", "deploy_policy.launch.py"):
        tree = ast.parse((ROOT / "launch" / launch_file).read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)


def test_a_clean_checkout_builds_and_installs_the_package(tmp_path):
    """What colcon's ament_python build runs (setup.py egg_info, build, install --single-version-externally-managed
    in the package folder), on a copy of the checkout's tracked files: the node scripts start with SRPO_PYTHON
    (scripts/build_ros.sh sets it), the launch files come from the top-level launch/, the configs land in share/."""
    import os
    import shutil
    import subprocess
    import sys

    files = subprocess.run(["git", "ls-files", "launch", "robot_ws"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    checkout = tmp_path / "checkout"
    for name in files:  # tracked files only: no build/, install/ or egg-info of a local build
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, checkout / name)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "SRPO_PYTHON": "/home/u/srpo/.venv/bin/python"}
    subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(out), "build",
                    "--build-base", str(out / "build"), "install", "--prefix", str(out / "install"),
                    "--record", str(out / "record.txt"), "--single-version-externally-managed"],
                   cwd=checkout / "robot_ws" / "src" / "srpo_ros", env=env, check=True, capture_output=True)
    for node in NODES:
        script = out / "install" / "lib" / "srpo_ros" / node
        assert script.read_text().splitlines()[0] == "#!/home/u/srpo/.venv/bin/python"
    share = out / "install" / "share" / "srpo_ros"
    for launch_file in ("teleop_record.launch.py", "deploy_policy.launch.py"):
        assert (share / "launch" / launch_file).read_text() == (ROOT / "launch" / launch_file).read_text()
    assert {p.name for p in (share / "launch").iterdir()} == {"teleop_record.launch.py", "deploy_policy.launch.py"}
    assert (share / "config" / "xarm.yaml").is_file() and (share / "package.xml").is_file()
    assert (share.parents[1] / "share" / "ament_index" / "resource_index" / "packages" / "srpo_ros").is_file()
