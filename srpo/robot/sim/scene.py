"""MJCF of the simulated xArm 7 on a table, written from UFACTORY's published kinematics.

Joint frames, axes and limits follow the xArm 7 description UFACTORY publishes with xarm_ros / xarm_ros2
(link offsets in metres, every joint rotating about its local z axis). Link shapes are capsules instead of
meshes: the camera sees a plausible arm and the model needs no asset files. The arm's links do not collide
(gravity-compensated, position-servoed like the real controller); only the hand and the fingers touch objects.
"""

from dataclasses import dataclass

from srpo.robot.xarm_backend import GRIPPER_MAX_WIDTH  # the simulated gripper is the real one's stroke

# (body name, position in the parent frame, rotation about x in degrees, joint limits in rad)
XARM7_CHAIN: tuple[tuple[str, tuple[float, float, float], float, tuple[float, float]], ...] = (
    ("link1", (0.0, 0.0, 0.267), 0.0, (-6.28319, 6.28319)),
    ("link2", (0.0, 0.0, 0.0), -90.0, (-2.059, 2.0944)),
    ("link3", (0.0, -0.293, 0.0), 90.0, (-6.28319, 6.28319)),
    ("link4", (0.0525, 0.0, 0.0), 90.0, (-0.19198, 3.927)),
    ("link5", (0.0775, -0.3425, 0.0), 90.0, (-6.28319, 6.28319)),
    ("link6", (0.0, 0.0, 0.0), 90.0, (-1.69297, 3.14159)),
    ("link7", (0.076, 0.097, 0.0), -90.0, (-6.28319, 6.28319)),
)
TCP_OFFSET = 0.172  # m from the link7 flange to the fingertip centre (xArm Gripper TCP)
HOME_QPOS = (0.0, -0.25, 0.0, 0.9, 0.0, 1.15, 0.0)  # rad, a tool-down pose above the table
CUBE_HALF = 0.02  # m, half edge of the cube


@dataclass(frozen=True)
class SceneOptions:
    """What the generated scene contains."""

    camera_height: int = 96  # rows of every simulated camera render
    camera_width: int = 128  # columns of every simulated camera render
    timestep: float = 0.002  # physics step in seconds


def _quat_x(deg: float) -> str:
    import math

    half = math.radians(deg) / 2
    return f"{math.cos(half):.6f} {math.sin(half):.6f} 0 0"


def _arm_xml() -> str:
    """Nested bodies of the seven links, innermost holding the hand."""
    opening, closing = [], []
    for i, (name, pos, rot_x, (lo, hi)) in enumerate(XARM7_CHAIN):
        # capsule from the parent's origin to this joint's origin, drawn in the parent frame
        seg = "" if pos == (0.0, 0.0, 0.0) else (
            f'<geom class="link" type="capsule" size="0.045" fromto="0 0 0 {pos[0]} {pos[1]} {pos[2]}"/>')
        opening.append(
            f'{seg}<body name="{name}" pos="{pos[0]} {pos[1]} {pos[2]}" quat="{_quat_x(rot_x)}" gravcomp="1">'
            f'<inertial pos="0 0 0" mass="{1.5 if i < 5 else 0.6}" diaginertia="0.005 0.005 0.003"/>'
            f'<joint name="joint{i + 1}" range="{lo} {hi}"/>'
        )
        closing.append("</body>")
    hand = f"""
      <geom class="link" type="cylinder" size="0.04 0.03" pos="0 0 0.03"/>
      <body name="hand" pos="0 0 0" gravcomp="1">
        <inertial pos="0 0 0.08" mass="0.8" diaginertia="0.002 0.002 0.001"/>
        <geom class="hand" type="box" size="0.03 0.055 0.02" pos="0 0 0.09" rgba="0.2 0.2 0.2 1"/>
        <camera name="wrist" pos="0.1 0 0.1" xyaxes="0 -1 0 -0.707 0 -0.707" fovy="80"/>
        <site name="tcp" pos="0 0 {TCP_OFFSET}" size="0.005" rgba="1 0 0 0"/>
        <body name="left_finger" pos="0 0 0" gravcomp="1">
          <inertial pos="0 0.01 0.15" mass="0.05" diaginertia="1e-5 1e-5 1e-5"/>
          <joint name="left_finger" type="slide" axis="0 1 0" range="0 {GRIPPER_MAX_WIDTH / 2}" damping="5"/>
          <geom class="finger" type="box" size="0.012 0.005 0.03" pos="0 0.005 0.15"/>
        </body>
        <body name="right_finger" pos="0 0 0" gravcomp="1">
          <inertial pos="0 -0.01 0.15" mass="0.05" diaginertia="1e-5 1e-5 1e-5"/>
          <joint name="right_finger" type="slide" axis="0 -1 0" range="0 {GRIPPER_MAX_WIDTH / 2}" damping="5"/>
          <geom class="finger" type="box" size="0.012 0.005 0.03" pos="0 -0.005 0.15"/>
        </body>
      </body>"""
    return "".join(opening) + hand + "".join(closing)


def scene_xml(options: SceneOptions = SceneOptions()) -> str:
    """The full scene: floor, table, the arm at the origin (table top is z=0), a cube and a target pad."""
    actuators = "".join(
        f'<position name="act{i + 1}" joint="joint{i + 1}" kp="3000" kv="150" ctrlrange="{lo} {hi}"/>'
        for i, (_, _, _, (lo, hi)) in enumerate(XARM7_CHAIN)
    )
    half_w = GRIPPER_MAX_WIDTH / 2
    return f"""
<mujoco model="srpo_xarm7_table">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="{options.timestep}" integrator="implicitfast" cone="elliptic" impratio="10"/>
  <visual>
    <global offwidth="{max(640, options.camera_width)}" offheight="{max(480, options.camera_height)}"/>
    <quality shadowsize="0"/>
  </visual>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1="0.55 0.45 0.35" rgb2="0.5 0.4 0.3" width="64" height="64"/>
    <material name="table" texture="grid" texrepeat="4 4"/>
  </asset>
  <default>
    <joint damping="2" armature="0.1"/>
    <default class="link"><geom contype="0" conaffinity="0" rgba="0.92 0.92 0.92 1" group="1"/></default>
    <default class="hand"><geom contype="1" conaffinity="1" friction="1 0.01 0.001"/></default>
    <default class="finger"><geom contype="1" conaffinity="1" friction="1.5 0.02 0.001" rgba="0.15 0.15 0.15 1"
      solref="0.005 1" solimp="0.95 0.99 0.001"/></default>
  </default>
  <worldbody>
    <light pos="0.4 0 1.5" dir="0 0 -1" directional="true" diffuse="0.8 0.8 0.8"/>
    <geom name="floor" type="plane" size="3 3 0.1" pos="0 0 -0.75" rgba="0.3 0.3 0.32 1"/>
    <geom name="table" type="box" size="0.45 0.5 0.02" pos="0.4 0 -0.02" material="table"/>
    <geom class="link" type="cylinder" size="0.06 0.06" pos="0 0 0.06"/>
    <camera name="front" pos="0.95 0 0.45" xyaxes="0 1 0 -0.625 0 0.78" fovy="55"/>
    {_arm_xml()}
    <body name="cube" pos="0.45 0 {CUBE_HALF}">
      <freejoint name="cube"/>
      <geom name="cube" type="box" size="{CUBE_HALF} {CUBE_HALF} {CUBE_HALF}" mass="0.05" rgba="0.85 0.1 0.1 1"
        friction="1.2 0.02 0.001"/>
    </body>
    <body name="target" mocap="true" pos="0.45 0.2 0.0005">
      <geom name="target" type="cylinder" size="0.045 0.0005" contype="0" conaffinity="0" rgba="0.1 0.7 0.2 1"/>
    </body>
  </worldbody>
  <equality>
    <joint joint1="left_finger" joint2="right_finger"/>
  </equality>
  <actuator>
    {actuators}
    <position name="gripper" joint="left_finger" kp="400" kv="20" forcerange="-30 30" ctrlrange="0 {half_w}"/>
  </actuator>
</mujoco>
"""
