"""The calibration file format (human-readable YAML), the intrinsics it holds, and what the recorder stores from it.

`srpo calib` (the calibration package) writes these files; recording reads them. The format lives in the core
so that recording never imports the calibration procedures.

format: srpo-calibration/1
date: '2026-11-23T14:30:00+00:00'     # last change
robot: ufactory_xarm7
board: {squares_x: 8, squares_y: 6, square_length: 0.03, marker_length: 0.022, dictionary: DICT_4X4_50}
cameras:
  camera0:
    serial: '135122071234'
    intrinsics: {width, height, fx, fy, cx, cy, distortion: [k1, k2, p1, p2, k3], model, source, rms_px, n_views, date}
    extrinsics: {frame: ee | base, mount, T: 4x4 rows, method, n_poses,
                 translation_spread_mm, rotation_spread_deg, target_pose: 4x4 rows, date}
    check: {mean_px, max_px, n_views, date}
"""

import hashlib
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml

from srpo.errors import UserFacingError

FORMAT = "srpo-calibration/1"


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole camera with OpenCV (Brown-Conrady) distortion, in pixels."""

    width: int  # image width the values refer to
    height: int  # image height the values refer to
    fx: float  # focal length along x, pixels
    fy: float  # focal length along y, pixels
    cx: float  # principal point x, pixels (OpenCV convention: pixel centres at integers)
    cy: float  # principal point y, pixels
    distortion: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)  # k1 k2 p1 p2 k3
    model: str = "opencv"  # distortion model the coefficients belong to
    source: str = "board"  # "board" (fitted here), "realsense_factory", or "file"
    rms_px: float | None = None  # RMS reprojection error of the fit, pixels (board only)
    n_views: int | None = None  # number of board views the fit used (board only)

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def dist(self) -> np.ndarray:
        return np.array(self.distortion, dtype=float)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["distortion"] = [float(v) for v in self.distortion]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Intrinsics":
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        fields["distortion"] = tuple(float(v) for v in d.get("distortion", ()))
        return cls(**fields)


def realsense_to_intrinsics(intr) -> Intrinsics:
    """Convert a pyrealsense2 `intrinsics` object (Brown-Conrady coefficients k1 k2 p1 p2 k3)."""
    return Intrinsics(
        width=int(intr.width),
        height=int(intr.height),
        fx=float(intr.fx),
        fy=float(intr.fy),
        cx=float(intr.ppx),
        cy=float(intr.ppy),
        distortion=tuple(float(c) for c in intr.coeffs),
        model=f"opencv (realsense {str(intr.model).split('.')[-1]})",
        source="realsense_factory",
    )


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _matrix(T: np.ndarray) -> list[list[float]]:
    return [[round(float(v), 9) for v in row] for row in np.asarray(T)]


def new_calibration(robot: str, board: dict) -> dict:
    return {"format": FORMAT, "date": now(), "robot": robot, "board": board, "cameras": {}}


def read_calibration(path: str | Path) -> dict:
    """The YAML as a dict, checked for the format tag."""
    path = Path(path)
    if not path.is_file():
        raise UserFacingError(
            f"calibration file {path} not found; create it with `srpo calib intrinsics` / `handeye`"
        )
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise UserFacingError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UserFacingError(f"{path} is not a calibration file (expected `format: {FORMAT}`)")
    doc.setdefault("cameras", {})
    return doc


def read_or_new(path: str | Path, robot: str, board: dict) -> dict:
    return read_calibration(path) if Path(path).is_file() else new_calibration(robot, board)


def write_calibration(path: str | Path, doc: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc["date"] = now()
    path.write_text(yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120))
    return path


def camera_entry(doc: dict, camera: str, serial: str | None = None) -> dict:
    entry = doc["cameras"].setdefault(camera, {})
    if serial is not None:
        entry["serial"] = str(serial)
    return entry


def set_intrinsics(doc: dict, camera: str, intrinsics: Intrinsics, serial: str | None = None) -> None:
    camera_entry(doc, camera, serial)["intrinsics"] = {**_plain(intrinsics.to_dict()), "date": now()}


def set_extrinsics(doc: dict, camera: str, result, serial: str | None = None) -> None:
    """Store a `HandEyeResult`."""
    camera_entry(doc, camera, serial)["extrinsics"] = {
        "frame": result.frame,
        "mount": result.mount,
        "T": _matrix(result.T),
        "method": result.method,
        "n_poses": result.n_poses,
        "translation_spread_mm": round(result.translation_spread_mm, 4),
        "rotation_spread_deg": round(result.rotation_spread_deg, 4),
        "target_pose": _matrix(result.target_pose),
        "date": now(),
    }


def set_check(doc: dict, camera: str, report) -> None:
    """Store a `CheckReport`."""
    camera_entry(doc, camera)["check"] = {**report.to_dict(), "date": now()}


def get_intrinsics(doc: dict, camera: str) -> Intrinsics:
    entry = doc["cameras"].get(camera, {})
    if "intrinsics" not in entry:
        raise UserFacingError(
            f"the calibration file has no intrinsics for {camera}; run `srpo calib intrinsics` first"
        )
    return Intrinsics.from_dict(entry["intrinsics"])


def get_extrinsics(doc: dict, camera: str) -> tuple[np.ndarray, str]:
    """(4x4 camera pose, mount) of `camera`."""
    entry = doc["cameras"].get(camera, {})
    if "extrinsics" not in entry:
        raise UserFacingError(
            f"the calibration file has no hand-eye result for {camera}; run `srpo calib handeye` first"
        )
    return np.array(entry["extrinsics"]["T"], dtype=float), entry["extrinsics"]["mount"]


@dataclass(frozen=True)
class RecorderCalibration:
    """What an episode store records from a calibration file."""

    store_attrs: dict  # goes to StoreConfig.calibration: file, sha256, date, robot, board, per-camera entries
    intrinsics: dict[str, dict]  # camera name -> CameraSpec.intrinsics
    extrinsics: dict[str, dict]  # camera name -> CameraSpec.extrinsics
    serials: dict[str, str]  # camera name -> serial recorded at calibration time

    def apply(self, cameras: tuple) -> tuple:
        """`CameraSpec`s with intrinsics/extrinsics filled in for every camera this file calibrates.

        A camera recorded at another size with the same aspect ratio (calibrated at 640x480, recorded at
        128x96: the frame is resized whole) gets the intrinsics scaled to the recorded size (`scale_intrinsics`).
        Raises a UserFacingError if a camera's serial or aspect ratio differs from the calibrated one.
        """
        out = []
        for cam in cameras:
            intr = self.intrinsics.get(cam.name)
            serial = self.serials.get(cam.name)
            if serial and cam.serial and str(cam.serial) != serial:
                raise UserFacingError(
                    f"{cam.name} is serial {cam.serial} but the calibration is for serial {serial}; recalibrate or "
                    "fix the camera order"
                )
            if intr:
                intr = scale_intrinsics(intr, cam.height, cam.width, cam.name)
            out.append(
                replace(
                    cam,
                    intrinsics=intr or cam.intrinsics,
                    extrinsics=self.extrinsics.get(cam.name, cam.extrinsics),
                )
            )
        return tuple(out)


def scale_intrinsics(intr: dict, height: int, width: int, camera: str = "camera") -> dict:
    """Intrinsics (a CameraSpec.intrinsics dict with width/height) for the same view resized to height x width.

    Resizing the whole frame by s scales focal lengths by s and moves the principal point with the pixel grid:
    c' = (c + 0.5) s - 0.5 (OpenCV: pixel centres at integers). Distortion acts on normalised coordinates and
    is unchanged. A different aspect ratio (beyond 1 %) means a crop or another sensor mode: refused."""
    w0, h0 = int(intr["width"]), int(intr["height"])
    if (w0, h0) == (width, height):
        return intr
    sx, sy = width / w0, height / h0
    if abs(sx / sy - 1.0) > 0.01:
        raise UserFacingError(
            f"{camera} records {width}x{height} but was calibrated at {w0}x{h0}, another aspect ratio; record at a "
            f"{w0}:{h0} size (camera_height/camera_width, --image-size) or calibrate at {width}x{height}"
        )
    return {**intr, "fx": intr["fx"] * sx, "fy": intr["fy"] * sy, "cx": (intr["cx"] + 0.5) * sx - 0.5,
            "cy": (intr["cy"] + 0.5) * sy - 0.5, "width": width, "height": height, "scaled_from": [w0, h0]}


def load_calibration(path: str | Path) -> RecorderCalibration:
    """Read a calibration YAML into what the recorder stores (StoreConfig.calibration and per-camera dicts)."""
    path = Path(path)
    doc = read_calibration(path)
    intrinsics, extrinsics, serials = {}, {}, {}
    for name, entry in doc["cameras"].items():
        if "intrinsics" in entry:
            i = entry["intrinsics"]
            intrinsics[name] = {
                k: i[k] for k in ("fx", "fy", "cx", "cy", "distortion", "model", "width", "height")
            }
            intrinsics[name].update(source=i.get("source"), rms_px=i.get("rms_px"))
        if "extrinsics" in entry:
            e = entry["extrinsics"]
            extrinsics[name] = {
                "frame": e["frame"],
                "T": e["T"],
                "mount": e["mount"],
                "method": e.get("method"),
            }
        if "serial" in entry:
            serials[name] = str(entry["serial"])
    store_attrs = {
        "file": str(path.resolve()),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        **{k: doc[k] for k in ("format", "date", "robot", "board") if k in doc},
        "cameras": doc["cameras"],
    }
    return RecorderCalibration(_plain(store_attrs), intrinsics, extrinsics, serials)


def _plain(value):
    """Plain Python types only (JSON/YAML safe): numpy scalars and tuples converted."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
