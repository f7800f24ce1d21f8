"""A test double of the rclpy, ROS message and launch surface that srpo_ros uses: ROS 2 cannot be installed on
these machines (not on PyPI or Debian). It is kept to what the package calls, and models the behaviours the
package depends on: rclpy's parameter type check (a value of another type than the default is rejected unless
the descriptor allows dynamic typing, rclpy/node.py), `-p name:=value` parsed as YAML (rcl_yaml_param_parser),
launch's `choices` check on arguments (launch/actions/declare_launch_argument.py), and launch_ros's ordered
`parameters` list. The real-rclpy tests are marked `ros` (tests/robot/test_ros_nodes.py).

install(monkeypatch) puts the double's modules in sys.modules.
"""

import sys
import time
import types
from dataclasses import dataclass, field

import yaml

# ---------------------------------------------------------------- messages


@dataclass
class Time:
    sec: int = 0
    nanosec: int = 0


@dataclass
class Header:
    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@dataclass
class Image:
    header: Header = field(default_factory=Header)
    height: int = 0
    width: int = 0
    encoding: str = ""
    is_bigendian: int = 0
    step: int = 0
    data: bytes = b""


@dataclass
class CameraInfo:
    header: Header = field(default_factory=Header)
    height: int = 0
    width: int = 0
    distortion_model: str = ""
    d: list = field(default_factory=list)
    k: list = field(default_factory=lambda: [0.0] * 9)
    r: list = field(default_factory=lambda: [0.0] * 9)
    p: list = field(default_factory=lambda: [0.0] * 12)


@dataclass
class JointState:
    header: Header = field(default_factory=Header)
    name: list = field(default_factory=list)
    position: list = field(default_factory=list)


@dataclass
class Point:
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0


@dataclass
class Quaternion:
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    w: float = 1.0


@dataclass
class Pose:
    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@dataclass
class PoseStamped:
    header: Header = field(default_factory=Header)
    pose: Pose = field(default_factory=Pose)


@dataclass
class Float32:
    data: float = 0.0


@dataclass
class Bool:
    data: bool = False


@dataclass
class String:
    data: str = ""


@dataclass
class Float32MultiArray:
    data: list = field(default_factory=list)


@dataclass
class _Response:
    success: bool = False
    message: str = ""


@dataclass
class _TriggerRequest:
    pass


@dataclass
class _SetBoolRequest:
    data: bool = False


Trigger = types.SimpleNamespace(Request=_TriggerRequest, Response=_Response)
SetBool = types.SimpleNamespace(Request=_SetBoolRequest, Response=_Response)


@dataclass
class ParameterDescriptor:
    dynamic_typing: bool = False


# ---------------------------------------------------------------- rclpy


class InvalidParameterTypeException(Exception):
    pass


class ExternalShutdownException(Exception):
    pass


OVERRIDES: dict = {}  # name -> value, from init(args=["--ros-args", "-p", "name:=value", ...])
GRAPH: list = []  # the nodes started since init(): a message or service call reaches every node that serves it


def _rcl_value(value):
    """A parsed YAML value as rcl hands it to rclpy: an empty sequence has no element type and leaves the
    parameter's variant empty (rcl_yaml_param_parser/src/parse.c types a sequence by its items), which rclpy
    turns into NOT_SET, value None (rclpy/src/rclpy/node.cpp, _parameter_from_rcl_variant)."""
    return None if value == [] else value


def init(args=None) -> None:
    OVERRIDES.clear()
    GRAPH.clear()
    args = list(args or [])
    for i, arg in enumerate(args):
        if arg == "-p":
            name, _, text = args[i + 1].partition(":=")
            OVERRIDES[name] = _rcl_value(yaml.safe_load(text))  # as rcl parses it: "100" is an int, "0" too


def init_from_launch(node_action) -> None:
    """rclpy.init for the process a launch_ros Node action starts (beside those started before, so they talk to
    each other): its `parameters` applied in order, a later
    entry overriding an earlier one (launch_ros/actions/node.py passes each as a --params-file, in order).
    A dict's Python str stays a str (launch_ros/utilities/normalize_parameters.py yaml.dump-quotes it, so
    "000123" is not read as a number); an empty list is refused as launch_ros refuses it
    (utilities/evaluate_parameters.py); a YAML file gives its `<node name>` or `/**` section."""
    OVERRIDES.clear()
    for entry in node_action.parameters:
        if isinstance(entry, dict):
            for name, value in entry.items():
                if isinstance(value, list | tuple) and not value:
                    raise TypeError(f"launch_ros refuses the empty list given for {name}")
                OVERRIDES[name] = list(value) if isinstance(value, tuple) else value
            continue
        doc = yaml.safe_load(open(entry).read()) or {}
        for section in ("/**", node_action.name):
            for name, value in (doc.get(section) or {}).get("ros__parameters", {}).items():
                OVERRIDES[name] = _rcl_value(value)


def try_shutdown() -> None:
    OVERRIDES.clear()


def spin(node) -> None:
    raise ExternalShutdownException()  # what launch's SIGTERM makes rclpy.spin raise


class Publisher:
    def __init__(self, msg_type, topic):
        self.msg_type, self.topic, self.sent = msg_type, topic, []

    def publish(self, msg) -> None:
        assert isinstance(msg, self.msg_type), f"{self.topic} publishes {self.msg_type.__name__}, got {msg!r}"
        self.sent.append(msg)
        for node in list(GRAPH):  # delivered at once, to every subscriber of the same (relative) name
            for callback in node.subscriptions.get(self.topic, []):
                callback(msg)


class Future:
    def __init__(self, result):
        self._result, self.callbacks = result, []

    def result(self):
        return self._result

    def add_done_callback(self, callback) -> None:
        self.callbacks.append(callback)
        if self._result is not None:
            callback(self)


class Client:
    def __init__(self, srv_type, name):
        self.srv_type, self.name, self.requests = srv_type, name, []

    def call_async(self, request) -> Future:
        """Answered at once by a node of the graph that serves `name`; pending (None) when none does."""
        future = Future(None)
        self.requests.append((request, future))
        for node in list(GRAPH):
            if self.name in node.services:
                future._result = node.call(self.name, request)
                break
        return future


class Logger:
    def __init__(self):
        self.records: list[tuple[str, str]] = []

    def _log(self, level, msg, throttle_duration_sec=None):
        self.records.append((level, msg))

    def info(self, msg, **kw):
        self._log("info", msg, **kw)

    def warning(self, msg, **kw):
        self._log("warning", msg, **kw)

    def error(self, msg, **kw):
        self._log("error", msg, **kw)


class _Now:
    def __init__(self, seconds):
        self.seconds = seconds

    def to_msg(self) -> Time:
        return Time(int(self.seconds), int((self.seconds % 1) * 1e9))


class Clock:
    def now(self) -> _Now:
        return _Now(time.time())


class Parameter:
    def __init__(self, value):
        self.value = value


class Node:
    def __init__(self, node_name: str):
        self.node_name = node_name
        self.params: dict = {}
        self.publishers: dict = {}
        self.subscriptions: dict = {}
        self.services: dict = {}
        self.clients: dict = {}
        self.timers: list = []
        self.logger = Logger()
        self.destroyed = False
        GRAPH.append(self)

    def declare_parameter(self, name, value, descriptor=None):
        if name in self.params:
            raise RuntimeError(f"parameter {name} declared twice")
        if name in OVERRIDES:
            given = OVERRIDES[name]
            dynamic = descriptor is not None and descriptor.dynamic_typing
            if not dynamic and given is not None and type(given) is not type(value):
                raise InvalidParameterTypeException(f"{name}: {type(given).__name__} given, {type(value).__name__} declared")
            value = given
        self.params[name] = Parameter(value)
        return self.params[name]

    def get_parameter(self, name) -> Parameter:
        return self.params[name]

    def create_publisher(self, msg_type, topic, qos):
        self.publishers[topic] = Publisher(msg_type, topic)
        self.publishers[topic].qos = qos
        return self.publishers[topic]

    def create_subscription(self, msg_type, topic, callback, qos):
        self.subscriptions.setdefault(topic, []).append(callback)

    def create_service(self, srv_type, name, callback):
        self.services[name] = (srv_type, callback)

    def create_client(self, srv_type, name):
        self.clients[name] = Client(srv_type, name)
        return self.clients[name]

    def create_timer(self, period, callback):
        self.timers.append((period, callback))

    def get_logger(self) -> Logger:
        return self.logger

    def get_clock(self) -> Clock:
        return Clock()

    def destroy_node(self) -> None:
        self.destroyed = True
        if self in GRAPH:
            GRAPH.remove(self)

    # test helpers (not rclpy API)
    def deliver(self, topic: str, msg) -> None:
        for callback in self.subscriptions[topic]:
            callback(msg)

    def call(self, name: str, request=None, **fields):
        """A service call; like rclpy's executor, refuses an answer that is not the service's Response."""
        srv_type, callback = self.services[name]
        response = callback(request if request is not None else srv_type.Request(**fields), srv_type.Response())
        if not isinstance(response, srv_type.Response):
            raise TypeError(f"{name} answered {response!r}: rclpy's send_response raises out of spin")
        return response

    def tick(self, n: int = 1) -> None:
        for _ in range(n):
            for _, callback in self.timers:
                callback()


# ---------------------------------------------------------------- launch


class DeclareLaunchArgument:
    def __init__(self, name, default_value=None, description="", choices=None):
        if choices is not None and default_value is not None and default_value not in choices:
            raise ValueError(f"argument {name}: default {default_value!r} is not one of {choices}")
        self.name, self.default_value, self.description, self.choices = name, default_value, description, choices


class OpaqueFunction:
    def __init__(self, function):
        self.function = function


class LogInfo:
    def __init__(self, msg):
        self.msg = msg


class Shutdown:
    def __init__(self, reason=""):
        self.reason = reason


class LaunchConfiguration:
    def __init__(self, name):
        self.name = name

    def perform(self, context) -> str:
        return context.launch_configurations[self.name]


class LaunchDescription:
    def __init__(self, entities):
        self.entities = list(entities)


class LaunchNode:
    """launch_ros.actions.Node: keeps its arguments."""

    def __init__(self, *, package, executable, name=None, namespace=None, output=None, parameters=(), on_exit=None,
                 **rest):
        self.package, self.executable, self.name, self.namespace = package, executable, name, namespace
        self.parameters, self.on_exit, self.rest = list(parameters), on_exit, rest


def run_launch(description: LaunchDescription, **arguments) -> list:
    """What `ros2 launch FILE name:=value ...` would start: the actions of its OpaqueFunctions."""
    declared = {e.name: e for e in description.entities if isinstance(e, DeclareLaunchArgument)}
    unknown = set(arguments) - set(declared)
    if unknown:
        raise KeyError(f"undeclared launch arguments {sorted(unknown)}")
    config = {}
    for name, arg in declared.items():
        value = arguments.get(name, arg.default_value)
        if arg.choices is not None and value not in arg.choices:
            raise ValueError(f"argument {name}:={value!r} is not one of {arg.choices}")
        config[name] = value
    context = types.SimpleNamespace(launch_configurations=config)
    actions = []
    for entity in description.entities:
        if isinstance(entity, OpaqueFunction):
            actions.extend(entity.function(context))
    return actions


# ---------------------------------------------------------------- installation


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    module.__srpo_double__ = True
    return module


def install(monkeypatch) -> None:
    """Make `import rclpy`, the message packages, `launch` and `launch_ros` resolve to this double."""
    this = sys.modules[__name__]
    modules = {
        "rclpy": _module("rclpy", init=init, try_shutdown=try_shutdown, spin=spin),
        "rclpy.node": _module("rclpy.node", Node=Node),
        "rclpy.qos": _module("rclpy.qos", qos_profile_sensor_data="sensor_data", qos_profile_system_default="system_default"),
        "rclpy.executors": _module("rclpy.executors", ExternalShutdownException=ExternalShutdownException),
        "rcl_interfaces": _module("rcl_interfaces"),
        "rcl_interfaces.msg": _module("rcl_interfaces.msg", ParameterDescriptor=ParameterDescriptor),
        "sensor_msgs": _module("sensor_msgs"),
        "sensor_msgs.msg": _module("sensor_msgs.msg", Image=Image, CameraInfo=CameraInfo, JointState=JointState),
        "geometry_msgs": _module("geometry_msgs"),
        "geometry_msgs.msg": _module("geometry_msgs.msg", PoseStamped=PoseStamped),
        "std_msgs": _module("std_msgs"),
        "std_msgs.msg": _module("std_msgs.msg", Float32=Float32, Bool=Bool, String=String,
                                Float32MultiArray=Float32MultiArray),
        "std_srvs": _module("std_srvs"),
        "std_srvs.srv": _module("std_srvs.srv", Trigger=Trigger, SetBool=SetBool),
        "launch": _module("launch", LaunchDescription=LaunchDescription),
        "launch.actions": _module("launch.actions", DeclareLaunchArgument=DeclareLaunchArgument,
                                  OpaqueFunction=OpaqueFunction, LogInfo=LogInfo, Shutdown=Shutdown),
        "launch.substitutions": _module("launch.substitutions", LaunchConfiguration=LaunchConfiguration),
        "launch_ros": _module("launch_ros"),
        "launch_ros.actions": _module("launch_ros.actions", Node=LaunchNode),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    for name in [m for m in sys.modules if m == "srpo_ros" or m.startswith("srpo_ros.")]:
        monkeypatch.delitem(sys.modules, name)  # re-import the package against the double
    monkeypatch.setitem(sys.modules, "rclpy_double", this)
