"""Shared core of the SRPO stack: the episode store, robot/camera/teleop/safety components and the `srpo` CLI.

Both the ROS 2 nodes (robot_ws/) and the offline/online pipelines import from here; nothing here imports ROS.
"""

__version__ = "0.1.0"
