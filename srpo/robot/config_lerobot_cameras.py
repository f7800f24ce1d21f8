"""This project's cameras as LeRobot camera types: `--robot.cameras="{front: {type: srpo_realsense, serial: ...}}"`.

LeRobot's own `intelrealsense` and `opencv` types do most of the job; these exist for what they lack (each
config says what). The device classes are in srpo.robot.lerobot_cameras, where LeRobot's factory
(`make_device_from_device_class`: SrpoRealSenseConfig -> SrpoRealSense in the module without `config_`) finds them.
"""

from dataclasses import dataclass

from lerobot.cameras import CameraConfig


@CameraConfig.register_subclass("srpo_realsense")
@dataclass(kw_only=True)
class SrpoRealSenseConfig(CameraConfig):
    """An Intel RealSense through srpo.robot.cameras.RealSenseCamera. What LeRobot 0.6's `intelrealsense` lacks
    and the episode store records: depth ALIGNED to colour (rs.align; LeRobot streams depth in the depth
    camera's own frame), the colour stream's intrinsics (stored with every recording, and scaled from the
    calibration file), and hardware timestamps in the host clock (global time; LeRobot stamps frames on
    arrival). LeRobot's calls return the colour image; the device's `frame()` gives depth and timestamp."""

    serial: str | None = None  # device serial (rs-enumerate-devices -s); None: the first one found
    depth: bool = False  # also stream depth aligned to colour (uint16 millimetres)


@CameraConfig.register_subclass("srpo_opencv")
@dataclass(kw_only=True)
class SrpoOpenCVConfig(CameraConfig):
    """An OpenCV / V4L2 device or a VIDEO FILE through srpo.robot.cameras.OpenCVCamera. What LeRobot 0.6's
    `opencv` lacks: it refuses a video file in a robot (setting the capture size fails on a file, and robots
    must set width/height/fps), which the dry run against `srpo robot fake-xarm` replays as camera feeds;
    frames of another size are resized instead of refused."""

    device: str = "0"  # device index ("0"), /dev/videoN, or a video file
