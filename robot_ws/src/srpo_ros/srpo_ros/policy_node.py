"""Policy node: a LeRobot checkpoint (any policy type) in its own process, commanding the robot node.

It answers every xarm/joint_states message of the robot node with one action on arm/command (inference runs off
this thread, a chunk at a time), so the robot's tick is the only clock. It asks recorder/start once the
robot's first complete state and images have arrived and the service is there (never in its constructor),
asks again when a request goes unanswered, and exits with a clear message when no episode could be started
within start_timeout_s. It runs `episodes` episodes and logs the success rate from recorder/episode. The robot
node's safety filter passes every command.

Services  policy/stop  std_srvs/Trigger  stop now: the running episode ends, the arm holds
"""

import time

from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float32, Float32MultiArray, String
from std_srvs.srv import Trigger

from srpo.errors import UserFacingError
from srpo.ros_bridge import convert, params
from srpo.ros_bridge.services import PolicyEpisodes
from srpo_ros import msgs
from srpo_ros.spin import declare, guarded, spin, steady_timer


class PolicyNode(Node):
    def __init__(self, **node_options):
        super().__init__("policy_node", **node_options)  # node_options: rclpy Node's (cli_args, context)
        self.p = p = declare(self, params.POLICY)
        if not p["policy"]:
            raise UserFacingError("policy_node needs policy:=CHECKPOINT (a LeRobot checkpoint directory)")
        from srpo.robot.bridge import StreamArm, StreamCamera
        from srpo.robot.policy_runner import LoadedPolicy, PolicyConfig, PolicySource
        from srpo.robot.rig import backend_config

        instruction = backend_config(p["backend.type"]).instruction(p["task"])  # the text the robot node records
        cfg = PolicyConfig(checkpoint=p["policy"], device=p["device"], blocking=False)
        self.source = PolicySource(LoadedPolicy(cfg), instruction, cfg)
        self.episodes = PolicyEpisodes(p["episodes"], time.monotonic(), ready_timeout_s=p["start_timeout_s"])
        self.pub = self.create_publisher(Float32MultiArray, "arm/command", 10)
        self.arm = StreamArm(lambda action: self.pub.publish(msgs.action(action)))
        self.arm.connect()
        self.cameras = {}
        for i, topic in enumerate(p["image_topics"]):
            cam = self.cameras[f"camera{i}"] = StreamCamera(p["camera_height"], p["camera_width"])
            self.create_subscription(Image, topic, guarded(self, lambda m, c=cam: c.update(
                convert.image_to_rgb(m), convert.stamp_seconds(m.header.stamp))), msgs.SENSOR_QOS)
        self.create_subscription(PoseStamped, "arm/eef_pose", guarded(self, self._on_pose), msgs.STATE_QOS)
        self.create_subscription(Float32, "arm/gripper_width", guarded(
            self, lambda m: self.arm.update("robot0_gripper_width", [m.data], time.time())), msgs.STATE_QOS)
        self.create_subscription(String, "recorder/episode", guarded(self, self._on_episode), 10)
        self.create_subscription(JointState, msgs.JOINT_STATES, guarded(self, self._on_state), msgs.STATE_QOS)
        self.start_client = self.create_client(Trigger, "recorder/start")
        self.stop_client = self.create_client(Trigger, "recorder/stop")
        self.pending = None  # the recorder/start request in flight
        self.create_service(Trigger, "policy/stop", guarded(self, self._stop))
        steady_timer(self, 0.5, self._poll)  # not guarded: a start that times out ends the node (spin prints it)

    def _on_pose(self, msg) -> None:
        pos, rotvec = convert.pose_to_arrays(msg.pose)
        stamp = convert.stamp_seconds(msg.header.stamp)
        self.arm.update("robot0_eef_pos", pos, stamp)
        self.arm.update("robot0_eef_rot_axis_angle", rotvec, stamp)

    def step(self) -> dict | None:
        """The observation the policy sees (keys as recorded), or None until every part has arrived."""
        from srpo.robot.arm import ArmError
        from srpo.robot.cameras import CameraError

        try:
            step = dict(self.arm.get_observation())
            for name, cam in self.cameras.items():
                step[f"{name}_rgb"] = cam.latest().rgb
        except (ArmError, CameraError):
            return None
        return step

    def _on_state(self, msg) -> None:
        joints = convert.joint_positions(msg.name, msg.position)
        if joints is None:
            return  # another JointState (xarm_ros2's gripper joints) on the topic
        self.arm.update("robot0_joint_pos", joints, convert.stamp_seconds(msg.header.stamp))
        step = self.step()
        if self.episodes.on_state(step is not None, self.start_client.service_is_ready(), time.monotonic()):
            self.pending = self.start_client.call_async(Trigger.Request())
            self.pending.add_done_callback(guarded(self, self._on_started))
        if self.episodes.acting and step is not None:
            action = self.source.act(step)
            if action is not None:
                self.arm.send_action(action)

    def _poll(self) -> None:
        if self.episodes.poll(time.monotonic(), self.step() is not None, self.start_client.service_is_ready()):
            self.start_client.remove_pending_request(self.pending)  # unanswered: the next state asks again
            self.get_logger().warning("recorder/start went unanswered; asking again")
        if self.episodes.state == "failed":
            raise UserFacingError(f"policy_node: {self.episodes.error}")

    def _on_started(self, future) -> None:
        if future is not self.pending or future.cancelled():
            return  # a request given up on (poll) answered late
        reply = future.result()
        if self.episodes.on_start_reply(bool(reply.success), time.monotonic()):
            self.source.reset(self.arm)
        self.get_logger().info(f"recorder/start: {reply.message}")

    def _on_episode(self, msg) -> None:
        event = self.episodes.on_episode_end(msg.data, time.monotonic())
        self.get_logger().info(f"episode {event['index']} {event['status']} success={event['success']}; "
                               f"success rate {self.episodes.success_rate:.2f} over {len(self.episodes.successes)}")

    def _stop(self, request, response):
        running = self.episodes.acting
        self.episodes.stop()
        if running:
            self.stop_client.call_async(Trigger.Request())
        response.success, response.message = True, "stopped; the arm holds"
        return response

    def destroy_node(self):
        self.source.close()
        super().destroy_node()


def main(args=None) -> None:
    spin(PolicyNode, args)
