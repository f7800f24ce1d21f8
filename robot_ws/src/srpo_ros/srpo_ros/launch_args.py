"""How the launch files turn launch arguments into node parameters (no rclpy, no srpo: `ros2 launch` runs
under the system Python, which has neither the project nor its virtual environment).

launch_ros gives a node its `parameters` in order and a later entry overrides an earlier one
(launch_ros/launch_ros/actions/node.py). So the order is: what the launch file decides for this
configuration, then the user's YAML (params:=...), then only the arguments typed on the command line.
An argument left at its empty default is not passed, so the YAML's value or the node's default stands.
Values are passed as Python text: launch_ros yaml.dump-quotes a str before evaluating it
(launch_ros/utilities/normalize_parameters.py), so "036522072967" or "1" arrive as text, as
ParameterValue(value, value_type=str) would give; the nodes convert to the declared type (srpo.ros_bridge.params).
An empty list is never passed (launch_ros refuses it: utilities/evaluate_parameters.py).
"""


def given(values: dict[str, str], mapping: dict[str, str]) -> dict[str, str]:
    """{node parameter: value} for every launch argument in `mapping` the user set (non-empty)."""
    return {param: values[arg] for arg, param in mapping.items() if values.get(arg, "") != ""}


def node_parameters(decided: dict, params_file: str, typed: dict) -> list:
    """launch_ros `parameters=`: decided by the launch file < YAML file < typed on the command line."""
    return [entry for entry in (decided, params_file, typed) if entry]


def split(text: str) -> list[str]:
    """A comma-separated launch argument ("a,b") as a list (empty: [])."""
    return [item.strip() for item in text.split(",") if item.strip()]
