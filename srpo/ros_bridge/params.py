"""Node parameters: their defaults, and the coercion that makes `-p device:=0` or a YAML `[]` usable.

rclpy types a parameter by its default and rejects another type (`-p control_rate_hz:=100` is an integer,
`-p serial:=123456789012` too). The nodes declare every parameter with dynamic typing and coerce the value
here to the default's type. A YAML `[]` has no element type, so it arrives unset (None): that means the default.
"""

from srpo.errors import UserFacingError
from srpo.robot.rig import RigConfig


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
            return [str(v) for v in items if str(v)]
    except (TypeError, ValueError):
        pass
    hint = " (quote text made of digits: -p serial:=\"'036522072967'\")" if isinstance(default, str) else ""
    raise UserFacingError(f"parameter {name}:={value!r} is not a {type(default).__name__}{hint}")


# One definition per node: name -> default. The robot node owns the arm, the cameras and the recorder loop.
ROBOT = {
    "backend": "sim",  # sim (MuJoCo xArm 7) or xarm (xarm-python-sdk)
    "task": "lift",  # sim: the task (lift, place); a real arm: the instruction text stored with every episode
    "source": "topic",  # commands from: topic (arm/command: teleop_node, policy_node), expert (sim), policy
    "source_name": "",  # the episode's recorded source; empty: teleop (sim), policy, expert
    "out": "",  # episode store; empty: record nothing
    "calibration": "",  # calibration YAML from `srpo calib`; its intrinsics are scaled to the recorded image size
    "control_rate_hz": 20.0,  # ticks per second (a real xArm: 100)
    "max_steps": 200,  # ticks per episode at most
    "image_height": RigConfig.camera_height,  # recorded image rows (as `srpo robot record --image-size`)
    "image_width": RigConfig.camera_width,  # recorded image columns
    "image_topics": [],  # colour topics (realsense-ros); empty: the node opens the backend's cameras itself
    "depth_topics": [],  # aligned depth topics, one per colour topic from the first; empty: none
    "realsense_serials": [],  # backend xarm, cameras in the node: RealSense serial of camera0, camera1, ...
    "opencv_devices": [],  # backend xarm, cameras in the node through OpenCV instead (index, /dev/videoN, a video)
    "xarm_ip": "192.168.1.185",  # controller address (the fake controller: 127.0.0.1)
    "xarm_control_port": 502,  # controller command port (the fake controller: 5020)
    "seed": 0,  # sim: object placement and expert noise
    "expert_noise": 1.0,  # sim expert's noise scale
    "policy": "",  # source policy: LeRobot checkpoint directory
    "device": "cpu",  # source policy: torch device
    "episodes": 0,  # start this many episodes by itself (expert, policy); 0: wait for recorder/start
}

TELEOP = {
    "source": "spacemouse",  # keyboard (needs its own terminal) or spacemouse
    "step": 0.01,  # metres per command at full deflection
}

POLICY = {
    "policy": "",  # LeRobot checkpoint directory (required)
    "backend": "sim",  # the robot node's backend: it turns `task` into the instruction (BackendConfig.instruction)
    "task": "lift",  # as the robot node's: sim task name (its instruction is given), a real arm: the instruction text
    "device": "cpu",  # torch device
    "episodes": 1,  # episodes to run; the first starts when the robot's first state arrives
    "image_topics": ["camera0/color/image_raw", "camera1/color/image_raw"],  # the robot node's (or realsense-ros's)
    "image_height": 96,  # image rows the policy was trained on
    "image_width": 128,  # image columns the policy was trained on
    "start_timeout_s": 60.0,  # no episode started within this long (no robot node, no service): exit with the reason
}

CAMERA = {
    "kind": "opencv",  # opencv (V4L2) or realsense (pyrealsense2)
    "device": "0",  # opencv device index or path
    "serial": "",  # realsense serial
    "name": "camera0",  # topic prefix and frame name
    "height": 480,  # capture rows
    "width": 640,  # capture columns
    "fps": 30,  # capture rate
}


def ros_value(default):
    """A default as a ROS parameter value: a tuple (a frozen config's list) as a list."""
    return list(default) if isinstance(default, tuple) else default


def read(get, spec: dict) -> dict:
    """Coerced values of every parameter in `spec`; get(name) returns the raw value (None when unset)."""
    return {name: coerce(name, get(name), default) for name, default in spec.items()}
