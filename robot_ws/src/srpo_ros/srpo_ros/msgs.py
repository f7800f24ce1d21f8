"""numpy <-> ROS message conversions (sensor_msgs, geometry_msgs, std_msgs only)."""

import numpy as np
from geometry_msgs.msg import PoseStamped
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float32MultiArray

JOINT_NAMES = [f"joint{i}" for i in range(1, 8)]  # xarm_ros2 names


def stamp_seconds(msg) -> float:
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def set_stamp(msg, seconds: float) -> None:
    msg.header.stamp.sec = int(seconds)
    msg.header.stamp.nanosec = int((seconds - int(seconds)) * 1e9)


def image_to_rgb(msg: Image) -> np.ndarray:
    """rgb8 / bgr8 / rgba8 / bgra8 images as H x W x 3 RGB uint8."""
    channels = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}.get(msg.encoding)
    if channels is None:
        raise ValueError(f"unsupported image encoding {msg.encoding!r}; publish rgb8 or bgr8")
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    img = rows[:, : msg.width * channels].reshape(msg.height, msg.width, channels)[..., :3]
    return np.ascontiguousarray(img[..., ::-1] if msg.encoding.startswith("bgr") else img)


def depth_to_mm(msg: Image) -> np.ndarray:
    """16UC1 (millimetres, realsense-ros aligned depth) as uint16 H x W."""
    if msg.encoding not in ("16UC1", "mono16"):
        raise ValueError(f"unsupported depth encoding {msg.encoding!r}; expected 16UC1")
    return np.frombuffer(bytes(msg.data), np.uint16).reshape(msg.height, msg.width)


def rgb_to_image(rgb: np.ndarray, seconds: float, frame_id: str) -> Image:
    msg = Image()
    set_stamp(msg, seconds)
    msg.header.frame_id = frame_id
    msg.height, msg.width = rgb.shape[:2]
    msg.encoding, msg.step = "rgb8", rgb.shape[1] * 3
    msg.data = np.ascontiguousarray(rgb).tobytes()
    return msg


def camera_info(spec, seconds: float, frame_id: str) -> CameraInfo:
    msg = CameraInfo()
    set_stamp(msg, seconds)
    msg.header.frame_id = frame_id
    msg.height, msg.width = spec.height, spec.width
    if spec.intrinsics:
        i = spec.intrinsics
        msg.k = [float(i["fx"]), 0.0, float(i["cx"]), 0.0, float(i["fy"]), float(i["cy"]), 0.0, 0.0, 1.0]
        msg.d = [float(x) for x in i.get("distortion", [])]
        msg.distortion_model = "plumb_bob"
    return msg


def joint_state(positions, seconds: float) -> JointState:
    msg = JointState()
    set_stamp(msg, seconds)
    msg.name = list(JOINT_NAMES)
    msg.position = [float(x) for x in positions]
    return msg


def joint_positions(msg: JointState) -> np.ndarray:
    """The 7 arm joints in order, whatever order (and extra joints, e.g. the gripper) the message has."""
    index = {name: i for i, name in enumerate(msg.name)}
    missing = [n for n in JOINT_NAMES if n not in index]
    if missing:
        raise ValueError(f"joint_states lacks {missing}")
    return np.array([msg.position[index[n]] for n in JOINT_NAMES], dtype=np.float32)


def pose_msg(pos, rotvec, seconds: float, frame_id: str = "link_base") -> PoseStamped:
    msg = PoseStamped()
    set_stamp(msg, seconds)
    msg.header.frame_id = frame_id
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in pos)
    x, y, z, w = Rotation.from_rotvec(rotvec).as_quat()
    msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w = x, y, z, w
    return msg


def pose_to_arrays(msg: PoseStamped) -> tuple[np.ndarray, np.ndarray]:
    p, q = msg.pose.position, msg.pose.orientation
    return np.array([p.x, p.y, p.z], np.float32), Rotation.from_quat([q.x, q.y, q.z, q.w]).as_rotvec().astype(np.float32)


def action_msg(action) -> Float32MultiArray:
    msg = Float32MultiArray()
    msg.data = [float(x) for x in action]
    return msg
