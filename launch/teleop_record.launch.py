"""Teleoperated recording: one robot node (recorder_node) owns the arm, the cameras and the recorder loop.

  ros2 launch srpo_ros teleop_record.launch.py teleop:=expert out:=datasets/ros.zarr           (sim expert)
  ros2 launch srpo_ros teleop_record.launch.py params:=$(ros2 pkg prefix srpo_ros)/share/srpo_ros/config/xarm.yaml \
      teleop:=spacemouse realsense_serials:=SERIAL0,SERIAL1                                    (real xArm)

teleop:=expert      the sim's scripted expert inside the robot node (backend sim)
teleop:=spacemouse  teleop_node answers every robot state with a command on arm/command
teleop:=keyboard    run teleop_node in a terminal of its own (ros2 launch gives children no keyboard)
Episodes are started, stopped and labelled with recorder/start, recorder/stop and recorder/label.
Parameter precedence: this file's choices < params:=YAML < arguments typed here, merged into one file per
node (srpo_ros/launch_args.py).
"""

from launch import LaunchDescription
from launch.actions import LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from srpo_ros.launch_args import node_parameters
from srpo_ros.launch_common import (
    ROBOT_ARGS,
    ROBOT_PARAMS,
    camera_topics,
    declare,
    realsense_nodes,
    robot_node,
    robot_typed,
)

ARGS = {
    **ROBOT_ARGS,
    "teleop": ("expert", "expert (sim only), spacemouse, or keyboard (then run teleop_node yourself)",
               ["expert", "spacemouse", "keyboard"]),
    "out": ("", "episode store to create or append to (default datasets/ros.zarr)", None),
    "calibration": ("", "calibration YAML from `srpo calib`, recorded into the store", None),
}
KEYBOARD = ("teleop:=keyboard: in another terminal run `ros2 run srpo_ros teleop_node --ros-args -p "
            "source:=keyboard` (keys need a terminal)")


def _nodes(context):
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGS}
    topics = camera_topics(values)
    decided = {"source": "expert" if values["teleop"] == "expert" else "topic", "out": "datasets/ros.zarr",
               **({"image_topics": topics} if topics else {})}
    typed = robot_typed(values, topics, {**ROBOT_PARAMS, "out": "out", "calibration": "calibration"})
    actions = [*realsense_nodes(values), robot_node("recorder_node", node_parameters("recorder_node", decided, values["params"], typed))]
    if values["teleop"] == "spacemouse":
        actions.append(Node(package="srpo_ros", executable="teleop_node", name="teleop_node", output="screen",
                            parameters=node_parameters("teleop_node", {}, values["params"], {"source": "spacemouse"})))
    elif values["teleop"] == "keyboard":
        actions.append(LogInfo(msg=KEYBOARD))
    return actions


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([*declare(ARGS), OpaqueFunction(function=_nodes)])
