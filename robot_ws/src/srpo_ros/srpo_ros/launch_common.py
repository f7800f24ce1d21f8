"""Pieces both launch files use: the launch arguments they share and the nodes they start (launch and
launch_ros only; no srpo import, see launch_args.py). No defaults here: an argument left empty is not passed,
and the node's own default, derived from the CLI's configs (srpo.ros_bridge.params), stands."""

from launch.actions import DeclareLaunchArgument, Shutdown
from launch_ros.actions import Node

from srpo_ros.launch_args import given, split

# name -> (default, description, choices or None). An empty default is not passed to the node.
ROBOT_ARGS = {
    "backend": ("", "a registered robot backend: sim (MuJoCo xArm 7), xarm (xarm-python-sdk), or yours", None),
    "task": ("", "sim: lift or place; a real arm: the instruction text stored with every episode", None),
    "rate": ("", "control rate in Hz (a real xArm: 100)", None),
    "xarm_ip": ("", "backend.ip: the controller's address (the fake controller: 127.0.0.1)", None),
    "xarm_control_port": ("", "backend.control_port: its command port (the fake controller: 5020)", None),
    "cameras": ("node", "node: the robot node opens the cameras; realsense: realsense-ros publishes them",
                ["node", "realsense"]),
    "realsense_serials": ("", "RealSense serials of camera0,camera1 (comma-separated); cameras:=node: "
                          "backend.cameras.camera{i} of type srpo_realsense", None),
    "opencv_devices": ("", "cameras:=node, backend xarm: OpenCV sources of camera0,camera1 instead of RealSense "
                       "(webcam index, /dev/videoN or a video file; the dry run): backend.cameras.camera{i} of type "
                       "srpo_opencv", None),
    "image_height": ("", "recorded image rows (a calibration is scaled to them)", None),
    "image_width": ("", "recorded image columns", None),
    "max_steps": ("", "ticks per episode at most", None),
    "params": ("", "parameter YAML (robot_ws/src/srpo_ros/config/*.yaml); command-line arguments override it", None),
}
# launch argument -> robot node parameter, for the arguments passed only when given
ROBOT_PARAMS = {"backend": "backend.type", "task": "task", "rate": "control_rate_hz", "xarm_ip": "backend.ip",
                "xarm_control_port": "backend.control_port", "image_height": "camera_height",
                "image_width": "camera_width", "max_steps": "max_steps"}
# comma-separated camera launch arguments -> (LeRobot camera type, its source field) of backend.cameras.camera{i}
CAMERA_LISTS = {"opencv_devices": ("srpo_opencv", "index_or_path"),
                "realsense_serials": ("srpo_realsense", "serial_number_or_name")}


def declare(args: dict) -> list:
    return [DeclareLaunchArgument(name, default_value=default, description=text, **({"choices": choices} if choices else {}))
            for name, (default, text, choices) in args.items()]


def robot_typed(values: dict, topics: list[str], mapping: dict) -> dict:
    """The robot node's parameters typed on the command line: `mapping`'s arguments as text, and (only where the
    node opens its cameras itself) the first camera list given as the backend's cameras, nested parameters
    `backend.cameras.camera{i}.type` and its source field (they replace the YAML's cameras: launch_args.merge)."""
    typed = given(values, mapping)
    for name, (kind, source) in CAMERA_LISTS.items():
        if values[name] and not topics:
            for i, item in enumerate(split(values[name])):
                typed[f"backend.cameras.camera{i}.type"] = kind
                typed[f"backend.cameras.camera{i}.{source}"] = item
            break
    return typed


def camera_topics(values: dict) -> list[str]:
    """The colour topics realsense-ros publishes for camera_namespace camera{i}, camera_name camera{i}:
    /<camera_namespace>/<camera_name>/color/image_raw (realsense2_camera/src/rs_node_setup.cpp makes
    "~/" + stream + "/image_raw" under the node's namespace and name; rs_launch.py sets both)."""
    if values["cameras"] != "realsense":
        return []
    return [f"/camera{i}/camera{i}/color/image_raw" for i in range(len(split(values["realsense_serials"])))]


def realsense_nodes(values: dict) -> list:
    """One realsense2_camera_node per serial, as rs_launch.py starts it (namespace and name camera{i}), at
    realsense-ros's own colour profile: the robot node resizes to camera_height x camera_width.

    serial_no is given with realsense-ros's "_" prefix, which its node strips
    (realsense2_camera/src/realsense_node_factory.cpp), so a serial of digits can never be read as a number."""
    if values["cameras"] != "realsense":
        return []
    serials = split(values["realsense_serials"])
    if not serials:
        raise RuntimeError("cameras:=realsense needs realsense_serials:=SERIAL0,SERIAL1 (rs-enumerate-devices -s)")
    return [Node(package="realsense2_camera", executable="realsense2_camera_node", namespace=f"camera{i}",
                 name=f"camera{i}", output="screen",
                 parameters=[{"camera_name": f"camera{i}", "serial_no": f"_{serial.lstrip('_')}", "enable_depth": False}])
            for i, serial in enumerate(serials)]


def robot_node(executable: str, parameters: list) -> Node:
    """The node owning the arm: when it exits (a fault, Ctrl-C), launch shuts every other node down too."""
    return Node(package="srpo_ros", executable=executable, name=executable, output="screen",
                parameters=parameters, on_exit=Shutdown(reason=f"{executable} exited"))
