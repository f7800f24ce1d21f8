"""Import rosbag2 recordings (MCAP or sqlite3, read with `rosbags`' AnyReader) into an episode store.

One bag = one episode. Streams are aligned on a fixed control rate: ticks run from the moment every stream has
delivered a sample to the moment the first stream ends, and at each tick every stream contributes its latest
sample stamped at or before the tick (sample time = header.stamp, or the bag's receive time when the stamp is
zero). The image chosen for each tick keeps its own stamp in camera{i}_timestamp; `timestamp` is the tick.

What fills each key (also written to the root attr "import", which `srpo data info` shows):
  * camera{i}_rgb / camera{i}_depth: sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8, yuv422_yuy2; depth
    16UC1/mono16 in mm or 32FC1 in m -> uint16 mm) or sensor_msgs/CompressedImage; intrinsics from camera_info.
  * robot0_joint_pos: the arm joints of sensor_msgs/JointState, in message order (joint1..joint7 on xarm_ros2).
  * robot0_gripper_width: the gripper joint's position as published (xarm_ros2 `drive_joint`: radians, 0 = open),
    not converted to metres; zeros when the bag has no gripper joint.
  * robot0_eef_pos / robot0_eef_rot_axis_angle: from a geometry_msgs/PoseStamped topic when given (--eef-topic);
    otherwise zeros, because forward kinematics needs the robot model, which a bag does not carry.
  * action: the latest message of --action-topic when given (JointState positions or Float32/64MultiArray data);
    otherwise the NEXT tick's joint positions and gripper (what the arm did next: an absolute joint-position
    target), with the last tick repeating its own state.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srpo.errors import UserFacingError
from srpo.store.episode_store import EpisodeStore
from srpo.store.schema import ARM_JOINTS, CameraSpec, StoreConfig, data_keys

REALSENSE_COLOR = "/camera/camera/color/image_raw"
REALSENSE_DEPTH = "/camera/camera/aligned_depth_to_color/image_raw"
REALSENSE_INFO = "/camera/camera/color/camera_info"
IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


@dataclass(frozen=True)
class RosbagImportConfig:
    """Which topics hold what, and the rate to resample on."""

    rate_hz: float = 30.0  # control rate of the resulting store
    image_topics: tuple[str, ...] = (REALSENSE_COLOR,)  # one colour topic per camera: camera0, camera1, ...
    depth_topics: tuple[str, ...] = (REALSENSE_DEPTH,)  # aligned depth per camera ("none": no depth); absent = none
    info_topics: tuple[str, ...] = (REALSENSE_INFO,)  # camera_info per camera (intrinsics); absent = no intrinsics
    joint_topic: str = "/xarm/joint_states"  # sensor_msgs/JointState of the arm (and gripper)
    action_topic: str | None = None  # command topic for `action`; None: next tick's joint positions + gripper
    eef_topic: str | None = None  # geometry_msgs/PoseStamped of the end effector in the base frame
    gripper_joint: str | None = None  # gripper joint name; None: first name containing "drive" or "gripper"
    joint_dim: int = ARM_JOINTS  # number of arm joints in the joint states


def _stamp(msg, log_ns: int) -> float:
    header = getattr(msg, "header", None)
    if header is not None and (header.stamp.sec or header.stamp.nanosec):
        return header.stamp.sec + header.stamp.nanosec * 1e-9
    return log_ns * 1e-9


def decode_image(msg, msgtype: str, depth: bool) -> np.ndarray:
    """sensor_msgs Image/CompressedImage -> uint8 HxWx3 RGB, or uint16 HxW millimetres for depth."""
    import cv2

    if msgtype.endswith("CompressedImage"):
        flag = cv2.IMREAD_UNCHANGED if depth else cv2.IMREAD_COLOR
        img = cv2.imdecode(np.asarray(msg.data, dtype=np.uint8), flag)
        if img is None:
            raise UserFacingError(f"could not decode a CompressedImage ({msg.format})")
        return img.astype(np.uint16) if depth else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    enc, h, w, step = msg.encoding.lower(), msg.height, msg.width, msg.step
    data = np.asarray(msg.data, dtype=np.uint8)
    channels = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "8uc1": 1, "8uc3": 3,
                "yuv422_yuy2": 2, "yuyv": 2, "16uc1": 2, "mono16": 2, "32fc1": 4}  # bytes per pixel
    if enc not in channels:
        raise UserFacingError(f"unsupported image encoding {msg.encoding!r}")
    rows = data.reshape(h, step)[:, : w * channels[enc]]
    if depth:
        if enc in ("16uc1", "mono16"):
            return rows.copy().view(">u2" if msg.is_bigendian else "<u2").reshape(h, w).astype(np.uint16)
        if enc == "32fc1":
            metres = rows.copy().view(">f4" if msg.is_bigendian else "<f4").reshape(h, w)
            return np.clip(np.nan_to_num(metres * 1000.0), 0, 65535).astype(np.uint16)
        raise UserFacingError(f"depth topic has encoding {msg.encoding!r}; expected 16UC1, mono16 or 32FC1")
    if enc in ("rgb8", "8uc3"):
        return rows.reshape(h, w, 3).copy()
    if enc == "bgr8":
        return rows.reshape(h, w, 3)[..., ::-1].copy()
    if enc == "rgba8":
        return rows.reshape(h, w, 4)[..., :3].copy()
    if enc == "bgra8":
        return rows.reshape(h, w, 4)[..., 2::-1].copy()
    if enc in ("mono8", "8uc1"):
        return np.repeat(rows.reshape(h, w, 1), 3, axis=2)
    if enc in ("yuv422_yuy2", "yuyv"):
        return cv2.cvtColor(rows.reshape(h, w, 2), cv2.COLOR_YUV2RGB_YUYV)
    raise UserFacingError(f"image encoding {msg.encoding!r} is not a colour encoding")


def _latest_at_or_before(stamps: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """For each tick, the index (into `stamps`, any order) of the latest sample stamped at or before it."""
    order = np.argsort(stamps, kind="stable")
    pos = np.searchsorted(stamps[order], ticks, side="right") - 1
    return order[pos]


@dataclass
class _Stream:
    """One topic of one bag: its connections, sample stamps and (for small messages) decoded values."""

    topic: str
    msgtype: str
    connections: list
    stamps: list
    values: list


def _open_reader(bag: Path):
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    if bag.is_file() and bag.suffix in (".mcap", ".db3"):
        bag = bag.parent  # a rosbag2 recording is its directory (metadata.yaml + storage files)
    if not (bag / "metadata.yaml").exists():
        raise UserFacingError(f"{bag} is not a rosbag2 recording (no metadata.yaml); give the bag directory")
    return AnyReader([bag], default_typestore=get_typestore(Stores.ROS2_JAZZY))


def _scan(reader, topic: str, keep) -> _Stream:
    """Stamps (and kept values) of every message on `topic`, in bag order."""
    conns = [c for c in reader.connections if c.topic == topic]
    stream = _Stream(topic, conns[0].msgtype, conns, [], [])
    for conn, log_ns, raw in reader.messages(connections=conns):
        msg = reader.deserialize(raw, conn.msgtype)
        stream.stamps.append(_stamp(msg, log_ns))
        stream.values.append(keep(msg) if keep else None)
    if not stream.stamps:
        raise UserFacingError(f"topic {topic} has no messages")
    return stream


def _vector(msg) -> np.ndarray:
    """Action values from a JointState (positions) or a std_msgs Float*MultiArray (data)."""
    return np.asarray(msg.position if hasattr(msg, "position") else msg.data, dtype=np.float64)


def _pose(msg) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    pose = getattr(msg, "pose", msg)
    pos = [pose.position.x, pose.position.y, pose.position.z]
    quat = [pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w]
    return np.concatenate([pos, Rotation.from_quat(quat).as_rotvec()])


def _camera_spec(reader, index: int, color: _Stream, depth: bool, info_topic: str | None) -> CameraSpec:
    """Image size from the first colour message; intrinsics from the first camera_info message."""
    conn, log_ns, raw = next(reader.messages(connections=color.connections))
    first = decode_image(reader.deserialize(raw, conn.msgtype), conn.msgtype, depth=False)
    intrinsics, serial = None, None
    if info_topic and info_topic in reader.topics:
        conns = [c for c in reader.connections if c.topic == info_topic]
        conn, _, raw = next(reader.messages(connections=conns))
        info = reader.deserialize(raw, conn.msgtype)
        k = [float(v) for v in info.k]
        intrinsics = {"fx": k[0], "fy": k[4], "cx": k[2], "cy": k[5], "distortion": [float(d) for d in info.d],
                      "model": info.distortion_model, "width": int(info.width), "height": int(info.height)}
        serial = info.header.frame_id or None
    return CameraSpec(f"camera{index}", first.shape[0], first.shape[1], depth=depth, serial=serial,
                      intrinsics=intrinsics)


def import_rosbags(bags: list[str | Path], out: str | Path, config: RosbagImportConfig = RosbagImportConfig(),
                   task: str = "", success: bool | None = None) -> list[str]:
    """Import each bag as one episode into the store at `out` (created, or appended to when it exists)."""
    lines = []
    store = None
    for bag in bags:
        store, line = _import_one(Path(bag), Path(out), config, task, success, store)
        lines.append(line)
    return lines


def _import_one(bag: Path, out: Path, cfg: RosbagImportConfig, task: str, success: bool | None,
                store: EpisodeStore | None) -> tuple[EpisodeStore, str]:
    from tqdm import tqdm

    if not bag.exists():
        raise UserFacingError(f"{bag} does not exist")
    with _open_reader(bag) as reader:
        topics = reader.topics
        for topic in (*cfg.image_topics, cfg.joint_topic, cfg.action_topic, cfg.eef_topic):
            if topic and topic not in topics:
                raise UserFacingError(
                    f"{bag} has no topic {topic}; it has {', '.join(sorted(topics))}. Name the right topics "
                    "with --image-topic/--joint-topic/--action-topic/--eef-topic.")
        for topic in cfg.image_topics:
            if topics[topic].msgtype not in IMAGE_TYPES:
                raise UserFacingError(f"{topic} is a {topics[topic].msgtype}, not a sensor_msgs Image")
        n_cams = len(cfg.image_topics)
        depth_topics = [None] * n_cams
        for i, topic in enumerate(cfg.depth_topics[:n_cams]):
            if topic and topic.lower() != "none":
                if topic in topics:
                    depth_topics[i] = topic
                elif topic != REALSENSE_DEPTH:
                    raise UserFacingError(f"{bag} has no depth topic {topic} (use 'none' for no depth)")
        info_topics = list(cfg.info_topics[:n_cams]) + [None] * (n_cams - len(cfg.info_topics))

        color = [_scan(reader, t, None) for t in cfg.image_topics]
        depth = [_scan(reader, t, None) if t else None for t in depth_topics]
        joints = _scan(reader, cfg.joint_topic, lambda m: (list(m.name), np.asarray(m.position, np.float64)))
        action = _scan(reader, cfg.action_topic, _vector) if cfg.action_topic else None
        eef = _scan(reader, cfg.eef_topic, _pose) if cfg.eef_topic else None

        streams = [s for s in (*color, *depth, joints, action, eef) if s is not None]
        start = max(min(s.stamps) for s in streams)
        stop = min(max(s.stamps) for s in streams)
        if stop < start:
            raise UserFacingError(f"{bag}: the streams do not overlap in time (one ends before another starts)")
        ticks = start + np.arange(int(np.floor((stop - start) * cfg.rate_hz + 1e-9)) + 1) / cfg.rate_hz

        names = joints.values[0][0]
        gripper = cfg.gripper_joint or next((n for n in names if "drive" in n or "gripper" in n), None)
        if cfg.gripper_joint and cfg.gripper_joint not in names:
            raise UserFacingError(f"gripper joint {cfg.gripper_joint!r} is not in {cfg.joint_topic}: {names}")
        arm = [n for n in names if n != gripper][: cfg.joint_dim]
        if len(arm) < cfg.joint_dim:
            raise UserFacingError(f"{cfg.joint_topic} names {names}: fewer than {cfg.joint_dim} arm joints")
        js = [dict(zip(n, p)) for n, p in joints.values]
        pick = _latest_at_or_before(np.asarray(joints.stamps), ticks)
        joint_pos = np.array([[js[k][n] for n in arm] for k in pick], np.float32)
        grip = np.array([[js[k].get(gripper, 0.0) if gripper else 0.0] for k in pick], np.float32)
        if action is not None:
            act = np.stack([action.values[k] for k in _latest_at_or_before(np.asarray(action.stamps), ticks)])
            action_space = f"{cfg.action_topic}({act.shape[1]})"
            action_desc = f"latest message of {cfg.action_topic} at or before each tick"
        else:
            state = np.concatenate([joint_pos, grip], axis=1)
            act = np.concatenate([state[1:], state[-1:]])
            action_space = f"next_joint_pos({cfg.joint_dim})+next_gripper(1)"
            action_desc = "next tick's joint positions and gripper (absolute target); last tick repeats its state"
        if eef is not None:
            poses = np.stack([eef.values[k] for k in _latest_at_or_before(np.asarray(eef.stamps), ticks)])
            eef_desc = f"from {cfg.eef_topic}"
        else:
            poses = np.zeros((len(ticks), 6))
            eef_desc = "zeros: no --eef-topic, and forward kinematics needs the robot model a bag does not carry"

        cams = tuple(_camera_spec(reader, i, color[i], depth[i] is not None, info_topics[i]) for i in range(n_cams))
        store_cfg = StoreConfig(cameras=cams, action_dim=act.shape[1], joint_dim=cfg.joint_dim,
                                control_rate_hz=cfg.rate_hz, action_space=action_space)
        if store is None:
            store = EpisodeStore.create(out, store_cfg, exist_ok=True)
        want = {k: (s.dtype, s.shape) for k, s in data_keys(store_cfg).items()}
        have = {k: (s.dtype, s.shape) for k, s in store.keys.items()}
        if want != have:
            diff = sorted(k for k in want.keys() | have.keys() if want.get(k) != have.get(k))
            raise UserFacingError(f"{bag} gives other arrays than {out} holds (differences in {diff}: camera "
                                  "sizes, depth or action length); import it into another store")
        imports = dict(store.root.attrs.get("import", {}))
        imports.update({"from": "rosbag2", "rate_hz": cfg.rate_hz, "joint_topic": cfg.joint_topic,
                        "arm_joints": arm, "gripper_joint": gripper, "gripper_width": "joint position as published"
                        if gripper else "zeros: no gripper joint", "action": action_desc, "eef_pose": eef_desc,
                        "image_topics": list(cfg.image_topics), "depth_topics": depth_topics,
                        "bags": [*imports.get("bags", []), str(bag)]})
        store.root.attrs["import"] = imports

        # pick the image message for every tick, then decode only those, streaming through the bag once
        image_streams = [(f"camera{i}_rgb", s, False) for i, s in enumerate(color)]
        image_streams += [(f"camera{i}_depth", s, True) for i, s in enumerate(depth) if s is not None]
        need = {key: _latest_at_or_before(np.asarray(s.stamps), ticks) for key, s, _ in image_streams}
        later_min = {key: np.minimum.accumulate(idx[::-1])[::-1] for key, idx in need.items()}
        by_topic = {s.topic: (key, s, is_depth) for key, s, is_depth in image_streams}
        counters = dict.fromkeys(need, 0)
        frames: dict[str, dict[int, np.ndarray]] = {key: {} for key in need}
        wanted = {key: set(idx.tolist()) for key, idx in need.items()}
        conns = [c for _, s, _ in image_streams for c in s.connections]
        tick = 0
        with store.recorder(task=task, source="rosbag", start_time=float(ticks[0])) as ep:
            bar = tqdm(total=len(ticks), desc=bag.name, unit="step")
            for conn, _, raw in reader.messages(connections=conns):
                key, stream, is_depth = by_topic[conn.topic]
                k = counters[key]
                counters[key] += 1
                if k in wanted[key]:
                    frames[key][k] = decode_image(reader.deserialize(raw, conn.msgtype), conn.msgtype, is_depth)
                while tick < len(ticks) and all(need[q][tick] in frames[q] for q in need):
                    step = {q: frames[q][need[q][tick]] for q in need}
                    for i in range(n_cams):
                        step[f"camera{i}_timestamp"] = color[i].stamps[need[f"camera{i}_rgb"][tick]]
                    step.update({"robot0_joint_pos": joint_pos[tick], "robot0_gripper_width": grip[tick],
                                 "robot0_eef_pos": poses[tick, :3], "robot0_eef_rot_axis_angle": poses[tick, 3:],
                                 "action": act[tick], "timestamp": float(ticks[tick])})
                    _check_shapes(step, store, bag)
                    ep.add_step(step)
                    tick += 1
                    bar.update(1)
                    for q in need:  # drop frames no later tick uses
                        keep_from = later_min[q][tick] if tick < len(ticks) else np.inf
                        frames[q] = {j: f for j, f in frames[q].items() if j >= keep_from}
            bar.close()
            ep.success = success
    return store, (f"{bag}: episode {store.num_episodes - 1}, {len(ticks)} steps at {cfg.rate_hz:g} Hz "
                   f"({ticks[-1] - ticks[0]:.2f} s), {n_cams} camera(s), action = {action_space}")


def _check_shapes(step: dict, store: EpisodeStore, bag: Path) -> None:
    for key, spec in store.keys.items():
        if spec.image and step[key].shape != spec.shape:
            raise UserFacingError(f"{bag}: {key} frames are {step[key].shape}, the store holds {spec.shape}; "
                                  "import bags with other image sizes into another store")
