"""Policy deployment: `ros2 launch launch/deploy_policy.launch.py policy:=outputs/act backend:=sim episodes:=10`

backend:=sim   the policy node owns the simulated arm (success rate from the task predicate in its log)
backend:=xarm  arm_node drives the real arm; the policy node reads state and realsense-ros images from topics
               and sends safety-filtered commands on arm/command. policy/stop halts it at any time.
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from srpo.robot.arm import CONTROL_RATE_HZ
from srpo.robot.xarm_backend import XArmConfig

ARGS = {
    "policy": ("", "LeRobot checkpoint directory (required)"),
    "backend": ("sim", "sim or xarm"),
    "episodes": ("10", "episodes to run"),
    "task": ("lift the red cube", "instruction given to the policy"),
    "sim_task": ("lift", "sim task: lift or place"),
    "rate": (str(CONTROL_RATE_HZ), "control rate in Hz"),
    "device": ("cpu", "torch device for inference"),
    "out": ("", "also record the rollouts into this store (empty: do not record)"),
    "xarm_ip": (XArmConfig.ip, "controller IP of the real arm"),
    "params": ("", "optional parameter YAML (robot_ws/src/srpo_ros/config/*.yaml)"),
}


def _nodes(context):
    arg = {k: LaunchConfiguration(k).perform(context) for k in ARGS}
    extra = [arg["params"]] if arg["params"] else []
    rate = float(arg["rate"])
    policy_params = {"policy": arg["policy"], "task": arg["task"], "sim_task": arg["sim_task"], "device": arg["device"],
                     "episodes": int(arg["episodes"]), "control_rate_hz": rate, "out": arg["out"]}
    if arg["backend"] == "sim":
        return [Node(package="srpo_ros", executable="policy_node", name="policy_node", output="screen",
                     parameters=[*extra, {**policy_params, "arm": "sim"}])]
    arm = Node(package="srpo_ros", executable="arm_node", name="arm_node", output="screen",
               parameters=[*extra, {"backend": "xarm", "xarm_ip": arg["xarm_ip"], "control_rate_hz": rate,
                                    "publish_sim_cameras": False}])
    policy = Node(package="srpo_ros", executable="policy_node", name="policy_node", output="screen",
                  parameters=[*extra, {**policy_params, "arm": "topics"}])
    return [arm, policy]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([
        *(DeclareLaunchArgument(name, default_value=default, description=text) for name, (default, text) in ARGS.items()),
        OpaqueFunction(function=_nodes),
    ])
