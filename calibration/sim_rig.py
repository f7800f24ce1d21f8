"""A simulated calibration rig: a MuJoCo scene with a ChArUco board and a camera, moved by a mocap "gripper".

Eye-in-hand: the camera rides on the gripper, the board lies on the table. Eye-to-hand: the camera is fixed
in the world (= robot base frame), the board is carried by the gripper. The gripper is a mocap body, so its
pose is exactly what was commanded: the ground truth of the hand-eye transform and of the intrinsics (from
the camera's fovy) is known, which is what the tests compare against.
"""

import threading
from dataclasses import dataclass

from srpo.rendering import set_rendering_defaults

set_rendering_defaults()  # before mujoco loads

import cv2  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from calibration.board import BoardSpec, board_image  # noqa: E402
from calibration.geometry import invert, make_T, rotation_about  # noqa: E402
from srpo.robot.cameras import CAPTURE_HEIGHT, CAPTURE_WIDTH, MJ_TO_CV, SimCamera  # noqa: E402


@dataclass(frozen=True)
class SimRigConfig:
    """Geometry of the simulated rig; the defaults are realistic for a wrist or a fixed RealSense."""

    mount: str = "eye_in_hand"  # "eye_in_hand" (camera on the gripper) or "eye_to_hand" (camera fixed)
    width: int = CAPTURE_WIDTH  # rendered image width, pixels
    height: int = CAPTURE_HEIGHT  # rendered image height, pixels
    fovy: float = 50.0  # vertical field of view of the MuJoCo camera, degrees
    board: BoardSpec = BoardSpec()  # the board in the scene
    # ground-truth camera pose (OpenCV frame) in the gripper frame (eye-in-hand) or base frame (eye-to-hand)
    camera_pose: tuple[float, ...] = ()  # 16 row-major numbers; empty = the mount's default below
    # board geom pose in the base frame (eye-in-hand) or gripper frame (eye-to-hand); its +z faces the camera
    board_pose: tuple[float, ...] = ()  # 16 row-major numbers; empty = the mount's default below
    pose_noise_mm: float = 0.0  # std of the arm's positioning error per axis (reported pose = commanded pose)
    pose_noise_deg: float = 0.0  # std of the arm's orientation error per axis, degrees
    seed: int = 0  # seed of the positioning error


def default_camera_pose(mount: str) -> np.ndarray:
    if mount == "eye_in_hand":  # a wrist camera 6 cm off the flange axis, 4 cm back, tilted 10 deg inward
        R = rotation_about([0, 0, 1], np.radians(90)) @ rotation_about([1, 0, 0], np.radians(-10))
        return make_T(R, [0.06, -0.01, 0.04])
    # a fixed camera 1 m in front of the base, 0.55 m up, looking back and down at the workspace
    look = np.array([0.45, 0.0, 0.25]) - np.array([1.0, 0.15, 0.55])
    z = look / np.linalg.norm(look)
    x = np.cross(z, [0, 0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_T(np.stack([x, y, z], axis=1), [1.0, 0.15, 0.55])


def default_board_pose(mount: str) -> np.ndarray:
    if mount == "eye_in_hand":  # on the table in front of the robot, slightly rotated
        return make_T(rotation_about([0, 0, 1], np.radians(15)), [0.45, 0.05, 0.001])
    # held 8 cm out from the flange, facing away from it (so the gripper never hides it), tilted 20 deg
    return make_T(rotation_about([1, 0, 0], np.radians(20)), [0.0, 0.01, 0.08])


def _pose_attrs(T: np.ndarray) -> str:
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.ascontiguousarray(T[:3, :3]).reshape(9))
    pos = " ".join(f"{v:.9f}" for v in T[:3, 3])
    return f'pos="{pos}" quat="{" ".join(f"{v:.12f}" for v in quat)}"'


class SimRig:
    """The rig behind the calibration `Rig` protocol: eef pose, move, grab frame, plus ground truth."""

    is_simulated = True

    def __init__(self, config: SimRigConfig = SimRigConfig()):
        if config.mount not in ("eye_in_hand", "eye_to_hand"):
            raise ValueError(f"mount must be eye_in_hand or eye_to_hand, not {config.mount!r}")
        self.config = config
        self.T_mount_cam = (
            np.array(config.camera_pose).reshape(4, 4)
            if config.camera_pose
            else default_camera_pose(config.mount)
        )
        self.T_mount_board = (
            np.array(config.board_pose).reshape(4, 4)
            if config.board_pose
            else default_board_pose(config.mount)
        )
        self.model = mujoco.MjModel.from_xml_string(self._xml(), assets={"board.png": self._board_png()})
        self.data = mujoco.MjData(self.model)
        self.lock = threading.Lock()  # what SimCamera holds while it copies the scene
        self._camera = SimCamera(self, "calib_cam", config.height, config.width)
        self._T_base_ee = np.eye(4)
        self._rng = np.random.default_rng(config.seed)
        self.move_to(make_T(np.diag([1.0, -1.0, -1.0]), [0.4, 0.0, 0.4]))

    # --- the Rig protocol -------------------------------------------------------------------------
    def eef_pose(self) -> np.ndarray:
        return self._T_base_ee.copy()

    def move_to(self, T_base_ee: np.ndarray) -> None:
        """Go to the pose; with pose noise the gripper lands slightly off while reporting the commanded pose."""
        actual = T_base_ee @ self._positioning_error()
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, np.ascontiguousarray(actual[:3, :3]).reshape(9))
        self.data.mocap_pos[0] = actual[:3, 3]
        self.data.mocap_quat[0] = quat
        mujoco.mj_forward(self.model, self.data)
        self._T_base_ee = T_base_ee.copy()

    def _positioning_error(self) -> np.ndarray:
        c = self.config
        if c.pose_noise_mm == 0 and c.pose_noise_deg == 0:
            return np.eye(4)
        rvec = self._rng.normal(scale=np.radians(c.pose_noise_deg), size=3)
        R = rotation_about(rvec, np.linalg.norm(rvec)) if np.linalg.norm(rvec) > 0 else np.eye(3)
        return make_T(R, self._rng.normal(scale=c.pose_noise_mm / 1000, size=3))

    def grab(self) -> np.ndarray:
        return self._camera.read().rgb

    def close(self) -> None:
        self._camera.disconnect()

    # --- ground truth ---------------------------------------------------------------------------
    @property
    def mount(self) -> str:
        return self.config.mount

    @property
    def camera_serial(self) -> str:
        return f"sim:{self.config.mount}"

    def true_intrinsics(self) -> dict:
        """fx, fy, cx, cy of the MuJoCo camera (square pixels, principal point at the image centre)."""
        f = 0.5 * self.config.height / np.tan(np.radians(self.config.fovy) / 2)
        return {"fx": f, "fy": f, "cx": (self.config.width - 1) / 2, "cy": (self.config.height - 1) / 2}

    def true_camera_pose(self) -> np.ndarray:
        """Camera pose in the gripper frame (eye-in-hand) or the base frame (eye-to-hand)."""
        return self.T_mount_cam.copy()

    def gripper_pose_for_view(self, T_cam_board: np.ndarray) -> np.ndarray:
        """The gripper pose that puts the board geom at `T_cam_board` in front of the camera."""
        if self.mount == "eye_in_hand":
            T_base_cam = self.T_mount_board @ invert(T_cam_board)
            return T_base_cam @ invert(self.T_mount_cam)
        return self.T_mount_cam @ T_cam_board @ invert(self.T_mount_board)

    # --- scene ----------------------------------------------------------------------------------
    def _board_png(self) -> bytes:
        image = board_image(self.config.board, pixels_per_square=120)
        return cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))[1].tobytes()

    def _xml(self) -> str:
        c = self.config
        half_w, half_h = (s / 2 for s in c.board.size)
        board = f'<geom name="board" type="plane" size="{half_w} {half_h} 0.01" material="board" {_pose_attrs(self.T_mount_board)}/>'
        camera = f'<camera name="calib_cam" fovy="{c.fovy}" {_pose_attrs(self.T_mount_cam @ make_T(MJ_TO_CV, np.zeros(3)))}/>'
        on_gripper, in_world = (camera, board) if c.mount == "eye_in_hand" else (board, camera)
        return f"""
<mujoco model="calibration_rig">
  <visual>
    <global offwidth="{c.width}" offheight="{c.height}"/>
    <quality offsamples="4"/>
    <headlight ambient="0.9 0.9 0.9" diffuse="0.1 0.1 0.1" specular="0 0 0"/>
  </visual>
  <asset>
    <texture name="board" type="2d" file="board.png"/>
    <material name="board" texture="board" texrepeat="1 1" specular="0" shininess="0" reflectance="0"/>
  </asset>
  <worldbody>
    <geom name="table" type="plane" size="1.5 1.5 0.1" rgba="0.45 0.42 0.38 1"/>
    {in_world}
    <body name="gripper" mocap="true">
      <geom type="box" size="0.03 0.03 0.02" pos="0 0 -0.02" rgba="0.2 0.2 0.2 1" contype="0" conaffinity="0"/>
      {on_gripper}
    </body>
  </worldbody>
</mujoco>"""


def sample_board_views(
    n: int, rng: np.random.Generator, distance=(0.32, 0.5), max_tilt_deg: float = 40.0
) -> list[np.ndarray]:
    """`n` poses of the board geom (normal +z) in the camera frame: in view, facing the camera, varied tilt."""
    views = []
    for _ in range(n):
        d = rng.uniform(*distance)
        centre = np.array([rng.uniform(-0.04, 0.04), rng.uniform(-0.03, 0.03), d])
        # facing the camera: geom z toward the camera (-z), then tilt about a random in-plane axis and spin
        R_face = rotation_about([1, 0, 0], np.pi)
        tilt_axis = np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a), 0.0])
        R_tilt = rotation_about(tilt_axis, np.radians(rng.uniform(10.0, max_tilt_deg)))
        R_spin = rotation_about([0, 0, 1], rng.uniform(-np.pi / 4, np.pi / 4))
        views.append(make_T(R_tilt @ R_face @ R_spin, centre))
    return views
