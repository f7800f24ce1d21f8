"""ROS messages from numpy values and back: the rclpy message classes filled by srpo.ros_bridge.convert, stamped
with the node's clock."""

from geometry_msgs.msg import PoseStamped
from rclpy.qos import (
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
    qos_profile_system_default,
)
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float32MultiArray

from srpo.ros_bridge import convert

# REP 2003: a sensor driver publishes with SystemDefaultsQoS (reliable), which reliable and best-effort subscribers
# (RViz, rosbag2) both accept; consumers of sensor data subscribe with SensorDataQoS (best effort).
IMAGE_QOS = qos_profile_system_default
SENSOR_QOS = qos_profile_sensor_data
# The arm's state is only ever wanted as it is now: a subscriber keeps the newest message, never a queue of old ones
# that a busy callback would then answer one by one.
STATE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE)
# The arm's state where xarm_ros2's driver publishes it: "joint_states" in its hw_ns namespace, default "xarm"
# (xarm_api/src/xarm_driver.cpp; xarm_description/launch/_robot_joint_state.launch.py merges
# '{prefix}{hw_ns}/joint_states' into joint_states for robot_state_publisher), relative so a namespace applies.
# `srpo data from-rosbag` reads /xarm/joint_states by default (srpo/store/rosbag_import.py).
JOINT_STATES = "xarm/joint_states"


def _header(msg, stamp, frame_id: str):
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    return msg


def joint_state(positions, stamp) -> JointState:
    return convert.fill_joint_state(_header(JointState(), stamp, ""), positions)


def pose(pos, rotvec, stamp, frame_id: str = "link_base") -> PoseStamped:
    """The tool pose in xarm_ros2's base frame, link_base."""
    msg = _header(PoseStamped(), stamp, frame_id)
    convert.fill_pose(msg.pose, pos, rotvec)
    return msg


def image(rgb, stamp, camera_name: str) -> Image:
    return convert.fill_image(_header(Image(), stamp, convert.optical_frame(camera_name)), rgb)


def camera_info(spec, stamp, camera_name: str) -> CameraInfo:
    return convert.fill_camera_info(_header(CameraInfo(), stamp, convert.optical_frame(camera_name)), spec)


def action(values) -> Float32MultiArray:
    msg = Float32MultiArray()
    msg.data = [float(x) for x in values]
    return msg
