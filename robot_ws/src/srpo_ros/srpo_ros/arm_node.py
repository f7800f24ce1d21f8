"""Arm node: drives the xArm 7 (xarm-python-sdk) or the simulated xArm through the srpo Arm interface.

Subscribes  arm/command        std_msgs/Float32MultiArray  ACTION_SPACE step (7), safety-filtered here too
Publishes   /xarm/joint_states sensor_msgs/JointState      names joint1..joint7, as xarm_ros2 does
            arm/eef_pose       geometry_msgs/PoseStamped   tool pose in link_base
            arm/gripper_width  std_msgs/Float32            metres
            arm/task_success   std_msgs/Bool               sim only: the task predicate
            camera{i}/color/image_raw + camera_info        sim only (publish_sim_cameras)
Services    arm/reset          std_srvs/Trigger            sim: new episode (objects re-placed)
A command that is not renewed within a tick holds the arm (the deadman of the whole chain).
"""

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Float32, Float32MultiArray
from std_srvs.srv import Trigger

from srpo.robot.arm import CONTROL_RATE_HZ
from srpo.robot.safety import SafetyFilter
from srpo.robot.xarm_backend import XArmConfig
from srpo_ros import msgs
from srpo_ros.spin import spin


class ArmNode(Node):
    def __init__(self):
        super().__init__("arm_node")
        p = {name: self.declare_parameter(name, default).value for name, default in {
            "backend": "sim", "task": "lift", "xarm_ip": XArmConfig.ip, "control_rate_hz": CONTROL_RATE_HZ,
            "image_height": 96, "image_width": 128, "publish_sim_cameras": True, "seed": 0}.items()}
        from srpo.robot.rig import RigConfig, backend_config, build_rig

        config = RigConfig(backend=backend_config(p["backend"], ip=p["xarm_ip"]), task=p["task"], seed=p["seed"],
                           control_rate_hz=p["control_rate_hz"], camera_height=p["image_height"],
                           camera_width=p["image_width"])
        rig = build_rig(config)
        self.rig, self.arm, self.success_fn = rig, rig.arm, rig.success_fn
        self.arm.connect()
        self.safety = SafetyFilter(config.safety, config.control_rate_hz)
        self.safety.reset(self.arm.get_observation()["robot0_eef_pos"])
        # a simulator's cameras live in this process; a real arm's come from realsense-ros or camera_node
        self.cameras = rig.cameras if (rig.is_simulated and p["publish_sim_cameras"]) else {}
        for cam in self.cameras.values():
            cam.connect()
        self.command: np.ndarray | None = None
        self.create_subscription(Float32MultiArray, "arm/command", self._on_command, 10)
        self.pub_joints = self.create_publisher(JointState, "/xarm/joint_states", 10)
        self.pub_pose = self.create_publisher(msgs.PoseStamped, "arm/eef_pose", 10)
        self.pub_grip = self.create_publisher(Float32, "arm/gripper_width", 10)
        self.pub_success = self.create_publisher(Bool, "arm/task_success", 10)
        self.pub_images = {n: self.create_publisher(Image, f"{n}/color/image_raw", qos_profile_sensor_data)
                           for n in self.cameras}
        self.pub_info = {n: self.create_publisher(CameraInfo, f"{n}/color/camera_info", 10) for n in self.cameras}
        self.specs = {n: c.spec(n) for n, c in self.cameras.items()}
        self.create_service(Trigger, "arm/reset", self._on_reset)
        self.create_timer(1.0 / config.control_rate_hz, self._tick)

    def _on_command(self, msg: Float32MultiArray) -> None:
        self.command = np.asarray(msg.data, dtype=np.float64)

    def _on_reset(self, request, response):
        if self.rig.is_simulated:
            self.rig.reset()
            self.safety.reset(self.arm.get_observation()["robot0_eef_pos"])
            response.success, response.message = True, "sim episode reset"
        else:
            response.success, response.message = False, "a real arm is reset by the operator"
        return response

    def _tick(self) -> None:
        obs = self.arm.get_observation()
        command, self.command = self.command, None
        action = self.safety.hold() if command is None else self.safety.filter(command, obs)
        if self.safety.stopped:
            self.get_logger().error(f"safety stop: {self.safety.stop_reason}; call arm/reset or restart")
        self.arm.send_action(action)
        now = self.get_clock().now().nanoseconds * 1e-9
        obs = self.arm.get_observation()
        self.pub_joints.publish(msgs.joint_state(obs["robot0_joint_pos"], now))
        self.pub_pose.publish(msgs.pose_msg(obs["robot0_eef_pos"], obs["robot0_eef_rot_axis_angle"], now))
        self.pub_grip.publish(Float32(data=float(obs["robot0_gripper_width"][0])))
        if self.success_fn is not None:
            self.pub_success.publish(Bool(data=bool(self.success_fn())))
        for name, cam in self.cameras.items():
            self.pub_images[name].publish(msgs.rgb_to_image(cam.read().rgb, now, name))
            self.pub_info[name].publish(msgs.camera_info(self.specs[name], now, name))

    def destroy_node(self):
        for cam in self.cameras.values():
            cam.disconnect()
        self.arm.disconnect()
        super().destroy_node()


def main(args=None) -> None:
    spin(ArmNode, args)
