import os
from glob import glob

from setuptools import setup

PACKAGE = "srpo_ros"
# The node scripts' shebang. setuptools writes `build_scripts.executable` into console scripts
# (setuptools/command/install_scripts.py), and colcon runs setup.py with its own interpreter, /usr/bin/python3
# for apt's colcon (colcon_core/task/python/build.py), which cannot import srpo. scripts/build_ros.sh sets
# SRPO_PYTHON to the project's virtual environment (created with --system-site-packages, so rclpy imports too).
PYTHON = os.environ.get("SRPO_PYTHON", "/usr/bin/env python3")
# The launch files live in the repository's top-level launch/ folder (not a Python package: it would shadow ROS's
# `launch`); they are installed from there into share/srpo_ros/launch. Relative to this file's folder, where
# colcon (and pip) run setup.py: distutils' install_data refuses absolute source paths.
LAUNCH = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "launch"))
LAUNCH_FILES = sorted(glob(os.path.join(LAUNCH, "*.launch.py")))
if not LAUNCH_FILES:
    raise SystemExit(f"srpo_ros: no launch files in {os.path.abspath(LAUNCH)} (the repository's launch/ folder)")

setup(
    name=PACKAGE,
    version="0.2.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/launch", LAUNCH_FILES),
    ],
    # the srpo package (the project itself) is installed in the virtual environment, not here
    install_requires=["setuptools"],
    options={"build_scripts": {"executable": PYTHON}},
    zip_safe=True,
    maintainer="SRPO maintainers",
    maintainer_email="srpo@example.org",
    description="ROS 2 nodes over the srpo robot components",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            f"arm_node = {PACKAGE}.arm_node:main",
            f"camera_node = {PACKAGE}.camera_node:main",
            f"teleop_node = {PACKAGE}.teleop_node:main",
            f"recorder_node = {PACKAGE}.recorder_node:main",
            f"policy_node = {PACKAGE}.policy_node:main",
        ],
    },
)
