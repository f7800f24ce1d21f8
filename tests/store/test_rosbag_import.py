"""rosbag2 import: bags written here with `rosbags` (sqlite3 and MCAP), imported, and every tick checked against
an independent computation of "latest sample at or before the tick"."""


import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from srpo.cli import main
from srpo.errors import UserFacingError
from srpo.store import EpisodeStore
from srpo.store.rosbag_import import RosbagImportConfig, import_rosbags
from srpo.store.validate import validate_store

TS = get_typestore(Stores.ROS2_JAZZY)
T = TS.types
H, W = 12, 16
T0 = 1_700_000_000.0
ARM = [f"joint{i}" for i in range(1, 8)]


def _header(t: float, frame: str = "cam"):
    sec = int(t)
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=int(round((t - sec) * 1e9))),
                                    frame_id=frame)


def color_frame(k: int, cam: int) -> np.ndarray:
    """Frame k of camera `cam`: its index is readable from the pixels."""
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = k, cam * 50, np.arange(W)[None, :] * 3
    return img


def depth_frame(k: int) -> np.ndarray:
    return (np.arange(H * W).reshape(H, W) + 1000 * k).astype(np.uint16)


class Recording:
    """Streams of one synthetic bag: stamps and values, kept to compute the expected store independently."""

    def __init__(self, seed: int, duration: float = 1.0):
        rng = np.random.default_rng(seed)
        self.cam0 = T0 + 0.013 + np.arange(int(duration * 30)) / 30 + rng.uniform(0, 0.004, int(duration * 30))
        self.cam1 = T0 + 0.020 + np.arange(int(duration * 15)) / 15
        self.depth = self.cam0 + 0.001
        self.joint_t = T0 + np.arange(int(duration * 100)) / 100
        self.joints = np.cumsum(rng.normal(0, 0.01, (len(self.joint_t), 8)), axis=0)
        self.pose_t = T0 + 0.005 + np.arange(int(duration * 50)) / 50
        self.yaw = np.linspace(0.1, 1.2, len(self.pose_t))
        self.pos = rng.normal(size=(len(self.pose_t), 3))

    def write(self, path, storage, eef=True):
        with Writer(path, version=9, storage_plugin=storage) as w:
            def conn(topic, typ):
                return w.add_connection(topic, typ, typestore=TS)

            c0 = conn("/camera/camera/color/image_raw", "sensor_msgs/msg/Image")
            cd = conn("/camera/camera/aligned_depth_to_color/image_raw", "sensor_msgs/msg/Image")
            ci = conn("/camera/camera/color/camera_info", "sensor_msgs/msg/CameraInfo")
            c1 = conn("/wrist/color/image_raw", "sensor_msgs/msg/Image")
            cj = conn("/xarm/joint_states", "sensor_msgs/msg/JointState")
            cp = conn("/xarm/eef_pose", "geometry_msgs/msg/PoseStamped") if eef else None
            msgs = []
            for k, t in enumerate(self.cam0):
                img = color_frame(k, 0)
                msgs.append((t, c0, T["sensor_msgs/msg/Image"](header=_header(t), height=H, width=W, encoding="rgb8",
                                                               is_bigendian=0, step=W * 3, data=img.ravel())))
            for k, t in enumerate(self.depth):
                d = depth_frame(k)
                msgs.append((t, cd, T["sensor_msgs/msg/Image"](header=_header(t), height=H, width=W, encoding="16UC1",
                                                               is_bigendian=0, step=W * 2,
                                                               data=d.view(np.uint8).ravel())))
            for k, t in enumerate(self.cam1):
                bgr = color_frame(k, 1)[..., ::-1]
                msgs.append((t, c1, T["sensor_msgs/msg/Image"](header=_header(t), height=H, width=W, encoding="bgr8",
                                                               is_bigendian=0, step=W * 3,
                                                               data=np.ascontiguousarray(bgr).ravel())))
            roi = T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
            info = T["sensor_msgs/msg/CameraInfo"](
                header=_header(self.cam0[0], "camera_color_optical_frame"), height=H, width=W,
                distortion_model="plumb_bob", d=np.array([0.1, -0.2, 0, 0, 0.05]),
                k=np.array([610.0, 0, 8.5, 0, 611.0, 6.25, 0, 0, 1]), r=np.eye(3).ravel(), p=np.zeros(12),
                binning_x=0, binning_y=0, roi=roi)
            msgs.append((self.cam0[0], ci, info))
            for k, t in enumerate(self.joint_t):
                msgs.append((t, cj, T["sensor_msgs/msg/JointState"](
                    header=_header(t, ""), name=[*ARM, "drive_joint"], position=self.joints[k],
                    velocity=np.zeros(8), effort=np.zeros(8))))
            if eef:
                for k, t in enumerate(self.pose_t):
                    q = T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=np.sin(self.yaw[k] / 2), w=np.cos(self.yaw[k] / 2))
                    p = T["geometry_msgs/msg/Point"](x=self.pos[k, 0], y=self.pos[k, 1], z=self.pos[k, 2])
                    msgs.append((t, cp, T["geometry_msgs/msg/PoseStamped"](
                        header=_header(t, "link_base"), pose=T["geometry_msgs/msg/Pose"](position=p, orientation=q))))
            for t, c, msg in sorted(msgs, key=lambda m: m[0]):
                w.write(c, int((t + 0.003) * 1e9), TS.serialize_cdr(msg, c.msgtype))  # received 3 ms after capture

    def expected(self, rate: float, two_cams: bool, eef: bool = True):
        """Ticks and the index of the latest sample at or before each, by a plain loop."""
        streams = {"cam0": self.cam0, "depth": self.depth, "joint": self.joint_t}
        streams.update({"pose": self.pose_t} if eef else {})
        streams.update({"cam1": self.cam1} if two_cams else {})
        start, stop = max(s[0] for s in streams.values()), min(s[-1] for s in streams.values())
        ticks, t = [], start
        while t <= stop + 1e-9:
            ticks.append(t)
            t = start + len(ticks) / rate
        latest = {name: [max(i for i, s in enumerate(stamps) if s <= tick + 1e-9) for tick in ticks]
                  for name, stamps in streams.items()}
        return np.array(ticks), latest


@pytest.mark.parametrize("storage", [StoragePlugin.SQLITE3, StoragePlugin.MCAP])
def test_two_camera_import_matches_independent_alignment(tmp_path, storage):
    rec = Recording(seed=1)
    rec.write(tmp_path / "bag", storage)
    cfg = RosbagImportConfig(rate_hz=20.0, image_topics=("/camera/camera/color/image_raw", "/wrist/color/image_raw"),
                             depth_topics=("/camera/camera/aligned_depth_to_color/image_raw", "none"),
                             eef_topic="/xarm/eef_pose")
    import_rosbags([tmp_path / "bag"], tmp_path / "out.zarr", cfg, task="pick", success=True)
    store = EpisodeStore.open(tmp_path / "out.zarr")
    ticks, idx = rec.expected(20.0, two_cams=True)
    ep = store.episode(0)
    assert store.num_episodes == 1 and len(ticks) == len(ep["timestamp"]) > 10
    info = store.episodes()[0]
    assert (info.task, info.source, info.success) == ("pick", "rosbag", True)
    np.testing.assert_allclose(ep["timestamp"], ticks, atol=1e-6)
    for j in range(len(ticks)):
        np.testing.assert_array_equal(ep["camera0_rgb"][j], color_frame(idx["cam0"][j], 0))
        np.testing.assert_array_equal(ep["camera1_rgb"][j], color_frame(idx["cam1"][j], 1))  # bgr8 -> rgb
        np.testing.assert_array_equal(ep["camera0_depth"][j], depth_frame(idx["depth"][j]))
    np.testing.assert_allclose(ep["camera0_timestamp"], rec.cam0[idx["cam0"]], atol=1e-6)
    np.testing.assert_allclose(ep["camera1_timestamp"], rec.cam1[idx["cam1"]], atol=1e-6)
    joints = rec.joints[idx["joint"]].astype(np.float32)
    np.testing.assert_array_equal(ep["robot0_joint_pos"], joints[:, :7])
    np.testing.assert_array_equal(ep["robot0_gripper_width"], joints[:, 7:])
    np.testing.assert_array_equal(ep["action"][:-1], joints[1:])  # next tick's joints + gripper
    np.testing.assert_array_equal(ep["action"][-1], joints[-1])
    np.testing.assert_allclose(ep["robot0_eef_pos"], rec.pos[idx["pose"]], atol=1e-6)
    np.testing.assert_allclose(ep["robot0_eef_rot_axis_angle"][:, 2], rec.yaw[idx["pose"]], atol=1e-5)
    np.testing.assert_allclose(ep["robot0_eef_rot_axis_angle"][:, :2], 0, atol=1e-6)
    cam0 = store.config.cameras[0]
    assert cam0.depth and not store.config.cameras[1].depth
    assert (cam0.intrinsics["fx"], cam0.intrinsics["cy"], cam0.intrinsics["model"]) == (610.0, 6.25, "plumb_bob")
    assert cam0.serial == "camera_color_optical_frame" and store.config.cameras[1].intrinsics is None
    assert store.config.action_space == "next_joint_pos(7)+next_gripper(1)" and store.config.action_dim == 8
    assert store.root.attrs["import"]["eef_pose"] == "from /xarm/eef_pose"
    assert validate_store(tmp_path / "out.zarr").ok


def test_default_topics_two_bags_two_episodes_via_cli(tmp_path, capsys):
    for i, storage in enumerate((StoragePlugin.MCAP, StoragePlugin.SQLITE3)):
        Recording(seed=10 + i, duration=0.6 + 0.3 * i).write(tmp_path / f"bag{i}", storage, eef=False)
    assert main(["data", "from-rosbag", str(tmp_path / "bag0"), str(tmp_path / "bag1"), str(tmp_path / "o.zarr"),
                 "--rate", "10", "--task", "wipe", "--success", "false"]) == 0
    assert "episode 1" in capsys.readouterr().out
    store = EpisodeStore.open(tmp_path / "o.zarr")
    assert store.num_episodes == 2 and [e.success for e in store.episodes()] == [False, False]
    lengths = [e.length for e in store.episodes()]
    assert lengths == [len(Recording(10 + i, 0.6 + 0.3 * i).expected(10.0, False, eef=False)[0]) for i in range(2)]
    assert [c.name for c in store.config.cameras] == ["camera0"] and store.config.cameras[0].depth
    assert not store.episode(0)["robot0_eef_pos"].any()
    assert store.root.attrs["import"]["eef_pose"].startswith("zeros")
    assert len(store.root.attrs["import"]["bags"]) == 2


def test_bad_bags(tmp_path):
    Recording(seed=3, duration=0.3).write(tmp_path / "bag", StoragePlugin.MCAP, eef=False)
    with pytest.raises(UserFacingError, match="has no topic /nope.*/xarm/joint_states"):
        import_rosbags([tmp_path / "bag"], tmp_path / "o1", RosbagImportConfig(image_topics=("/nope",)))
    with pytest.raises(UserFacingError, match="not a sensor_msgs Image"):
        import_rosbags([tmp_path / "bag"], tmp_path / "o2", RosbagImportConfig(image_topics=("/xarm/joint_states",)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserFacingError, match="not a rosbag2 recording"):
        import_rosbags([tmp_path / "empty"], tmp_path / "o3")
    with pytest.raises(UserFacingError, match="does not exist"):
        import_rosbags([tmp_path / "missing"], tmp_path / "o4")
