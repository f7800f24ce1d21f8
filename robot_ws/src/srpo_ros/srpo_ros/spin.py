"""Run a node until Ctrl-C: the `main()` every srpo_ros executable shares."""

import rclpy


def spin(make_node, args=None) -> None:
    """rclpy.init, spin the node made by make_node(), then destroy it and shut rclpy down."""
    rclpy.init(args=args)
    node = make_node()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
