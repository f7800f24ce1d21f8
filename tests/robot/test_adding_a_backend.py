"""Adding a robot is one module plus one registry line (docs/adding_a_robot.md): a double backend registered
here records episodes through the same `record_episodes` as the sim and the xArm, runs under the ROS robot node
with its own defaults, and is accepted by `srpo calib`."""

import time
from dataclasses import dataclass

import numpy as np
import pytest

from srpo.robot.arm import ACTION_DIM, Arm
from srpo.robot.cameras import Camera, Frame
from srpo.robot.rig import BackendConfig, Rig, load_backends
from srpo.robot.runner import RecordConfig, record_episodes
from srpo.robot.teleop import Teleop
from srpo.store import EpisodeStore


class PointArmDouble(Arm):
    """Test double of an arm: the tool is a point that moves by exactly the commanded step."""

    name = "point_double"

    def __init__(self, start=(0.4, 0.0, 0.3)):
        self.start = np.asarray(start, dtype=np.float64)
        self.pos = self.start.copy()
        self.gripper = 0.0
        self.connected = False

    def connect(self):
        self.connected = True

    def disconnect(self):
        self.connected = False

    @property
    def is_connected(self):
        return self.connected

    def get_observation(self):
        return {"robot0_joint_pos": np.zeros(7, np.float32), "robot0_eef_pos": self.pos.astype(np.float32),
                "robot0_eef_rot_axis_angle": np.array([np.pi, 0, 0], np.float32),
                "robot0_gripper_width": np.array([0.085 * (1 - self.gripper)], np.float32),
                "robot_timestamp": time.time()}

    def send_action(self, action):
        action = np.asarray(action, dtype=np.float64)
        assert action.shape == (ACTION_DIM,)
        self.pos = self.pos + action[:3]
        self.gripper = float(action[6])
        return action.astype(np.float32)

    # point-to-point moves, what calibration asks of an arm (calibration.hardware.POINT_TO_POINT)
    def position_mode(self):
        pass

    def manual_mode(self):
        pass

    def read_pose(self):
        T = np.eye(4)
        T[:3, 3] = self.pos
        return T

    def move_to_pose(self, T, speed_mm_s=60.0):
        self.pos = np.asarray(T, dtype=np.float64)[:3, 3].copy()


class TopCameraDouble(Camera):
    """Test double of a camera: a dark image whose bright column follows the tool's x position."""

    def __init__(self, arm: PointArmDouble, height: int, width: int):
        self.arm, self.height, self.width, self.count = arm, height, width, 0

    def connect(self):
        pass

    def read(self):
        self.count += 1
        rgb = np.zeros((self.height, self.width, 3), np.uint8)
        rgb[:, int(np.clip((self.arm.pos[0] - 0.3) * 200, 0, self.width - 1))] = 255
        now = time.time()
        return Frame(rgb=rgb, timestamp=now, received=time.monotonic(), index=self.count)

    def disconnect(self):
        pass


class PushRight(Teleop):
    """The double's scripted expert: `step` metres along +x per tick."""

    def __init__(self, step: float):
        self.step = step

    def act(self, obs):
        return np.array([self.step, 0, 0, 0, 0, 0, 0], np.float32)


@BackendConfig.register_subclass("point_double")
@dataclass(frozen=True)
class PointDoubleConfig(BackendConfig):
    """A registered test-double backend: one arm, one camera, a success predicate and a scripted expert."""

    goal_x: float = 0.43  # success once the tool is past this x (m)

    def build(self, rig) -> Rig:
        arm = PointArmDouble()
        return Rig(arm, {"camera0": TopCameraDouble(arm, rig.camera_height, rig.camera_width)},
                   success_fn=lambda: bool(arm.pos[0] > self.goal_x), reset=lambda: setattr(arm, "pos", arm.start),
                   make_expert=lambda noise, seed: PushRight(0.004 + 0.002 * noise))


def test_a_registered_backend_records_through_record_episodes(tmp_path):
    assert load_backends()["point_double"] is PointDoubleConfig
    out = tmp_path / "double.zarr"
    config = RecordConfig(backend="point_double", task="push the point right", episodes=2, out=str(out),
                          control_rate_hz=50.0, max_steps=30, camera_height=16, camera_width=24, expert_noise=0.0)
    assert isinstance(config.backend, PointDoubleConfig)
    record_episodes(config, progress=False)
    store = EpisodeStore.open(out)
    infos = store.episodes()
    assert [(e.task, e.source, e.success) for e in infos] == [("push the point right", "teleop", True)] * 2
    ep = store.episode(0)
    # 4 mm per tick (the filter's 5 mm limit at 50 Hz lets it through): x passes 0.43 after tick 8, the
    # recorder adds success_extra_steps (5) ticks; the second episode starts again from x = 0.4 (rig.reset)
    np.testing.assert_allclose(ep["action"][:, 0], 0.004, atol=1e-7)
    assert [e.length for e in infos] == [13, 13]
    np.testing.assert_allclose(np.diff(ep["robot0_eef_pos"][:, 0]), 0.004, atol=1e-6)
    assert ep["camera0_rgb"].shape == (infos[0].length, 16, 24, 3)
    columns = ep["camera0_rgb"][:, 0, :, 0].argmax(axis=1)  # the bright column moves with the tool
    assert columns[0] == 20 and columns[-1] > columns[0]


def test_the_command_line_selects_a_registered_backend_by_name():
    from srpo.configs import parse_config

    config = parse_config(RecordConfig, ["--backend", "point_double", "--backend.goal-x", "0.5"])
    assert config.backend == PointDoubleConfig(goal_x=0.5)
    xarm = parse_config(RecordConfig, ["--backend", "xarm", "--xarm-ip", "127.0.0.1", "--backend.cameras",
                                       "{camera0: {type: srpo_realsense, serial_number_or_name: '0123'}, "
                                       "wrist: {type: opencv, index_or_path: 2, width: 640, height: 480, fps: 15}}"])
    front, wrist = xarm.backend.cameras["camera0"], xarm.backend.cameras["wrist"]
    assert (xarm.backend.ip, front.type, front.serial_number_or_name) == ("127.0.0.1", "srpo_realsense", "0123")
    assert (wrist.type, wrist.index_or_path, wrist.fps, wrist.height) == ("opencv", 2, 15, 480)  # LeRobot's own config
    assert parse_config(RecordConfig, ["--backend", "xarm"]).backend.cameras["camera0"].serial_number_or_name is None


@pytest.mark.parametrize(("argv", "message"), [
    (["--backend.cameras", "{camera0: {type: realsense}}"],
     "backend.cameras.camera0`: unknown type 'realsense'; use one of .*intelrealsense.*srpo_opencv, srpo_realsense"),
    (["--backend.cameras", "{camera0: {type: intelrealsense}}"], "Missing required field.*serial_number_or_name"),
    (["--backend.cameras", "{a: {type: srpo_realsense}, b: {type: srpo_realsense}}"],
     "cameras a, b have no serial_number_or_name, and the robot has 2 RealSense cameras: give each its serial"),
    (["--backend.cameras", "{a: {type: srpo_opencv, serial: '1'}}"], "`serial` are not valid for SrpoOpenCVConfig"),
    (["--realsense", "0123", "42"], "--realsense was replaced; pass --backend.cameras .*serial_number_or_name: 'SERIAL0'"),
    (["--opencv", "0"], "--opencv was replaced; pass --backend.cameras .*type: srpo_opencv"),
])
def test_bad_camera_configs_say_what_to_pass(argv, message):
    from srpo.configs import parse_config
    from srpo.errors import UserFacingError

    with pytest.raises(UserFacingError, match=message):
        parse_config(RecordConfig, ["--backend", "xarm", *argv])


def test_teleops_and_cameras_are_registered_by_name(tmp_path):
    import cv2
    import pytest

    from srpo.errors import UserFacingError
    from srpo.robot.backends.xarm import XArmBackendConfig
    from srpo.robot.cameras import OpenCVCamera, RealSenseCamera
    from srpo.robot.config_lerobot_cameras import SrpoOpenCVConfig, SrpoRealSenseConfig
    from srpo.robot.rig import RigConfig
    from srpo.robot.teleop import KeyboardTeleopConfig, teleop_config

    # the expert needs a rig that offers one: refused before anything connects to the real arm
    with pytest.raises(UserFacingError, match="needs the simulator"):
        record_episodes(RecordConfig(backend="xarm", teleop="expert", control_rate_hz=100.0,
                                     out=str(tmp_path / "x.zarr")), progress=False)
    assert not (tmp_path / "x.zarr").exists()
    assert teleop_config("keyboard", step=0.02, max_step=0.5) == KeyboardTeleopConfig(step=0.02)
    with pytest.raises(UserFacingError, match="unknown teleop 'joystick'; use one of expert, keyboard, spacemouse"):
        teleop_config("joystick")
    path = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for _ in range(2):
        writer.write(np.full((48, 64, 3), (0, 0, 200), np.uint8))  # red in BGR
    writer.release()
    # the xArm backend's cameras: LeRobot configs through LeRobot's factory; this project's types give the
    # recorder their own cameras (a video file through OpenCV, resized; a RealSense with its serial and rate)
    xarm = XArmBackendConfig(cameras={"camera0": SrpoOpenCVConfig(index_or_path=path),
                                      "camera1": SrpoRealSenseConfig(serial_number_or_name="0123", fps=15)})
    cameras = xarm.build(RigConfig(backend=xarm, control_rate_hz=100.0, camera_height=24, camera_width=32)).cameras
    assert list(cameras) == ["camera0", "camera1"]
    camera = cameras["camera0"]
    assert isinstance(camera.camera, OpenCVCamera) and (camera.fps, camera.camera.device) == (30, path)
    camera.connect()
    frame = camera.latest()
    camera.disconnect()
    assert frame.rgb.shape == (24, 32, 3) and abs(int(frame.rgb[..., 0].mean()) - 200) < 15
    realsense = cameras["camera1"].camera
    assert isinstance(realsense, RealSenseCamera) and (realsense.serial, realsense.fps, realsense.height) == ("0123", 15, 24)


def test_a_registered_backend_under_the_ros_robot_node_with_its_own_defaults(ros, tmp_path):
    """The ROS robot node declares the backend's own fields (backend.goal_x, its default 0.43) and records
    exactly what record_episodes records with it."""
    from srpo_ros.recorder_node import RecorderNode

    ros.init(**{"backend.type": "point_double"}, source="expert", expert_noise=0.0, task="push the point right",
             out=tmp_path / "ros.zarr", control_rate_hz=50.0, max_steps=30, camera_height=16, camera_width=24,
             episodes=1)
    node = ros.node(RecorderNode)
    assert node.p["backend.goal_x"] == 0.43 and node.rig.success_fn is not None
    deadline = time.monotonic() + 20
    while node.service.last is None and time.monotonic() < deadline:
        time.sleep(0.05)
    info = EpisodeStore.open(tmp_path / "ros.zarr").episodes()[0]
    assert (info.task, info.source, info.success, info.length) == ("push the point right", "teleop", True, 13)
    ros.init(**{"backend.type": "point_double", "backend.goal_x": 0.5})
    from rclpy.node import Node
    from srpo_ros.spin import declare

    from srpo.ros_bridge import params

    assert declare(ros.node(lambda: Node("n")), params.ROBOT, backend_fields=True)["backend.goal_x"] == 0.5


def test_a_registered_backend_is_accepted_by_srpo_calib(tmp_path, capsys):
    from calibration.cli import HandEyeCommandConfig, _open_rig
    from srpo.cli import main
    from srpo.configs import parse_config

    args = parse_config(HandEyeCommandConfig, ["--backend", "point_double"])
    assert args.backend == PointDoubleConfig()  # its own defaults
    rig, _ = _open_rig(args)
    target = np.eye(4)
    target[:3, 3] = (0.45, 0.05, 0.25)
    rig.settle_s = 0.0
    rig.move_to(target)
    np.testing.assert_allclose(rig.eef_pose(), target)  # the calibration rig moves the backend's own arm
    assert rig.grab().shape == (args.height, args.width, 3)  # its camera, at the calibration's image size
    rig.close()
    # the whole command runs on it: the double camera shows no board, so it stops there, saying so
    assert main(["calib", "intrinsics", "--backend", "point_double", "--views", "3",
                 "--file", str(tmp_path / "c.yaml")]) == 2
    assert "match the print" in capsys.readouterr().err  # the board detector's advice: no board in view
