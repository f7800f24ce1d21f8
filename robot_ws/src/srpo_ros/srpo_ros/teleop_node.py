"""Teleop node: keyboard or SpaceMouse -> arm/command (std_msgs/Float32MultiArray, ACTION_SPACE) and
teleop/event (std_msgs/String: success / failure / stop).

It keeps no timer of its own: it answers every xarm/joint_states message of the robot node with one command, so
the robot's control tick is the only clock and no command is dropped or repeated by two timers aliasing.
Nothing is published while the deadman is released, so the robot holds.
The keyboard reads this process's terminal: run it with `ros2 run` in a terminal of its own (`ros2 launch`
gives its children a stdin nothing writes to).
"""

import sys

from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float32MultiArray, String

from srpo.errors import UserFacingError
from srpo.ros_bridge import convert, params
from srpo_ros import msgs
from srpo_ros.spin import declare, guarded, spin


class TeleopNode(Node):
    def __init__(self, stdin=None):
        super().__init__("teleop_node")
        p = declare(self, params.TELEOP)
        from srpo.robot.teleop import KeyboardTeleopConfig, SpaceMouseTeleopConfig, teleop_config

        config = teleop_config(p["source"], step=p["step"], max_step=p["step"])
        if not isinstance(config, KeyboardTeleopConfig | SpaceMouseTeleopConfig):
            raise UserFacingError(f"teleop_node source:={p['source']}: use keyboard or spacemouse (the sim "
                                  "expert runs inside recorder_node with source:=expert)")
        stdin = sys.stdin if stdin is None else stdin
        if isinstance(config, KeyboardTeleopConfig) and not stdin.isatty():
            raise UserFacingError("the keyboard teleop needs a terminal: run `ros2 run srpo_ros teleop_node "
                                  "--ros-args -p source:=keyboard` in a terminal of its own")
        self.teleop = config.build(None, 0.0, 0)
        self.pub = self.create_publisher(Float32MultiArray, "arm/command", 10)
        self.pub_event = self.create_publisher(String, "teleop/event", 10)
        self.create_subscription(JointState, msgs.JOINT_STATES, guarded(self, self._on_state), msgs.STATE_QOS)

    def _on_state(self, msg) -> None:
        if convert.joint_positions(msg.name, msg.position) is None:
            return  # not the robot node's arm state (xarm_ros2's gripper joints share the topic name)
        action = self.teleop.act({})
        if action is not None:
            self.pub.publish(msgs.action(action))
        for event in self.teleop.events():
            self.pub_event.publish(String(data=event))


def main(args=None) -> None:
    spin(TeleopNode, args)
