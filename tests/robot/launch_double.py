"""A test double of `launch` and `launch_ros`, the only ROS 2 pieces these machines cannot install (they are not on
PyPI; rclpy and the messages are, and the nodes run on the real ones in the tests). It is kept to what the launch
files call: DeclareLaunchArgument with launch's `choices` check (launch/actions/declare_launch_argument.py),
OpaqueFunction, LaunchConfiguration, LogInfo, Shutdown and launch_ros's Node, which keeps its arguments.
What launch_ros then does with a Node's `parameters` (each entry a --params-file, a dict yaml.dump-ed under `/**`)
is `launch_ros_args` below, and a real rclpy node is started with those arguments.

install(monkeypatch) puts the double's modules in sys.modules.
"""

import os
import sys
import tempfile
import types

import yaml

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


# ---------------------------------------------------------------- what launch_ros passes the node


def launch_ros_args(node_action) -> list[str]:
    """The --ros-args launch_ros gives the process of `node_action`: every `parameters` entry as --params-file,
    in order; a dict yaml.dump-ed under `/**` first (the namespace is unspecified: launch_ros/actions/node.py
    `_create_params_file_from_dict`), a path as it is, a missing path skipped with a warning (as launch_ros does)."""
    args = ["--ros-args"]
    for entry in node_action.parameters:
        if isinstance(entry, dict):
            with tempfile.NamedTemporaryFile("w", prefix="launch_params_", delete=False) as f:
                yaml.dump({"/**": {"ros__parameters": entry}}, f, default_flow_style=False)
            entry = f.name
        if os.path.isfile(entry):
            args += ["--params-file", entry]
    return args


# ---------------------------------------------------------------- installation


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    module.__srpo_double__ = True
    return module


def install(monkeypatch) -> None:
    """Make `launch` and `launch_ros` resolve to this double (rclpy and the messages stay the real ones)."""
    this = sys.modules[__name__]
    modules = {
        "launch": _module("launch", LaunchDescription=LaunchDescription),
        "launch.actions": _module("launch.actions", DeclareLaunchArgument=DeclareLaunchArgument,
                                  OpaqueFunction=OpaqueFunction, LogInfo=LogInfo, Shutdown=Shutdown),
        "launch.substitutions": _module("launch.substitutions", LaunchConfiguration=LaunchConfiguration),
        "launch_ros": _module("launch_ros"),
        "launch_ros.actions": _module("launch_ros.actions", Node=LaunchNode),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    if "srpo_ros.launch_common" in sys.modules:  # imported against another test's double: import it again
        monkeypatch.delitem(sys.modules, "srpo_ros.launch_common")
    monkeypatch.setitem(sys.modules, "launch_double", this)
