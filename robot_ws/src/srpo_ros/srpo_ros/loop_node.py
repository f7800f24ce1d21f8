"""Shared adapter of the recorder and policy nodes: builds the arm and cameras (from topics, or in-process),
and drives srpo's EpisodeRecorder from a timer at the control rate.

arm:=topics  state from /xarm/joint_states (xarm_ros2 names), arm/eef_pose, arm/gripper_width, images from
             image_topics (realsense-ros layout); commands go to arm/command (arm_node executes them).
arm:=sim|xarm the node owns the arm and cameras itself (lowest latency; needed by the sim expert).
"""

from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Float32, Float32MultiArray

from srpo.robot.arm import CONTROL_RATE_HZ
from srpo.robot.xarm_backend import XArmConfig
from srpo_ros import msgs

COMMON = {"arm": "topics", "task": "lift the red cube", "sim_task": "lift", "control_rate_hz": CONTROL_RATE_HZ,
          "max_steps": 200, "image_height": 96, "image_width": 128, "xarm_ip": XArmConfig.ip, "seed": 0,
          "image_topics": ["/camera0/color/image_raw", "/camera1/color/image_raw"],
          "depth_topics": [""], "joint_states_topic": "/xarm/joint_states", "out": "", "calibration": "",
          "use_task_success": False}  # use_task_success: label from arm/task_success (sim arm_node); calibration: YAML from `srpo calib`


class LoopNode(Node):
    def __init__(self, name: str, extra: dict):
        super().__init__(name)
        self.p = {k: self.declare_parameter(k, v).value for k, v in {**COMMON, **extra}.items()}
        from srpo.robot.recorder import EpisodeRecorder, LoopConfig
        from srpo.robot.rig import RigConfig, backend_config, build_rig
        from srpo.robot.runner import open_store
        from srpo.robot.safety import SafetyFilter

        p = self.p
        self.success_value: bool | None = None
        clock, self.reset_arm, self.make_expert = None, lambda: None, None
        if p["arm"] != "topics":  # a backend in this process (sim, xarm, ...) instead of the arm_node's topics
            rig = build_rig(RigConfig(backend=backend_config(p["arm"], ip=p["xarm_ip"]), task=p["sim_task"],
                                      seed=p["seed"], control_rate_hz=p["control_rate_hz"],
                                      camera_height=p["image_height"], camera_width=p["image_width"]))
            self.arm, self.cameras, success_fn, clock = rig.arm, rig.cameras, rig.success_fn, rig.clock
            self.reset_arm, self.make_expert = rig.reset, rig.make_expert
        else:
            self.arm, self.cameras, success_fn = self._topic_rig()
        self.arm.connect()
        for cam in self.cameras.values():
            cam.connect()
        store = open_store(p["out"], self.cameras, p["control_rate_hz"], p.get("calibration") or None) if p["out"] else None
        loop = LoopConfig(control_rate_hz=p["control_rate_hz"], max_steps=p["max_steps"], realtime=True)
        self.recorder = EpisodeRecorder(self.arm, self.cameras, SafetyFilter(control_rate_hz=p["control_rate_hz"]),
                                        store, loop, success_fn=success_fn, clock=clock)
        self.create_timer(1.0 / p["control_rate_hz"], self._tick)

    def _topic_rig(self):
        from srpo.robot.bridge import StreamArm, StreamCamera

        p = self.p
        pub = self.create_publisher(Float32MultiArray, "arm/command", 10)
        arm = StreamArm(lambda a: pub.publish(msgs.action_msg(a)))
        self.create_subscription(JointState, p["joint_states_topic"],
                                 lambda m: arm.update("robot0_joint_pos", msgs.joint_positions(m),
                                                      msgs.stamp_seconds(m)), 10)

        def on_pose(m):
            pos, rotvec = msgs.pose_to_arrays(m)
            arm.update("robot0_eef_pos", pos, msgs.stamp_seconds(m))
            arm.update("robot0_eef_rot_axis_angle", rotvec, msgs.stamp_seconds(m))

        self.create_subscription(msgs.PoseStamped, "arm/eef_pose", on_pose, 10)
        self.create_subscription(Float32, "arm/gripper_width",
                                 lambda m: arm.update("robot0_gripper_width", [m.data], 0.0), 10)
        self.create_subscription(Bool, "arm/task_success", lambda m: setattr(self, "success_value", m.data), 10)
        cameras = {}
        depth_topics = [t for t in p["depth_topics"] if t]
        for i, topic in enumerate(p["image_topics"]):
            cam = StreamCamera(p["image_height"], p["image_width"], depth=i < len(depth_topics))
            cameras[f"camera{i}"] = cam
            self.create_subscription(Image, topic, lambda m, c=cam: c.update(msgs.image_to_rgb(m), msgs.stamp_seconds(m)),
                                     qos_profile_sensor_data)
            if i < len(depth_topics):
                self.create_subscription(Image, depth_topics[i], lambda m, c=cam: c.update_depth(msgs.depth_to_mm(m)),
                                         qos_profile_sensor_data)
        return arm, cameras, (lambda: bool(self.success_value)) if p["use_task_success"] else None

    def _tick(self) -> None:
        if self.recorder.active and not self.recorder.tick():
            result = self.recorder.finish()
            self.get_logger().info(f"episode {result.index} ended ({result.status}: {result.reason}), "
                                   f"{result.steps} steps, success={result.success}")
            self.on_episode_end(result)

    def on_episode_end(self, result) -> None:
        """Hook for subclasses (the policy node starts the next episode)."""

    def destroy_node(self):
        if self.recorder.active:
            self.recorder.stop("node shut down")
        for cam in self.cameras.values():
            cam.disconnect()
        self.arm.disconnect()
        super().destroy_node()
