"""Policy deployment: `ros2 launch srpo_ros deploy_policy.launch.py policy:=outputs/act episodes:=10`

policy_in:=robot  the policy runs inside the robot node, exactly as `srpo robot deploy` (sim: inference blocks
                  in simulated time; a real arm: it runs beside the loop). The success rate is logged.
policy_in:=node   arm_node owns the arm and cameras; policy_node (its own process) answers every state with a
                  command on arm/command and starts each episode once the first state has arrived. Inference
                  then runs beside the loop in wall-clock time, also in sim (the arm holds while it computes),
                  so sim success rates depend on CPU speed: compare policies in sim with policy_in:=robot.
Every command passes the robot node's safety filter. recorder/stop (or policy/stop) halts it; the arm holds.
Parameter precedence: this file's choices < params:=YAML < arguments typed here, merged into one file per
node (srpo_ros/launch_args.py).
"""

from launch import LaunchDescription
from launch.actions import LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from srpo_ros.launch_args import given, node_parameters
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
    "policy": ("", "LeRobot checkpoint directory (required)", None),
    "policy_in": ("robot", "robot: inside the robot node; node: a policy_node process", ["robot", "node"]),
    "episodes": ("10", "episodes to run", None),
    "device": ("", "torch device of the policy", None),
    "out": ("", "also record the rollouts into this store (default: none)", None),
}


def _nodes(context):
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGS}
    if not values["policy"]:
        raise RuntimeError("deploy_policy.launch.py needs policy:=CHECKPOINT (a LeRobot checkpoint directory)")
    topics = camera_topics(values)
    cams = {"image_topics": topics} if topics else {}
    typed = robot_typed(values, topics, {**ROBOT_PARAMS, "out": "out"})
    actions = realsense_nodes(values)
    if values["policy_in"] == "robot":
        typed.update(given(values, {"policy": "policy", "device": "device", "episodes": "episodes"}))
        decided = {"source": "policy", **cams}
        return [*actions, robot_node("recorder_node", node_parameters("recorder_node", decided, values["params"], typed))]
    decided = {"source": "topic", "source_name": "policy", **cams}  # commands from policy_node, recorded as such
    robot = robot_node("arm_node", node_parameters("arm_node", decided, values["params"], typed))
    image_topics = topics or ["camera0/color/image_raw", "camera1/color/image_raw"]
    policy_typed = given(values, {"policy": "policy", "device": "device", "episodes": "episodes", "task": "task",
                                  "backend": "backend.type", "image_height": "camera_height",
                                  "image_width": "camera_width"})
    policy = Node(package="srpo_ros", executable="policy_node", name="policy_node", output="screen",
                  parameters=node_parameters("policy_node", {"image_topics": image_topics}, values["params"],
                                             policy_typed))
    note = LogInfo(msg="policy_in:=node: inference runs in wall-clock time beside the loop (in sim too); "
                       "policy_in:=robot waits for it in simulated time")
    return [*actions, robot, policy, note]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([*declare(ARGS), OpaqueFunction(function=_nodes)])
