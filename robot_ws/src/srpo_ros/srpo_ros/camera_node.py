"""Camera node for cameras without their own ROS driver (OpenCV / V4L2 devices, or a RealSense through
pyrealsense2 without realsense-ros), chosen by a LeRobot camera type (`-p type:=srpo_opencv -p index_or_path:=0`). Publishes <name>/color/image_raw (rgb8, REP 2003's system-default QoS) and
<name>/color/camera_info in realsense-ros's layout and optical frame names, stamped by the node clock."""

from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from srpo.ros_bridge import params
from srpo_ros import msgs
from srpo_ros.spin import declare, guarded, spin, steady_timer


class CameraNode(Node):
    def __init__(self):
        super().__init__("camera_node")
        p = declare(self, params.CAMERA)
        from srpo.robot.lerobot_cameras import rig_cameras

        self.name = p["name"]
        self.camera = rig_cameras({self.name: params.node_camera(p)}, p["height"], p["width"], p["fps"])[self.name]
        self.camera.connect()
        self.spec = self.camera.spec(self.name)
        self.pub = self.create_publisher(Image, f"{self.name}/color/image_raw", msgs.IMAGE_QOS)
        self.pub_info = self.create_publisher(CameraInfo, f"{self.name}/color/camera_info", 10)
        self.last_index = -1
        steady_timer(self, 1.0 / (2 * p["fps"]), guarded(self, self._tick))

    def _tick(self) -> None:
        frame = self.camera.latest()
        if frame.index == self.last_index:
            return
        self.last_index = frame.index
        stamp = self.get_clock().now().to_msg()
        self.pub.publish(msgs.image(frame.rgb, stamp, self.name))
        self.pub_info.publish(msgs.camera_info(self.spec, stamp, self.name))

    def destroy_node(self):
        self.camera.disconnect()
        super().destroy_node()


def main(args=None) -> None:
    spin(CameraNode, args)
