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
    # the launch files live in one place, the package (installed under share/srpo_ros/launch); none at the top
    assert not (ROOT / "launch").exists()
    for launch_file in ("teleop_record.launch.py", "deploy_policy.launch.py"):
        tree = ast.parse((PKG / "launch" / launch_file).read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)


def test_install_gives_node_scripts_the_venv_shebang(tmp_path):
    """What colcon's ament_python build runs (setup.py build + install --single-version-externally-managed): the
    node scripts start with SRPO_PYTHON (scripts/build_ros.sh sets it), and launch/config land under share/."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SRPO_PYTHON": "/home/u/srpo/.venv/bin/python"}
    subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path), "build",
                    "--build-base", str(tmp_path / "build"), "install", "--prefix", str(tmp_path / "install"),
                    "--record", str(tmp_path / "record.txt"), "--single-version-externally-managed"],
                   cwd=PKG, env=env, check=True, capture_output=True)
    for node in NODES:
        script = tmp_path / "install" / "lib" / "srpo_ros" / node
        assert script.read_text().splitlines()[0] == "#!/home/u/srpo/.venv/bin/python"
    share = tmp_path / "install" / "share" / "srpo_ros"
    assert {p.name for p in (share / "launch").iterdir()} == {"teleop_record.launch.py", "deploy_policy.launch.py"}
    assert (share / "config" / "xarm.yaml").is_file() and (share / "package.xml").is_file()
