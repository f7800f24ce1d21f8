from glob import glob

from setuptools import setup

PACKAGE = "srpo_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
    ],
    # the srpo package (the project itself) is installed in the virtual environment, not here
    install_requires=["setuptools"],
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
