"""Camera intrinsics, hand-eye calibration and their check: the procedures behind `srpo calib`.

The file they write (format, loading, what the recorder stores from it) is `srpo.robot.calibration_file`.
Pose convention everywhere: ``T_a_b`` is a 4x4 homogeneous matrix giving the pose of frame ``b`` in frame ``a``
(it maps points in ``b`` coordinates to ``a`` coordinates). Cameras use the OpenCV frame (x right, y down,
z forward); distances are metres.
"""
