"""Policy node: runs a LeRobot checkpoint (any policy type) with inference off the control thread; every
command passes the safety filter before it goes to the arm (arm/command, or the in-process arm).

Services  policy/start  Trigger  run one episode (auto_start: run `episodes` episodes on launch)
          policy/stop   Trigger  stop now (the arm holds)
"""

from std_srvs.srv import Trigger

from srpo_ros.loop_node import LoopNode
from srpo_ros.spin import spin


class PolicyNode(LoopNode):
    def __init__(self):
        super().__init__("policy_node", {"policy": "", "device": "cpu", "episodes": 1, "auto_start": True})
        from srpo.robot.policy_runner import LoadedPolicy, PolicyConfig, PolicySource

        if not self.p["policy"]:
            raise SystemExit("policy_node needs the policy parameter: a LeRobot checkpoint directory")
        cfg = PolicyConfig(checkpoint=self.p["policy"], device=self.p["device"], blocking=False)
        self.source = PolicySource(LoadedPolicy(cfg), self.p["task"], cfg)
        self.remaining = int(self.p["episodes"])
        self.successes: list[bool] = []
        self.create_service(Trigger, "policy/start", self._start)
        self.create_service(Trigger, "policy/stop", self._stop)
        if self.p["auto_start"]:
            self._begin()

    def _begin(self) -> None:
        if hasattr(self.arm, "reset"):
            self.arm.reset()
        self.recorder.start(self.p["task"], self.source, "policy")

    def _start(self, request, response):
        if self.recorder.active:
            response.success, response.message = False, "an episode is already running"
        else:
            self.remaining = max(self.remaining, 1)
            self._begin()
            response.success, response.message = True, "running"
        return response

    def _stop(self, request, response):
        self.remaining = 0
        if self.recorder.active:
            self.recorder.stop("stopped by service")
        response.success, response.message = True, "stopped"
        return response

    def on_episode_end(self, result) -> None:
        if result.success is not None:
            self.successes.append(result.success)
            rate = sum(self.successes) / len(self.successes)
            self.get_logger().info(f"success rate so far {rate:.2f} over {len(self.successes)} episodes")
        self.remaining -= 1
        if self.remaining > 0:
            self._begin()

    def destroy_node(self):
        self.source.close()
        super().destroy_node()


def main(args=None) -> None:
    spin(PolicyNode, args)
