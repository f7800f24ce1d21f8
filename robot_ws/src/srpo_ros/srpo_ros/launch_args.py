"""How the launch files turn launch arguments into node parameters (no rclpy, no srpo: `ros2 launch` runs
under the system Python, which has neither the project nor its virtual environment; PyYAML it has).

Precedence is decided here, in Python, and the node gets ONE parameter file holding one dict:
    what the launch file decides < the user's YAML (params:=FILE, its `/**` then its `<node name>` sections)
    < the arguments typed on the command line.
Handing launch_ros several entries does not give that order: it writes a dict under `/**` (launch_ros
actions/node.py `_create_params_file_from_dict`, the node's namespace being unspecified) while the user's YAML
says `recorder_node:`; rcl keeps node sections in first-seen order (rcl_yaml_param_parser/src/parse.c) and
rclpy applies them in that order, so the YAML's `recorder_node:` section overrode the typed values.

The file is written here, every string quoted. launch_ros would yaml.dump the dict itself, and PyYAML leaves
text such as 036522072967, 1e3 or 08 unquoted; rcl then parses it with strtoll/strtod and the node gets a float
(or, for a list mixing such text with quoted text, refuses the file: "Sequence should be of same type").
An argument left at its empty default is not passed, so the YAML's value or the node's own default stands;
text typed for a number ("100") is converted by the node (srpo.ros_bridge.params.coerce).
"""

import os
import tempfile

import yaml


def given(values: dict[str, str], mapping: dict[str, str]) -> dict[str, str]:
    """{node parameter: value} for every launch argument in `mapping` the user set (non-empty)."""
    return {param: values[arg] for arg, param in mapping.items() if values.get(arg, "") != ""}


def split(text: str) -> list[str]:
    """A comma-separated launch argument ("a,b") as a list (empty: [])."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _flat(section: dict, prefix: str = "") -> dict:
    """A ros__parameters mapping with nested groups as dotted names (`backend: {ip: x}` -> `backend.ip`)."""
    out = {}
    for name, value in (section or {}).items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


def yaml_parameters(path: str, node_name: str) -> dict:
    """The parameters a YAML parameter file gives `node_name`: its `/**` section, then `node_name` (or
    `/node_name`), the node's own winning. A missing or malformed file is an error (launch_ros only warns)."""
    if not os.path.isfile(path):
        raise RuntimeError(f"params:={path} is not a file; give the path of a parameter YAML "
                           "(e.g. $(ros2 pkg prefix srpo_ros)/share/srpo_ros/config/xarm.yaml)")
    with open(path) as f:
        try:
            doc = yaml.safe_load(f) or {}
        except yaml.YAMLError as err:
            raise RuntimeError(f"params:={path} is not valid YAML: {err}") from None
    if not isinstance(doc, dict):
        raise RuntimeError(f"params:={path} must map node names to ros__parameters")
    out = {}
    for section in ("/**", node_name, f"/{node_name}"):
        out.update(_flat((doc.get(section) or {}).get("ros__parameters", {})))
    return out


# parameter groups replaced whole by a typed value in them (a camera typed as srpo_opencv keeps no serial of the
# YAML's srpo_realsense camera, and the YAML's camera1 does not outlive a typed single camera)
WHOLE_GROUPS = ("backend.cameras.",)


def merge(node_name: str, decided: dict, params_file: str, typed: dict) -> dict:
    """decided by the launch file < YAML file (when given) < typed on the command line: one dict."""
    from_yaml = yaml_parameters(params_file, node_name) if params_file else {}
    merged = {**decided, **from_yaml}
    for group in WHOLE_GROUPS:
        if any(k.startswith(group) for k in typed):
            merged = {k: v for k, v in merged.items() if not k.startswith(group)}
    return {**merged, **typed}


class _QuotedDumper(yaml.SafeDumper):
    """Writes every string quoted, so rcl reads it as text (its parser types plain scalars by strtoll/strtod)."""


_QuotedDumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="'"))


def params_file_text(parameters: dict) -> str:
    """The parameter YAML for one node (under `/**`: whatever its name and namespace). An empty list is left out:
    rcl cannot type it (and launch_ros refuses it), so the node keeps its default."""
    kept = {k: (list(v) if isinstance(v, tuple) else v) for k, v in parameters.items()
            if not (isinstance(v, list | tuple) and not v)}
    return yaml.dump({"/**": {"ros__parameters": kept}}, Dumper=_QuotedDumper, default_flow_style=False)


def node_parameters(node_name: str, decided: dict, params_file: str, typed: dict) -> list[str]:
    """launch_ros `parameters=` for `node_name`: one file holding merge(...)."""
    text = params_file_text(merge(node_name, decided, params_file, typed))
    with tempfile.NamedTemporaryFile("w", prefix=f"srpo_{node_name}_", suffix=".yaml", delete=False) as f:
        f.write(text)
    return [f.name]
