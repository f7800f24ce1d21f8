"""The robot node: the one process that owns the arm, the cameras and the recorder loop, assembled as
`srpo robot record` assembles them (srpo.robot.runner.make_recorder). The control loop is that command's hard
loop in a thread of its own (srpo.robot.realtime.ControlThread: sleep-then-spin pacing; during an episode on a
real arm the GC is frozen and SCHED_FIFO asked for); it is the only clock. rclpy's executor serves the services,
topics and parameters; a service that touches the arm or the recorder runs on the control thread between ticks.

Parameters  srpo.ros_bridge.params.ROBOT: RigConfig's fields, backend.type and that backend's own backend.*,
            source, out, image_topics, ... (derived from the CLI's configs)
Subscribes  arm/command         std_msgs/Float32MultiArray  source:=topic: one ACTION_SPACE step per state it
                                                            answers (teleop_node, policy_node)
            teleop/event        std_msgs/String             success / failure / stop from the operator
            image_topics        sensor_msgs/Image           cameras from realsense-ros instead of in the node
Publishes   xarm/joint_states   sensor_msgs/JointState      joint1..joint7 (xarm_ros2's names and topic), once a tick
            arm/eef_pose        geometry_msgs/PoseStamped   tool pose in link_base
            arm/gripper_width   std_msgs/Float32            metres
            arm/action          std_msgs/Float32MultiArray  the safety-filtered action executed (and recorded)
            arm/task_success    std_msgs/Bool               sim only: the task predicate
            camera{i}/color/image_raw, camera_info          cameras owned by the node
            recorder/episode    std_msgs/String             JSON of every ended episode
Services    recorder/start  std_srvs/Trigger   new episode (sim: objects re-placed)
            recorder/stop   std_srvs/Trigger   end and commit it
            recorder/label  std_srvs/SetBool   end (if running) and label: data true success, false failure
"""

import queue
import threading

from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Bool, Float32, Float32MultiArray, String
from std_srvs.srv import SetBool, Trigger

from srpo.ros_bridge import convert, params
from srpo.ros_bridge.services import EpisodeService, Reply, episode_event
from srpo.ros_bridge.tap import TapArm
from srpo_ros import msgs
from srpo_ros.spin import Throttle, declare, guarded, spin

SERVICE_WAIT_S = 10.0  # a service waits this long for the control thread to carry it out


class RecorderNode(Node):
    def __init__(self, node_name: str = "recorder_node", **node_options):
        super().__init__(node_name, **node_options)  # node_options: rclpy Node's (cli_args, context)
        self.p = p = declare(self, params.ROBOT, backend_fields=True)
        from srpo.robot.realtime import ControlThread
        from srpo.robot.rig import RigConfig, backend_config, build_rig
        from srpo.robot.runner import make_recorder, open_store

        height, width = p["camera_height"], p["camera_width"]  # a calibration is scaled to this size (open_store)
        backend = backend_config(p["backend.type"], **params.backend_settings(p))  # its own fields and defaults
        config = RigConfig(backend=backend, **params.rig_settings(p))
        self.task_text = backend.instruction(p["task"])  # sim: the task's instruction; a real arm: the text itself
        rig = build_rig(config)
        self.rig, self.arm = rig, TapArm(rig.arm)
        self.cameras = self._topic_cameras(height, width) if p["image_topics"] else rig.cameras
        self.own_cameras = not p["image_topics"]
        self.arm.connect()
        store = (open_store(p["out"], self.cameras, p["control_rate_hz"], p["calibration"] or None,
                            self.arm.extra_state_keys()) if p["out"] else None)  # as `srpo robot record`
        # what camera_info publishes: the stored specs (a calibration scaled to the recorded size), else the camera's
        specs = store.config.cameras if store is not None else [cam.spec(n) for n, cam in self.cameras.items()]
        self.specs = {spec.name: spec for spec in specs}
        self.recorder = make_recorder(config, rig, store, arm=self.arm, cameras=self.cameras)
        make_source, default_name = self._source()
        self.service = EpisodeService(self.recorder, make_source, rig.reset, self.task_text,
                                      p["source_name"] or default_name, p["episodes"])
        self.pub_joints = self.create_publisher(msgs.JointState, msgs.JOINT_STATES, 10)
        self.pub_pose = self.create_publisher(msgs.PoseStamped, "arm/eef_pose", 10)
        self.pub_grip = self.create_publisher(Float32, "arm/gripper_width", 10)
        self.pub_action = self.create_publisher(Float32MultiArray, "arm/action", 10)
        self.pub_success = self.create_publisher(Bool, "arm/task_success", 10)
        self.pub_episode = self.create_publisher(String, "recorder/episode", 10)
        names = self.cameras if self.own_cameras else {}
        self.pub_images = {n: self.create_publisher(Image, f"{n}/color/image_raw", msgs.IMAGE_QOS) for n in names}
        self.pub_infos = {n: self.create_publisher(CameraInfo, f"{n}/color/camera_info", 10) for n in names}
        self.published_index = {n: -1 for n in names}
        self.requests: queue.SimpleQueue = queue.SimpleQueue()  # (work, reply box) for the control thread
        self.create_service(Trigger, "recorder/start", guarded(self, self._start))
        self.create_service(Trigger, "recorder/stop", guarded(self, self._stop))
        self.create_service(SetBool, "recorder/label", guarded(self, self._label))
        self._warn_start = Throttle()
        self.control = ControlThread(guarded(self, self._tick, self._fault), p["control_rate_hz"],
                                     episode=lambda: self.recorder.active, before_episode=self.recorder.await_fresh_frames,
                                     hard=self.recorder.config.realtime, setup=self._connect_cameras,
                                     teardown=self._close)
        try:
            self.control.start()  # raises what connecting the cameras raised
        except BaseException:
            self.arm.disconnect()  # a real xArm leaves servo mode and stops
            raise

    def _topic_cameras(self, height: int, width: int) -> dict:
        """StreamCameras fed by image_topics (realsense-ros: /<namespace>/<name>/color/image_raw)."""
        from srpo.robot.bridge import StreamCamera

        cameras, depth_topics = {}, self.p["depth_topics"]
        for i, topic in enumerate(self.p["image_topics"]):
            cam = cameras[f"camera{i}"] = StreamCamera(height, width, depth=i < len(depth_topics))
            self.create_subscription(Image, topic, guarded(self, lambda m, c=cam: c.update(
                convert.image_to_rgb(m), convert.stamp_seconds(m.header.stamp))), msgs.SENSOR_QOS)
            if i < len(depth_topics):
                self.create_subscription(Image, depth_topics[i], guarded(
                    self, lambda m, c=cam: c.update_depth(convert.depth_to_mm(m))), msgs.SENSOR_QOS)
        return cameras

    def _source(self):
        """(episode number -> action source, the source name recorded)."""
        p, rig = self.p, self.rig
        if p["source"] == "expert":
            from srpo.errors import UserFacingError

            if rig.make_expert is None:
                raise UserFacingError(f"source:=expert needs a backend with a scripted expert (sim); "
                                      f"{p['backend.type']} has none")
            return (lambda i: rig.make_expert(p["expert_noise"], p["seed"] * 100_003 + i)), rig.source
        if p["source"] == "policy":
            from srpo.robot.policy_runner import LoadedPolicy, PolicyConfig, PolicySource

            # as srpo robot deploy: inference blocks in simulated time, runs beside a real arm's loop
            cfg = PolicyConfig(checkpoint=p["policy"], device=p["device"], blocking=rig.is_simulated)
            self.policy = PolicySource(LoadedPolicy(cfg), self.task_text, cfg)
            return (lambda i: self.policy), "policy"
        from srpo.robot.bridge import StreamTeleop

        self.teleop = StreamTeleop(deadman_s=max(0.2, 3.0 / p["control_rate_hz"]))
        self.create_subscription(Float32MultiArray, "arm/command",
                                 guarded(self, lambda m: self.teleop.update(convert.action_values(m.data))), 10)
        self.create_subscription(String, "teleop/event", guarded(self, lambda m: self.teleop.event(m.data)), 10)
        return (lambda i: self.teleop), rig.source

    # --- services: carried out on the control thread, between two ticks ----------------------------------
    def _on_control(self, work) -> Reply:
        """work() on the control thread (the only one touching the arm and the recorder); its Reply."""
        if not self.control.alive:
            return Reply(False, "the control loop is not running (the node is shutting down)")
        box = {"done": threading.Event()}
        self.requests.put((work, box))
        if not box["done"].wait(SERVICE_WAIT_S):
            return Reply(False, f"the control loop did not answer within {SERVICE_WAIT_S:.0f} s")
        if "error" in box:
            raise box["error"]
        return box["reply"]

    def _serve_requests(self) -> None:
        while True:
            try:
                work, box = self.requests.get_nowait()
            except queue.Empty:
                return
            try:
                box["reply"] = work()
            except Exception as err:  # noqa: BLE001 - re-raised in the service callback, which answers it
                box["error"] = err
            box["done"].set()

    def _reply(self, response, reply):
        response.success, response.message = reply.ok, reply.message
        self.get_logger().info(reply.message)
        return response

    def _start(self, request, response):
        return self._reply(response, self._on_control(self.service.start))

    def _stop(self, request, response):
        return self._reply(response, self._on_control(self.service.stop))

    def _label(self, request, response):
        return self._reply(response, self._on_control(lambda: self.service.label(bool(request.data))))

    # --- the control thread ---------------------------------------------------------------------------
    def _tick(self) -> None:
        if not self.context.ok():  # Ctrl-C or launch's SIGTERM shut rclpy down: destroy_node ends the episode
            self.control.stopping.set()
            return
        self._serve_requests()
        result = self.service.tick()
        if result is not None:
            self.get_logger().info(f"episode {result.index} ended ({result.status}: {result.reason}), "
                                   f"{result.steps} steps, success={result.success}")
            self.pub_episode.publish(String(data=episode_event(result)))
        reply = self.service.start_next()
        if reply is not None and not reply.ok and self._warn_start():
            self.get_logger().warning(reply.message)
        obs = self.arm.take_fresh()
        if obs is None:  # idle: one read for RViz and rosbag (during an episode the recorder's own read is used)
            obs = self.arm.get_observation()
        self._publish_state(obs)

    def _connect_cameras(self) -> None:
        for cam in self.cameras.values():
            cam.connect()

    def _close(self) -> None:
        """When the loop ends: the running episode ends as the shutdown, the cameras close (on their thread)."""
        self.service.abort("node shut down")
        for cam in self.cameras.values():
            cam.disconnect()

    def _fault(self, reason: str) -> None:
        """A tick raised: abort the running episode, unless rclpy is shutting down (then destroy_node ends it)."""
        if self.control.stopping.is_set() or not self.context.ok():
            self.control.stopping.set()
            return
        self.service.abort(reason)

    def _publish_state(self, obs: dict) -> None:
        stamp = self.get_clock().now().to_msg()
        self.pub_joints.publish(msgs.joint_state(obs["robot0_joint_pos"], stamp))
        self.pub_pose.publish(msgs.pose(obs["robot0_eef_pos"], obs["robot0_eef_rot_axis_angle"], stamp))
        self.pub_grip.publish(Float32(data=float(obs["robot0_gripper_width"][0])))
        action = self.arm.take_action()
        if action is not None:
            self.pub_action.publish(msgs.action(action))
        if self.rig.success_fn is not None:
            self.pub_success.publish(Bool(data=bool(self.rig.success_fn())))
        for name in self.pub_images:
            frame = self.cameras[name].latest()
            if frame.index != self.published_index[name]:
                self.published_index[name] = frame.index
                self.pub_images[name].publish(msgs.image(frame.rgb, stamp, name))
                self.pub_infos[name].publish(msgs.camera_info(self.specs[name], stamp, name))

    def destroy_node(self):
        self.control.stop()  # the loop ends and closes the episode and the cameras (_close) before the arm stops
        if getattr(self, "policy", None) is not None:
            self.policy.close()
        self.arm.disconnect()  # a real xArm stops here
        super().destroy_node()


def main(args=None) -> None:
    spin(RecorderNode, args)
