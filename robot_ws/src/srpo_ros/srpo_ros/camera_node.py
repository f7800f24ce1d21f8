"""Camera node for cameras without their own ROS driver: OpenCV / V4L2 devices, or a RealSense through
pyrealsense2 when realsense-ros is not installed. Publishes <name>/color/image_raw (rgb8, sensor-data QoS)
and <name>/color/camera_info, the realsense-ros topic layout, so the recorder subscribes the same way."""

from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from srpo_ros import msgs
from srpo_ros.spin import spin


class CameraNode(Node):
    def __init__(self):
        super().__init__("camera_node")
        p = {name: self.declare_parameter(name, default).value for name, default in {
            "kind": "opencv", "device": "0", "serial": "", "name": "camera0", "height": 480, "width": 640,
            "fps": 30}.items()}
        from srpo.robot.cameras import ThreadedCamera, camera_config

        config = camera_config(p["kind"], serial=p["serial"] or None, device=str(p["device"]), fps=p["fps"])
        self.camera = ThreadedCamera(config.build(p["height"], p["width"]), p["fps"])
        self.camera.connect()
        self.name = p["name"]
        self.spec = self.camera.spec(self.name)
        self.pub = self.create_publisher(Image, f"{self.name}/color/image_raw", qos_profile_sensor_data)
        self.pub_info = self.create_publisher(CameraInfo, f"{self.name}/color/camera_info", 10)
        self.last_index = -1
        self.create_timer(1.0 / (2 * p["fps"]), self._tick)

    def _tick(self) -> None:
        frame = self.camera.latest()
        if frame.index == self.last_index:
            return
        self.last_index = frame.index
        self.pub.publish(msgs.rgb_to_image(frame.rgb, frame.timestamp, self.name))
        self.pub_info.publish(msgs.camera_info(self.spec, frame.timestamp, self.name))

    def destroy_node(self):
        self.camera.disconnect()
        super().destroy_node()


def main(args=None) -> None:
    spin(CameraNode, args)
