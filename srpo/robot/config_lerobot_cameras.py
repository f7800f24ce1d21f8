"""Camera configs: LeRobot's `CameraConfig` registry is the only one. A robot (the xArm backend, the LeRobot
`xarm7` robot) holds `cameras: dict[str, CameraConfig]`, as LeRobot's robots do:

    --backend.cameras "{camera0: {type: srpo_realsense, serial_number_or_name: '036522072967'},
                        wrist: {type: opencv, index_or_path: 2}}"

LeRobot's own `opencv` and `intelrealsense` types do the job of a plain colour camera; the two types below exist
for what they lack (each docstring says what). Field names follow LeRobot's (`serial_number_or_name`,
`use_depth`, `index_or_path`) so a camera moves between types by changing `type`. The device classes are in
srpo.robot.lerobot_cameras, where LeRobot's factory (`make_device_from_device_class`: SrpoRealSenseConfig ->
SrpoRealSense in the module without `config_`) finds them.

Importing this module imports LeRobot's camera package, which imports torch (lerobot.cameras -> lerobot.utils
-> device_utils): a few seconds on every process that parses a robot config (docs/robot.md, "Start time").
"""

from dataclasses import dataclass

import lerobot.cameras.opencv.configuration_opencv  # noqa: F401 - registers LeRobot's `opencv`
import lerobot.cameras.realsense.configuration_realsense  # noqa: F401 - registers LeRobot's `intelrealsense`
from lerobot.cameras import CameraConfig

from srpo.configs import choice_config
from srpo.errors import UserFacingError

CAMERA_HELP = ("pass e.g. --backend.cameras \"{camera0: {type: srpo_realsense, serial_number_or_name: 'SERIAL'}}\" "
               "(serials: rs-enumerate-devices -s; webcams and video files: {type: srpo_opencv, index_or_path: 0})")


@CameraConfig.register_subclass("srpo_realsense")
@dataclass(kw_only=True)
class SrpoRealSenseConfig(CameraConfig):
    """An Intel RealSense through srpo.robot.cameras.RealSenseCamera. What LeRobot 0.6's `intelrealsense` lacks
    and the episode store records: depth ALIGNED to colour (rs.align; LeRobot streams depth in the depth
    camera's own frame), the colour stream's intrinsics (stored with every recording, and scaled from the
    calibration file), and hardware timestamps in the host clock (global time; LeRobot stamps frames on
    arrival). LeRobot's calls return the colour image; the device's `frame()` gives depth and timestamp."""

    serial_number_or_name: str | None = None  # device serial (rs-enumerate-devices -s); None: the only RealSense of the robot, the first one found
    use_depth: bool = False  # also stream depth aligned to colour (uint16 millimetres)


@CameraConfig.register_subclass("srpo_opencv")
@dataclass(kw_only=True)
class SrpoOpenCVConfig(CameraConfig):
    """An OpenCV / V4L2 device or a VIDEO FILE through srpo.robot.cameras.OpenCVCamera. What LeRobot 0.6's
    `opencv` lacks: it refuses a video file in a robot (setting the capture size fails on a file, and robots
    must set width/height/fps), which the dry run against `srpo robot fake-xarm` replays as camera feeds;
    frames of another size are resized instead of refused."""

    index_or_path: str = "0"  # device index ("0"), /dev/videoN, or a video file


def camera_config(kind: str, **settings) -> CameraConfig:
    """The LeRobot camera config registered as `kind` (srpo_realsense, srpo_opencv, opencv, intelrealsense, ...)
    from the `settings` it has fields for (a ROS node passes all its camera parameters)."""
    return choice_config(CameraConfig, kind, "camera type", **settings)


def check_cameras(cameras: dict) -> None:
    """A robot's cameras are usable: LeRobot configs, and a RealSense without a serial only when it is the robot's
    only RealSense (two would both open the first one found)."""
    for name, config in cameras.items():
        if not isinstance(config, CameraConfig):
            raise UserFacingError(f"camera {name!r}: {config!r} is not a LeRobot camera config; {CAMERA_HELP}")
    realsense = [n for n, c in cameras.items() if isinstance(c, SrpoRealSenseConfig)]
    unnamed = [n for n in realsense if not cameras[n].serial_number_or_name]
    if unnamed and len(realsense) > 1:
        raise UserFacingError(f"cameras {', '.join(unnamed)} have no serial_number_or_name, and the robot has "
                              f"{len(realsense)} RealSense cameras: give each its serial; {CAMERA_HELP}")
