"""Recorder node: teleop episodes into the episode store, started, stopped and labelled by services.

Services (std_srvs only)  recorder/start  Trigger   begin an episode (sim: objects re-placed)
                          recorder/stop   Trigger   end and commit it (label from the sim predicate, or none)
                          recorder/label  SetBool   label the last/current episode success (true) or failure
Action source: teleop/action + teleop/event topics (teleop_node), or source:=expert with arm:=sim.
"""

from std_msgs.msg import Float32MultiArray, String
from std_srvs.srv import SetBool, Trigger

from srpo.errors import UserFacingError
from srpo_ros.loop_node import LoopNode
from srpo_ros.spin import spin


class RecorderNode(LoopNode):
    def __init__(self):
        super().__init__("recorder_node", {"source": "teleop", "expert_noise": 1.0, "source_name": "teleop",
                                           "out": "datasets/ros.zarr"})
        from srpo.robot.bridge import StreamTeleop

        self.teleop = StreamTeleop()
        self.create_subscription(Float32MultiArray, "teleop/action", lambda m: self.teleop.update(m.data), 10)
        self.create_subscription(String, "teleop/event", lambda m: self.teleop.event(m.data), 10)
        self.create_service(Trigger, "recorder/start", self._start)
        self.create_service(Trigger, "recorder/stop", self._stop)
        self.create_service(SetBool, "recorder/label", self._label)
        self.last_index = -1
        self.episode_count = 0

    def _source(self):
        if self.p["source"] == "expert":
            if self.make_expert is None:
                raise UserFacingError("source expert needs a simulated arm in this node: set arm:=sim")
            return self.make_expert(self.p["expert_noise"], self.p["seed"] * 100_003 + self.episode_count)
        return self.teleop

    def _start(self, request, response):
        if self.recorder.active:
            response.success, response.message = False, "an episode is already running; call recorder/stop"
            return response
        self.reset_arm()
        self.recorder.start(self.p["task"], self._source(), self.p["source_name"])
        self.episode_count += 1
        response.success, response.message = True, "recording"
        return response

    def _stop(self, request, response):
        if not self.recorder.active:
            response.success, response.message = False, "no episode is running"
            return response
        result = self.recorder.stop("stopped by service")
        self.last_index = result.index
        response.success = True
        response.message = f"episode {result.index}: {result.steps} steps, success={result.success}"
        return response

    def _label(self, request, response):
        if self.recorder.active:
            result = self.recorder.stop("labelled by service")
            self.last_index = result.index
        if self.last_index < 0 or self.recorder.store is None:
            response.success, response.message = False, "no recorded episode to label"
            return response
        self.recorder.store.set_success(self.last_index, bool(request.data))
        response.success, response.message = True, f"episode {self.last_index} success={bool(request.data)}"
        return response

    def on_episode_end(self, result) -> None:
        self.last_index = result.index


def main(args=None) -> None:
    spin(RecorderNode, args)
