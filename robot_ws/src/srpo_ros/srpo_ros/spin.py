"""What every srpo_ros node shares: parameter declaration, the callback guard, steady timers and `main()`'s spin."""

import sys
import time

import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException

from srpo.errors import UserFacingError
from srpo.ros_bridge import params

LOG_EVERY_S = 2.0  # an error repeated by one callback is logged at most this often


def declare(node, spec: dict, backend_fields: bool = False) -> dict:
    """Declare `spec`'s parameters with dynamic typing (so `-p device:=0` or `-p rate:=100` is accepted) and
    return them coerced to their defaults' types (srpo.ros_bridge.params.coerce). backend_fields: also the
    fields of the backend `backend.type` names, `backend.*`, with that backend's own defaults, and its cameras
    (`backend.cameras.<name>.<field>`, see camera_parameters) as LeRobot camera configs."""
    for name, default in spec.items():
        node.declare_parameter(name, params.ros_value(default), ParameterDescriptor(dynamic_typing=True))
    values = params.read(lambda name: node.get_parameter(name).value, spec)
    if backend_fields:
        values.update(declare(node, params.backend_defaults(values["backend.type"])))
        cameras = camera_parameters(node)
        if cameras:
            values[params.CAMERAS] = params.camera_configs(cameras)
    return values


def camera_parameters(node) -> dict:
    """The `backend.cameras.<name>.<field>` parameters given to the node ({"<name>.<field>": value}), declared
    here: their names are the user's, so no spec lists them. rclpy keeps what the command line and parameter
    files gave the node in `Node._parameter_overrides` (rclpy/node.py, filled in Node.__init__; rclpy 7 has no
    public accessor, and `automatically_declare_parameters_from_overrides` declares every parameter statically
    typed, which refuses a YAML `[]`)."""
    prefix = params.CAMERAS + "."
    out = {}
    for name in node._parameter_overrides:
        if name.startswith(prefix):
            node.declare_parameter(name, None, ParameterDescriptor(dynamic_typing=True))
            out[name.removeprefix(prefix)] = node.get_parameter(name).value
    return out


def steady_timer(node, period_s: float, callback):
    """A timer on the steady clock: ROS time stands still under use_sim_time without /clock, and jumps."""
    return node.create_timer(period_s, callback, clock=Clock(clock_type=ClockType.STEADY_TIME))


class Throttle:
    """At most one pass every `every_s` seconds (monotonic), for one callback's error log. rclpy's own
    throttle_duration_sec is keyed by the logging call site, which a shared guard would make one for all."""

    def __init__(self, every_s: float = LOG_EVERY_S):
        self.every_s, self.last = every_s, float("-inf")

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.every_s:
            return False
        self.last = now
        return True


def guarded(node, callback, on_fault=None):
    """`callback` that logs an exception (throttled per callback) instead of letting rclpy re-raise it out of
    spin and kill the node; on_fault(reason) then puts things in a safe state (the robot node aborts its episode).

    A service callback (request, response) still answers: rclpy sends what the callback returns and raises
    TypeError out of spin for anything but a Response (rclpy/executors.py _take_service, service.py
    send_response), so the std_srvs response comes back with success false and the reason."""
    throttle = Throttle()

    def run(*args):
        try:
            return callback(*args)
        except Exception as err:  # noqa: BLE001 - any callback error must leave the node spinning
            reason = f"{type(err).__name__}: {err}"
            if throttle():
                node.get_logger().error(f"{getattr(callback, '__name__', 'callback')}: {reason}")
            if on_fault is not None:
                on_fault(reason)
            if len(args) == 2 and hasattr(args[1], "success") and hasattr(args[1], "message"):
                args[1].success, args[1].message = False, f"failed: {reason}"
                return args[1]
            return None

    return run


def spin(make_node, args=None) -> None:
    """rclpy.init, spin the node until Ctrl-C or launch's SIGTERM, destroy it (the arm stops) and shut down.

    A UserFacingError while building the node is printed as one line and exits 1 (no traceback)."""
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # rclpy raises ExternalShutdownException when launch's SIGINT/SIGTERM shut the context down
    except UserFacingError as err:
        print(f"[srpo_ros] {err}", file=sys.stderr)
        sys.exit(1)
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
