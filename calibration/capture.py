"""Moving the robot through calibration poses and collecting board detections, on any `Rig`."""

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from tqdm import tqdm

from calibration.board import BoardDetector, Detection, draw_detection
from calibration.geometry import make_T, rotation_about
from calibration.intrinsics import Intrinsics
from srpo.errors import UserFacingError


class Rig(Protocol):
    """What calibration needs of a robot with a camera (the simulated rig and the xArm + RealSense adapter)."""

    mount: str  # "eye_in_hand" or "eye_to_hand"
    is_simulated: bool  # a simulated rig (moves are exact, no hand-guiding)
    camera_serial: str  # the camera's serial (or a stable sim id)

    def eef_pose(self) -> np.ndarray: ...  # 4x4 gripper pose in the base frame, metres

    def move_to(self, T_base_ee: np.ndarray) -> None: ...  # move there and return once settled

    def grab(self) -> np.ndarray: ...  # one fresh RGB uint8 frame

    def close(self) -> None: ...


@dataclass(frozen=True)
class Capture:
    """One calibration view: where the gripper was and what the camera saw."""

    T_base_ee: np.ndarray  # 4x4 gripper pose in the base frame when the frame was grabbed
    image: np.ndarray  # RGB uint8 frame
    detection: Detection | None  # board corners, or None if the board was not found


def capture_views(
    rig: Rig, poses: list[np.ndarray], detector: BoardDetector, desc: str = "capturing"
) -> list[Capture]:
    """Visit each pose, grab a frame and detect the board (progress bar). The pose read back is recorded."""
    captures = []
    found = 0
    with tqdm(poses, desc=desc, unit="pose") as bar:
        for pose in bar:
            rig.move_to(pose)
            image = rig.grab()
            detection = detector.detect(image)
            found += detection is not None
            captures.append(Capture(rig.eef_pose(), image, detection))
            bar.set_postfix(board_found=f"{found}/{len(captures)}")
    return captures


def capture_manual(rig: Rig, n: int, detector: BoardDetector, ask=input) -> list[Capture]:
    """Capture on Enter while the user moves the arm by hand (xArm manual/teach mode); 'q' stops early."""
    captures: list[Capture] = []
    while len(captures) < n:
        if (
            ask(f"[{len(captures) + 1}/{n}] move the arm, let it settle, press Enter (q to finish): ").strip()
            == "q"
        ):
            break
        image = rig.grab()
        detection = detector.detect(image)
        print("  board found" if detection is not None else "  board NOT found; this view will be skipped")
        captures.append(Capture(rig.eef_pose(), image, detection))
    return captures


def poses_around(
    start: np.ndarray,
    n: int,
    rng: np.random.Generator,
    pivot_distance: float = 0.4,
    max_angle_deg: float = 25.0,
    max_shift: float = 0.05,
    depth_range: float = 0.25,
) -> list[np.ndarray]:
    """`n` gripper poses rotated about a pivot `pivot_distance` along the gripper's z axis, plus small shifts.

    For eye-in-hand the pivot is where the wrist camera looks (the board), so the board stays in view while the
    viewing angle changes; for eye-to-hand use a small pivot distance (the board's centre on the gripper).
    Every pose rotates about a different random axis so the hand-eye problem is well conditioned, and moves
    toward or away from the pivot by up to `depth_range` of its distance (varied distance separates focal
    length from depth).
    """
    pivot = make_T(np.eye(3), [0.0, 0.0, pivot_distance])
    T_base_pivot = start @ pivot
    poses = []
    for _ in range(n):
        axis = rng.normal(size=3)
        angle = np.radians(rng.uniform(0.4, 1.0) * max_angle_deg)
        R = rotation_about(axis, angle)
        shift = rng.uniform(-max_shift, max_shift, size=3)
        depth = pivot_distance * (1 + rng.uniform(-depth_range, depth_range))
        poses.append(_about_pivot(T_base_pivot, R, shift, depth))
    return poses


def _about_pivot(T_base_pivot: np.ndarray, R: np.ndarray, shift: np.ndarray, depth: float) -> np.ndarray:
    """Rotate the pivot frame in place by R (own axes), shift it (base axes); the gripper sits `depth` behind it."""
    moved = T_base_pivot @ make_T(R, np.zeros(3))
    moved[:3, 3] += shift
    return moved @ make_T(np.eye(3), [0.0, 0.0, -depth])


def board_pose(capture: Capture, intrinsics: Intrinsics) -> np.ndarray | None:
    """The board pose in the camera frame (solvePnP), or None where the board was not found."""
    d = capture.detection
    if d is None:
        return None
    ok, rvec, tvec = cv2.solvePnP(d.object_points, d.image_points, intrinsics.K, intrinsics.dist)
    return make_T(cv2.Rodrigues(rvec)[0], tvec) if ok else None


def board_poses(captures: list[Capture], intrinsics: Intrinsics) -> list[tuple[Capture, np.ndarray]]:
    """(capture, board pose in the camera frame) for every capture where the board was found."""
    poses = [(cap, board_pose(cap, intrinsics)) for cap in captures]
    return [(cap, T) for cap, T in poses if T is not None]


def require_found(captures: list[Capture], minimum: int) -> None:
    found = sum(c.detection is not None for c in captures)
    if found < minimum:
        raise UserFacingError(
            f"the board was found in {found} of {len(captures)} views; at least {minimum} are needed. Check that the "
            "board settings match the print (--squares-x/--squares-y/--square-length/--dictionary), that it is in "
            "view and evenly lit; see the saved detection images"
        )


def save_detection_images(captures: list[Capture], directory: Path, predicted: list | None = None) -> Path:
    """Write one annotated PNG per view plus a contact sheet (`detections.png`); returns the sheet's path."""
    directory.mkdir(parents=True, exist_ok=True)
    tiles = []
    for i, cap in enumerate(captures):
        tile = draw_detection(cap.image, cap.detection, None if predicted is None else predicted[i])
        cv2.imwrite(str(directory / f"view_{i:03d}.png"), tile)
        tiles.append(cv2.resize(tile, (tile.shape[1] // 2, tile.shape[0] // 2)))
    cols = min(5, len(tiles))
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    sheet = np.vstack([np.hstack(tiles[r : r + cols]) for r in range(0, len(tiles), cols)])
    path = directory / "detections.png"
    cv2.imwrite(str(path), sheet)
    return path
