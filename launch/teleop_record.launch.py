"""Teleoperated recording: `ros2 launch launch/teleop_record.launch.py backend:=sim teleop:=expert out:=...`

backend:=sim   teleop:=expert  one recorder node owns the simulated arm and its scripted noisy expert
backend:=sim   teleop:=keyboard|spacemouse  arm_node (sim, publishes cameras) + teleop_node + recorder_node
backend:=xarm  arm_node (xArm SDK) + teleop_node + recorder_node; cameras from realsense-ros (start it with
               camera_namespace:=camera0 camera_name:=camera0 ...) or camera_node for V4L2 devices.
Episodes are started, stopped and labelled with the recorder/start, recorder/stop and recorder/label services.
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from srpo.robot.arm import CONTROL_RATE_HZ
from srpo.robot.xarm_backend import XArmConfig

ARGS = {
    "backend": ("sim", "sim (MuJoCo xArm 7) or xarm (real arm via xarm-python-sdk)"),
    "teleop": ("expert", "expert (sim only), keyboard or spacemouse"),
    "out": ("datasets/ros.zarr", "episode store to create or append to"),
    "calibration": ("", "calibration YAML from `srpo calib` recorded into the store (empty: none)"),
    "task": ("lift the red cube", "instruction text stored with every episode"),
    "sim_task": ("lift", "sim task: lift or place"),
    "rate": (str(CONTROL_RATE_HZ), "control rate in Hz (real xArm servo mode: 100 or more)"),
    "xarm_ip": (XArmConfig.ip, "controller IP of the real arm"),
    "params": ("", "optional parameter YAML (robot_ws/src/srpo_ros/config/*.yaml)"),
}


def _nodes(context):
    arg = {k: LaunchConfiguration(k).perform(context) for k in ARGS}
    extra = [arg["params"]] if arg["params"] else []
    rate = float(arg["rate"])
    common = {"task": arg["task"], "sim_task": arg["sim_task"], "control_rate_hz": rate, "out": arg["out"],
              "calibration": arg["calibration"]}
    if arg["backend"] == "sim" and arg["teleop"] == "expert":
        return [Node(package="srpo_ros", executable="recorder_node", name="recorder_node", output="screen",
                     parameters=[*extra, {**common, "arm": "sim", "source": "expert", "source_name": "sim"}])]
    arm = Node(package="srpo_ros", executable="arm_node", name="arm_node", output="screen",
               parameters=[*extra, {"backend": arg["backend"], "task": arg["sim_task"], "xarm_ip": arg["xarm_ip"],
                                    "control_rate_hz": rate, "publish_sim_cameras": arg["backend"] == "sim"}])
    teleop = Node(package="srpo_ros", executable="teleop_node", name="teleop_node", output="screen",
                  parameters=[*extra, {"source": arg["teleop"], "rate_hz": rate}])
    recorder = Node(package="srpo_ros", executable="recorder_node", name="recorder_node", output="screen",
                    parameters=[*extra, {**common, "arm": "topics", "source": "teleop",
                                         "use_task_success": arg["backend"] == "sim",
                                         "source_name": "teleop"}])
    return [arm, teleop, recorder]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([
        *(DeclareLaunchArgument(name, default_value=default, description=text) for name, (default, text) in ARGS.items()),
        OpaqueFunction(function=_nodes),
    ])
