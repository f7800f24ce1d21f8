"""Teleop node: keyboard (terminal) or SpaceMouse -> teleop/action (std_msgs/Float32MultiArray, ACTION_SPACE)
and teleop/event (std_msgs/String: success / failure / stop). Nothing is published while the deadman is
released, so the recorder and the arm hold."""

from rclpy.node import Node
from std_msgs.msg import Float32MultiArray, String

from srpo.robot.arm import CONTROL_RATE_HZ
from srpo_ros import msgs
from srpo_ros.spin import spin


class TeleopNode(Node):
    def __init__(self):
        super().__init__("teleop_node")
        p = {name: self.declare_parameter(name, default).value for name, default in {
            "source": "keyboard", "rate_hz": CONTROL_RATE_HZ, "step": 0.01}.items()}
        from srpo.robot.teleop import ExpertTeleopConfig, teleop_config

        config = teleop_config(p["source"], step=p["step"], max_step=p["step"])
        if isinstance(config, ExpertTeleopConfig):
            raise SystemExit("teleop_node source expert: use keyboard or spacemouse "
                             "(the sim expert runs inside recorder_node with source:=expert)")
        self.teleop = config.build(None, 0.0, 0)
        self.pub = self.create_publisher(Float32MultiArray, "teleop/action", 10)
        self.pub_event = self.create_publisher(String, "teleop/event", 10)
        self.create_timer(1.0 / p["rate_hz"], self._tick)

    def _tick(self) -> None:
        action = self.teleop.act({})
        if action is not None:
            self.pub.publish(msgs.action_msg(action))
        for event in self.teleop.events():
            self.pub_event.publish(String(data=event))


def main(args=None) -> None:
    spin(TeleopNode, args)
