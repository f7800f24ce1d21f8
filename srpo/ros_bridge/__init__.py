"""The ROS 2 package's logic without ROS: message conversion, parameter coercion and the service state machines.

robot_ws/src/srpo_ros wraps these in rclpy nodes; nothing here imports rclpy, so it is tested on machines
without ROS 2 (tests/robot/test_ros_bridge.py). Messages are handled by attribute (duck-typed), exactly as rclpy exposes them.
"""
