"""numpy <-> ROS message fields (sensor_msgs, geometry_msgs), on message objects passed in by the node.

Names follow the drivers the nodes run next to: joint names and the gripper joint of xarm_ros2
(xarm_description/urdf/xarm7: joint1..joint7, drive_joint), image encodings and optical frame names of
realsense-ros (realsense2_camera/src/base_realsense_node.cpp: `<camera_name>_color_optical_frame`).
"""

import numpy as np
from scipy.spatial.transform import Rotation

JOINT_NAMES = tuple(f"joint{i}" for i in range(1, 8))  # the xArm 7's arm joints in xarm_ros2


def optical_frame(camera_name: str) -> str:
    """The colour optical frame of a camera, named as realsense-ros names it."""
    return f"{camera_name}_color_optical_frame"


def stamp_seconds(stamp) -> float:
    """builtin_interfaces/Time -> seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def joint_positions(names, positions) -> np.ndarray | None:
    """The 7 arm joints in order; None for a JointState without them (xarm_ros2's gripper: drive_joint, ...)."""
    index = {name: i for i, name in enumerate(names)}
    if not all(n in index for n in JOINT_NAMES):
        return None
    return np.array([positions[index[n]] for n in JOINT_NAMES], dtype=np.float32)


def fill_joint_state(msg, positions):
    msg.name = list(JOINT_NAMES)
    msg.position = [float(x) for x in positions]
    return msg


def _rows(msg, dtype) -> np.ndarray:
    """The image buffer as rows of `step` bytes cut to `width` pixels (rows may be padded)."""
    itemsize = np.dtype(dtype).itemsize
    buf = np.frombuffer(bytes(msg.data), np.uint8)
    if buf.size < msg.height * msg.step:
        raise ValueError(f"image data has {buf.size} bytes, {msg.height} rows of step {msg.step} need more")
    rows = buf[: msg.height * msg.step].reshape(msg.height, msg.step)
    return rows[:, : msg.width * itemsize * _channels(msg.encoding)]


_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "8UC1": 1, "8UC3": 3,
             "yuv422": 2, "uyvy": 2, "yuv422_yuy2": 2, "yuyv": 2, "16UC1": 1, "mono16": 1, "32FC1": 1}


def _channels(encoding: str) -> int:
    if encoding not in _CHANNELS:
        raise ValueError(f"unsupported image encoding {encoding!r}; publish rgb8, bgr8, mono8 or yuv422")
    return _CHANNELS[encoding]


def image_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8, yuv422/uyvy, yuv422_yuy2/yuyv) -> H x W x 3 RGB."""
    enc = msg.encoding
    c = _channels(enc)
    if enc in ("16UC1", "mono16", "32FC1"):
        raise ValueError(f"{enc!r} is a depth image; subscribe it as depth, not colour")
    img = _rows(msg, np.uint8).reshape(msg.height, msg.width, c)
    if c == 2:  # packed 4:2:2; sensor_msgs image_encodings: yuv422 is UYVY, yuv422_yuy2 is YUYV
        import cv2

        code = cv2.COLOR_YUV2RGB_UYVY if enc in ("yuv422", "uyvy") else cv2.COLOR_YUV2RGB_YUY2
        return cv2.cvtColor(np.ascontiguousarray(img), code)
    if c == 1:
        return np.repeat(img, 3, axis=2)
    img = img[..., :3]
    return np.ascontiguousarray(img[..., ::-1] if enc.startswith("bgr") else img)


def fill_image(msg, rgb: np.ndarray):
    """H x W x 3 uint8 RGB -> sensor_msgs/Image fields (header set by the caller)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding, msg.is_bigendian, msg.step = "rgb8", 0, int(rgb.shape[1] * 3)
    msg.data = rgb.tobytes()
    return msg


def depth_to_mm(msg) -> np.ndarray:
    """16UC1 / mono16 (millimetres, realsense-ros aligned depth) or 32FC1 (metres) -> uint16 mm, H x W.

    Honours `step` (padded rows) and `is_bigendian`."""
    if msg.encoding in ("16UC1", "mono16"):
        dtype = np.dtype(">u2" if msg.is_bigendian else "<u2")
        depth = _rows(msg, dtype).copy().view(dtype).reshape(msg.height, msg.width)
        return depth.astype(np.uint16)
    if msg.encoding == "32FC1":
        dtype = np.dtype(">f4" if msg.is_bigendian else "<f4")
        metres = _rows(msg, dtype).copy().view(dtype).reshape(msg.height, msg.width)
        return np.nan_to_num(metres * 1000.0, nan=0.0, posinf=0.0, neginf=0.0).clip(0, 65535).astype(np.uint16)
    raise ValueError(f"unsupported depth encoding {msg.encoding!r}; expected 16UC1 (mm) or 32FC1 (m)")


def fill_camera_info(msg, spec):
    """sensor_msgs/CameraInfo size, K, D, R (identity: monocular) and P = [K | 0] from a CameraSpec."""
    msg.height, msg.width = int(spec.height), int(spec.width)
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    if spec.intrinsics:
        i = spec.intrinsics
        fx, fy, cx, cy = (float(i[k]) for k in ("fx", "fy", "cx", "cy"))
        msg.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
        msg.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
        msg.d = [float(x) for x in i.get("distortion", [])] or [0.0] * 5
        msg.distortion_model = "plumb_bob"
    return msg


def fill_pose(msg, pos, rotvec):
    """geometry_msgs/Pose fields from a position (m) and an axis-angle rotation."""
    msg.position.x, msg.position.y, msg.position.z = (float(v) for v in pos)
    x, y, z, w = Rotation.from_rotvec(np.asarray(rotvec, dtype=np.float64)).as_quat()
    msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = float(x), float(y), float(z), float(w)
    return msg


def pose_to_arrays(pose) -> tuple[np.ndarray, np.ndarray]:
    """geometry_msgs/Pose -> (position, axis-angle), float32."""
    p, q = pose.position, pose.orientation
    rotvec = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_rotvec()
    return np.array([p.x, p.y, p.z], np.float32), rotvec.astype(np.float32)


def action_values(data) -> np.ndarray:
    """std_msgs/Float32MultiArray data -> a 7-vector action (ValueError if it is not one)."""
    action = np.asarray(list(data), dtype=np.float64)
    if action.shape != (7,) or not np.all(np.isfinite(action)):
        raise ValueError(f"a command has 7 finite values (ACTION_SPACE), got {action.tolist()}")
    return action

