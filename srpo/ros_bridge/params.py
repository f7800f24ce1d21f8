"""Node parameters, derived from the configs the CLI uses, and the coercion that makes `-p device:=0` or a YAML
`[]` usable.

Every default has one home, the frozen config that `srpo robot record/deploy`, `srpo calib` and the Python API
use: RigConfig (task, rate, episode length, image size, the safety filter's limits as `safety.*`), the backend's
own config under `backend.*` (whichever backend `backend.type` names: a registered one brings its own fields and
defaults), RecordConfig/DeployConfig, the camera configs. Parameter names are the configs' field paths, as
on the command line (`--backend.ip` there, `backend.ip` here). A backend's cameras, a dict of LeRobot camera
configs (`--backend.cameras "{camera0: {type: srpo_realsense, ...}}"`), are nested parameters, one per field:
`backend.cameras.camera0.type`, `backend.cameras.camera0.serial_number_or_name`, ... (a YAML file nests them).

rclpy types a parameter by its default and rejects another type (`-p control_rate_hz:=100` is an integer,
`-p serial:=123456789012` too). The nodes declare every parameter with dynamic typing and coerce the value
here to the default's type. A YAML `[]` has no element type, so it arrives unset (None): that means the default.
"""

import dataclasses
import typing

from lerobot.cameras import CameraConfig

from srpo.errors import UserFacingError
from srpo.robot.cameras import CAPTURE_HEIGHT, CAPTURE_WIDTH
from srpo.robot.config_lerobot_cameras import CAMERA_HELP, SrpoOpenCVConfig, camera_config
from srpo.robot.rig import RigConfig, load_backends
from srpo.robot.runner import DeployConfig, RecordConfig
from srpo.robot.teleop import KeyboardTeleopConfig


def coerce(name: str, value, default):
    """`value` converted to the type of `default`; None (unset, empty YAML list) gives the default."""
    if value is None:
        return default
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(value)
                return value.lower() in ("true", "1")
            return bool(value)
        if isinstance(default, int):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, str):
            if isinstance(value, float | bool):  # rcl read digits as a number: leading zeros already lost
                raise ValueError(value)
            return str(value)
        if isinstance(default, list | tuple):
            items = [value] if isinstance(value, str) else list(value)
            if default and isinstance(default[0], float):  # a config's float tuple (a workspace corner)
                return tuple(float(v) for v in items)
            if any(isinstance(v, float | bool) for v in items):  # rcl read digits as numbers: zeros already lost
                raise ValueError(value)
            return [str(v) for v in items if str(v)]
    except (TypeError, ValueError):
        pass
    hint = (" (quote text made of digits: -p serial:=\"'036522072967'\", a list: \"['036522072967']\")"
            if isinstance(default, str | list | tuple) else "")
    raise UserFacingError(f"parameter {name}:={value!r} is not a {type(default).__name__}{hint}")


def config_defaults(cls, prefix: str = "") -> dict:
    """Field path -> default of a config dataclass, nested configs flattened with dots; fields whose default has
    no ROS parameter type (None, a registry choice) are left out."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            continue
        if dataclasses.is_dataclass(default) and not hasattr(default, "get_choice_name"):
            out.update(config_defaults(type(default), f"{prefix}{f.name}."))
        elif isinstance(default, bool | int | float | str) or (isinstance(default, tuple) and all(
                isinstance(v, int | float | str) for v in default)):
            out[f"{prefix}{f.name}"] = default
    return out


RIG = config_defaults(RigConfig)  # task, seed, control_rate_hz, max_steps, camera_height, camera_width, safety.*
DEFAULT_BACKEND = RigConfig().backend.name


def backend_defaults(name: str) -> dict:
    """`backend.<field>` -> default of the backend registered as `name` (its own config)."""
    known = load_backends()
    if name not in known:
        raise UserFacingError(f"unknown backend {name!r}; use one of {', '.join(sorted(known))}")
    return config_defaults(known[name], "backend.")


CAMERAS = "backend.cameras"  # the parameter group of a backend's cameras: backend.cameras.<name>.<field>


def backend_settings(p: dict) -> dict:
    """The backend config's fields from the node's `backend.*` parameters (`backend.cameras`: already built)."""
    return {k.removeprefix("backend."): tuple(v) if isinstance(v, list) else v
            for k, v in p.items() if k.startswith("backend.") and k != "backend.type"}


def camera_configs(flat: dict) -> dict:
    """LeRobot camera configs from the `backend.cameras.<name>.<field>` parameters, given here without the group
    prefix ({"camera0.type": "srpo_opencv", "camera0.index_or_path": "0"}). Every camera needs its `type`; a field
    its type lacks is an error (a typo would otherwise be dropped); text fields refuse numbers (a serial read as
    digits lost its leading zeros)."""
    grouped: dict[str, dict] = {}
    for key, value in flat.items():
        name, _, field_name = key.partition(".")
        if not field_name or "." in field_name:
            raise UserFacingError(f"parameter {CAMERAS}.{key}: expected {CAMERAS}.<camera name>.<field>; {CAMERA_HELP}")
        grouped.setdefault(name, {})[field_name] = value
    configs = {}
    for name, settings in grouped.items():
        prefix = f"{CAMERAS}.{name}"
        if "type" not in settings:
            raise UserFacingError(f"parameter {prefix}.type is missing: every camera needs a type "
                                  "(srpo_realsense, srpo_opencv, opencv, intelrealsense)")
        kind = coerce(f"{prefix}.type", settings.pop("type"), "")
        cls = CameraConfig.get_known_choices().get(kind)
        if cls is None:
            camera_config(kind)  # raises: unknown camera type, with the known ones
        hints = typing.get_type_hints(cls)
        unknown = sorted(set(settings) - set(hints))
        if unknown:
            raise UserFacingError(f"parameter {prefix}.{unknown[0]}: camera type {kind} has no field {unknown[0]} "
                                  f"(it has {', '.join(f.name for f in dataclasses.fields(cls))})")
        for field_name, value in settings.items():
            if hints[field_name] in (str, str | None):
                settings[field_name] = coerce(f"{prefix}.{field_name}", value, "")
        try:
            configs[name] = cls(**settings)
        except (TypeError, ValueError) as err:
            raise UserFacingError(f"parameters {prefix}.*: {err}; {CAMERA_HELP}") from None
    return configs


def rig_settings(p: dict) -> dict:
    """RigConfig's fields (nested safety rebuilt) from the node's parameters."""
    from srpo.robot.safety import SafetyConfig

    safety = SafetyConfig(**{k.removeprefix("safety."): v for k, v in p.items() if k.startswith("safety.")})
    return {**{k: p[k] for k in RIG if "." not in k}, "safety": safety}


# The robot node: the rig (RigConfig), its backend (`backend.type` + backend.*: declared once the type is known),
# what it records and how episodes are driven.
ROBOT = {
    "backend.type": DEFAULT_BACKEND,  # a registered backend: sim (MuJoCo xArm 7), xarm (xarm-python-sdk), yours
    **RIG,
    "source": "topic",  # commands from: topic (arm/command: teleop_node, policy_node), expert (sim), policy
    "source_name": "",  # the episode's recorded source; empty: teleop (sim), policy, expert
    "out": "",  # episode store; empty: record nothing
    "calibration": "",  # calibration YAML from `srpo calib`; its intrinsics are scaled to the recorded image size
    "image_topics": [],  # colour topics (realsense-ros); empty: the node opens the backend's cameras itself
    "depth_topics": [],  # aligned depth topics, one per colour topic from the first; empty: none
    "expert_noise": RecordConfig.expert_noise,  # sim expert's noise scale
    "policy": DeployConfig.policy,  # source policy: LeRobot checkpoint directory
    "device": DeployConfig.device,  # source policy: torch device
    "episodes": 0,  # start this many episodes by itself (expert, policy); 0: wait for recorder/start
}

TELEOP = {
    "source": "spacemouse",  # keyboard (needs its own terminal) or spacemouse
    "step": KeyboardTeleopConfig.step,  # metres per command at full deflection
}

POLICY = {
    "policy": DeployConfig.policy,  # LeRobot checkpoint directory (required)
    "backend.type": DEFAULT_BACKEND,  # the robot node's backend: it turns `task` into the instruction
    "task": RigConfig.task,  # as the robot node's: sim task name (its instruction is given), a real arm: the text
    "device": DeployConfig.device,  # torch device
    "episodes": 1,  # episodes to run; the first starts when the robot's first state arrives
    "image_topics": ["camera0/color/image_raw", "camera1/color/image_raw"],  # the robot node's (or realsense-ros's)
    "camera_height": RigConfig.camera_height,  # image rows the policy was trained on
    "camera_width": RigConfig.camera_width,  # image columns the policy was trained on
    "start_timeout_s": 60.0,  # no episode started within this long (no robot node, no service): exit with the reason
}

CAMERA = {
    "type": "srpo_opencv",  # a LeRobot camera type: srpo_opencv (V4L2, video files), srpo_realsense, opencv, intelrealsense
    "index_or_path": SrpoOpenCVConfig.index_or_path,  # opencv types: device index, /dev/videoN or a video file
    "serial_number_or_name": "",  # realsense types: serial (empty: srpo_realsense opens the first one found)
    "name": "camera0",  # topic prefix and frame name
    "height": CAPTURE_HEIGHT,  # capture rows
    "width": CAPTURE_WIDTH,  # capture columns
    "fps": 30,  # capture rate
}


def node_camera(p: dict) -> CameraConfig:
    """The camera node's LeRobot camera config from its CAMERA parameters (fields its type lacks are ignored)."""
    source = p["index_or_path"]
    return camera_config(p["type"], index_or_path=int(source) if source.isdigit() else source, fps=p["fps"],
                         serial_number_or_name=p["serial_number_or_name"] or None, height=p["height"], width=p["width"])


def ros_value(default):
    """A default as a ROS parameter value: a tuple (a frozen config's list) as a list."""
    return list(default) if isinstance(default, tuple) else default


def read(get, spec: dict) -> dict:
    """Coerced values of every parameter in `spec`; get(name) returns the raw value (None when unset)."""
    return {name: coerce(name, get(name), default) for name, default in spec.items()}
