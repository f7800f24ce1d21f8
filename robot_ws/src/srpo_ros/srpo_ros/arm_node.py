"""The robot node without a store: drives the arm from arm/command and republishes its state and cameras
(deployment without recording, RViz, rosbag). Same node as recorder_node (recorder_node.py), named arm_node."""

from srpo_ros.recorder_node import RecorderNode
from srpo_ros.spin import spin


def main(args=None) -> None:
    spin(lambda: RecorderNode("arm_node"), args)
