"""Camera intrinsics, hand-eye calibration, their check, and the YAML files the recorder stores with every episode.

Pose convention everywhere: ``T_a_b`` is a 4x4 homogeneous matrix giving the pose of frame ``b`` in frame ``a``
(it maps points in ``b`` coordinates to ``a`` coordinates). Cameras use the OpenCV frame (x right, y down,
z forward); distances are metres.
"""

__all__ = ["RecorderCalibration", "load_calibration"]


def __getattr__(name: str):
    # lazy, so `srpo calib --help` (which imports calibration.cli) does not load OpenCV
    if name in __all__:
        from calibration import io

        return getattr(io, name)
    raise AttributeError(f"module 'calibration' has no attribute {name!r}")
