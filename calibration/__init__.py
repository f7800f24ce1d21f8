"""Camera intrinsics, hand-eye calibration, their check, and the YAML files the recorder stores with every episode.

Pose convention everywhere: ``T_a_b`` is a 4x4 homogeneous matrix giving the pose of frame ``b`` in frame ``a``
(it maps points in ``b`` coordinates to ``a`` coordinates). Cameras use the OpenCV frame (x right, y down,
z forward); distances are metres.
"""

from calibration.io import RecorderCalibration, load_calibration

__all__ = ["RecorderCalibration", "load_calibration"]
