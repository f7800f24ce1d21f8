"""ROS 2 (Jazzy, rclpy) nodes over the srpo robot components. Every node is a thin adapter: the logic lives in
the `srpo.robot` package of the project's virtual environment and is tested there without ROS."""
