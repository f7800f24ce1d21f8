"""`srpo calib`: print the board, calibrate intrinsics and hand-eye, check the result.

Each command's options are the fields of its config below; `--backend` is any registered robot backend
(srpo.robot.rig), as for `srpo robot record`. Imports here stay light; OpenCV, MuJoCo and the hardware SDKs
load inside the commands.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from calibration.board_spec import BoardSpec
from srpo.robot.cameras import CAPTURE_HEIGHT, CAPTURE_WIDTH
from srpo.robot.rig import BackendConfig, backend_config

DEFAULT_FILE = "calibration/files/calibration.yaml"

# the board's flat flags of the old command line (`--squares-x 8`) -> the nested board fields
BOARD_ALIASES = {name.replace("_", "-"): f"board.{name}"
                 for name in ("squares_x", "squares_y", "square_length", "marker_length", "dictionary")}


@dataclass(frozen=True)
class BoardCommandConfig:
    """Write the board image; print it at 100% scale and measure a square."""

    CLI_ALIASES: ClassVar[dict[str, str]] = BOARD_ALIASES

    board: BoardSpec = field(default_factory=BoardSpec)  # the board (must match the print)
    out: Path = Path("charuco_board.png")  # PNG to write
    dpi: int = 300  # print resolution the image is drawn for


@dataclass(frozen=True)
class CalibRigConfig:
    """The rig, the file and the capture plan shared by intrinsics, handeye and check."""

    CLI_ALIASES: ClassVar[dict[str, str]] = {**BOARD_ALIASES, "rig": "backend", "ip": "backend.ip"}
    CLI_REPLACED: ClassVar[dict[str, str]] = {
        "serial": "--backend.cameras \"{camera0: {type: srpo_realsense, serial_number_or_name: 'SERIAL'}}\""}

    backend: BackendConfig = field(default_factory=lambda: backend_config("sim"))  # a registered robot backend (as `srpo robot record --backend`): sim, a simulated rig (MuJoCo); xarm, the xArm + its cameras (--ip, --backend.cameras); yours, when its arm moves point to point
    mount: Literal["eye_in_hand", "eye_to_hand"] = "eye_in_hand"  # eye_in_hand: camera on the gripper, board fixed; eye_to_hand: camera fixed, board on the gripper
    file: Path = Path(DEFAULT_FILE)  # calibration YAML to read and update
    camera: str = "camera0"  # camera name in the file and in episode stores
    views: int = 20  # number of robot poses to capture
    images: Path | None = None  # folder for the annotated detection images (default: next to --file)
    robot: str = "ufactory_xarm7"  # robot model written into the file
    seed: int = 0  # seed for the pose plan
    board: BoardSpec = field(default_factory=BoardSpec)  # the board (must match the print)
    pivot_distance: float | None = None  # automatic poses rotate about a point this far along the gripper z axis, metres (default 0.4 eye_in_hand: where the camera looks; 0.08 eye_to_hand: the board on the gripper)
    max_angle: float = 25.0  # largest tilt of automatic poses, degrees
    width: int = CAPTURE_WIDTH  # image width (camera stream / sim render)
    height: int = CAPTURE_HEIGHT  # image height (camera stream / sim render)
    manual: bool = False  # --backend xarm: hand-guide the arm (teach mode) and press Enter per view


@dataclass(frozen=True)
class IntrinsicsCommandConfig(CalibRigConfig):
    """Camera intrinsics from the RealSense factory calibration (--source factory) or fitted to ChArUco views
    captured while the robot moves (--source board). Writes them into the calibration YAML."""

    source: Literal["board", "factory"] = "board"  # board: fit to views (sim or real); factory: the RealSense's stored values (real only)


@dataclass(frozen=True)
class HandEyeCommandConfig(CalibRigConfig):
    """Move the robot through board views and solve the camera pose with OpenCV calibrateHandEye: in the gripper
    frame for a wrist camera (eye_in_hand), in the base frame for a fixed camera (eye_to_hand)."""

    method: Literal["park", "tsai", "horaud", "andreff", "daniilidis"] = "park"  # OpenCV hand-eye method
    intrinsics: Literal["auto", "board", "factory", "file"] = "auto"  # from the calibration file (file), fitted to these views (board), the RealSense factory values (factory); auto = file if it has them, else board


@dataclass(frozen=True)
class CheckCommandConfig(CalibRigConfig):
    """Capture fresh views and predict the board corners from robot pose, hand-eye and intrinsics; reports
    mean/max pixel error and stores it in the file."""


# --- commands ---------------------------------------------------------------------------------------------
def board(args: BoardCommandConfig) -> int:
    """write the ChArUco board as a printable PNG"""
    import cv2
    from PIL import Image

    from calibration.board import board_image

    spec = _board(args)
    px_per_square = round(spec.square_length / 0.0254 * args.dpi)
    image = board_image(spec, px_per_square)
    margin = px_per_square // 2
    image = cv2.copyMakeBorder(image, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=255)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(
        args.out, dpi=(args.dpi, args.dpi)
    )  # the dpi tag makes "100%" print true to size
    w, h = spec.size
    print(
        f"wrote {args.out}: {w * 1000:.0f} x {h * 1000:.0f} mm at {args.dpi} dpi. Print at 100% (no fit-to-page), "
        "glue it flat to a rigid plate, measure a square and pass it as --square-length"
    )
    return 0


def intrinsics(args: IntrinsicsCommandConfig) -> int:
    """camera intrinsics: RealSense factory values or a ChArUco fit"""
    from calibration.capture import save_detection_images
    from calibration.intrinsics import calibrate_intrinsics
    from srpo.robot import calibration_file as io

    doc = io.read_or_new(args.file, args.robot, _board(args).to_dict())
    doc["board"] = _board(args).to_dict()  # the board of the latest capture
    if args.source == "factory":
        if _simulated(args):
            from srpo.errors import UserFacingError

            raise UserFacingError("--source factory reads a RealSense; in simulation use --source board")
        camera = _robot_camera(args, _robot(args))
        if not hasattr(camera, "factory_intrinsics"):
            from srpo.errors import UserFacingError

            raise UserFacingError(f"--source factory reads a RealSense; {args.camera} of backend {args.backend.name} "
                                  "is not one: use --source board")
        camera.connect()
        try:
            intr, serial = camera.factory_intrinsics(), camera.serial
        finally:
            camera.disconnect()
    else:
        rig, detector = _open_rig(args)
        try:
            captures = _capture(rig, detector, args)
            print(f"detections: {save_detection_images(captures, _image_dir(args, 'intrinsics'))}")
            serial = rig.camera_serial
            intr, _ = calibrate_intrinsics([c.detection for c in captures], _image_size(captures))
            _report_sim_intrinsics(rig, intr)
        finally:
            rig.close()
    io.set_intrinsics(doc, args.camera, intr, serial)
    io.write_calibration(args.file, doc)
    rms = (
        f", RMS reprojection error {intr.rms_px:.3f} px over {intr.n_views} views"
        if intr.rms_px is not None
        else ""
    )
    print(f"{args.camera}: fx {intr.fx:.2f} fy {intr.fy:.2f} cx {intr.cx:.2f} cy {intr.cy:.2f}{rms}")
    print(f"wrote {args.file}")
    return 0


def handeye(args: HandEyeCommandConfig) -> int:
    """hand-eye calibration (camera pose in the gripper or base frame)"""
    from calibration.capture import board_poses, require_found, save_detection_images
    from calibration.handeye import solve_handeye
    from calibration.intrinsics import calibrate_intrinsics
    from srpo.errors import UserFacingError
    from srpo.robot import calibration_file as io

    doc = io.read_or_new(args.file, args.robot, _board(args).to_dict())
    doc["board"] = _board(args).to_dict()  # the board of the latest capture
    has_file_intrinsics = "intrinsics" in doc["cameras"].get(args.camera, {})
    source = args.intrinsics if args.intrinsics != "auto" else ("file" if has_file_intrinsics else "board")
    if source == "factory" and _simulated(args):
        raise UserFacingError("--intrinsics factory reads a RealSense; in simulation use board or file")
    rig, detector = _open_rig(args)
    try:
        captures = _capture(rig, detector, args)
        print(f"detections: {save_detection_images(captures, _image_dir(args, 'handeye'))}")
        require_found(captures, 3)
        if source == "file":
            intr = io.get_intrinsics(doc, args.camera)
            if (intr.width, intr.height) != _image_size(captures):
                raise UserFacingError(
                    f"the file's intrinsics are for {intr.width}x{intr.height} images, these are "
                    f"{_image_size(captures)[0]}x{_image_size(captures)[1]}; pass matching --width/--height "
                    "or --intrinsics board"
                )
        elif source == "factory":
            intr = rig.camera.factory_intrinsics()
        else:
            intr, _ = calibrate_intrinsics([c.detection for c in captures], _image_size(captures))
        if source != "file":
            io.set_intrinsics(doc, args.camera, intr, rig.camera_serial)
        pairs = board_poses(captures, intr)
        result = solve_handeye(
            [c.T_base_ee for c, _ in pairs], [T for _, T in pairs], args.mount, args.method
        )
        if hasattr(rig, "true_camera_pose"):
            from calibration.geometry import pose_error

            dt, dr = pose_error(result.T, rig.true_camera_pose())
            print(f"simulation ground truth: camera pose error {dt * 1000:.2f} mm, {dr:.3f} deg")
        io.set_extrinsics(doc, args.camera, result, rig.camera_serial)
    finally:
        rig.close()
    io.write_calibration(args.file, doc)
    print(
        f"{args.camera} ({args.mount}, {args.method}, intrinsics: {source}): camera pose in the {result.frame} frame"
    )
    for row in result.T:
        print("  " + "  ".join(f"{v:+.5f}" for v in row))
    print(
        f"consistency over {result.n_poses} poses: {result.translation_spread_mm:.2f} mm, "
        f"{result.rotation_spread_deg:.3f} deg RMS"
    )
    print(f"wrote {args.file}")
    return 0


def check(args: CheckCommandConfig) -> int:
    """reproject the board with a calibration and report the pixel error"""
    from calibration.capture import save_detection_images
    from calibration.check import reprojection_check
    from srpo.errors import UserFacingError
    from srpo.robot import calibration_file as io

    doc = io.read_calibration(args.file)
    intr = io.get_intrinsics(doc, args.camera)
    T, mount = io.get_extrinsics(doc, args.camera)
    if mount != args.mount:
        raise UserFacingError(f"{args.camera} was calibrated {mount}; pass --mount {mount}")
    rig, detector = _open_rig(args)
    try:
        captures = _capture(rig, detector, args)
        save_detection_images(captures, _image_dir(args, "check"))  # kept if the check fails
        report = reprojection_check(captures, intr, T, mount)
        sheet = save_detection_images(captures, _image_dir(args, "check"), report.predicted)
    finally:
        rig.close()
    io.set_check(doc, args.camera, report)
    io.write_calibration(args.file, doc)
    print(f"detections (green) vs prediction (red): {sheet}")
    print(
        f"{args.camera}: reprojection error {report.mean_px:.3f} px mean, {report.max_px:.3f} px max "
        f"over {report.n_views} views"
    )
    return 0


# --- helpers ----------------------------------------------------------------------------------------------
def _board(args) -> BoardSpec:
    return args.board


def _image_size(captures) -> tuple[int, int]:
    height, width = captures[0].image.shape[:2]
    return width, height


def _image_dir(args, command: str) -> Path:
    return args.images or args.file.parent / f"{args.file.stem}_{args.camera}_{command}"


def _simulated(args) -> bool:
    """The sim backend: calibration has its own MuJoCo rig (a board in the scene) for it."""
    from srpo.robot.backends.sim import SimBackendConfig

    return isinstance(args.backend, SimBackendConfig)


def _robot(args):
    """The backend's robot (arm and cameras, not connected), its cameras at the calibration's image size."""
    import warnings

    from srpo.robot.rig import RigConfig, build_rig

    with warnings.catch_warnings():  # a streaming-rate advice (the xArm's servo mode); calibration moves point to point
        warnings.simplefilter("ignore")
        return build_rig(RigConfig(backend=args.backend, camera_height=args.height, camera_width=args.width))


def _robot_camera(args, robot):
    """The calibrated camera itself (a threaded wrapper's camera: calibration reads frames when the arm stopped)."""
    from srpo.errors import UserFacingError

    if args.camera not in robot.cameras:
        raise UserFacingError(f"--camera {args.camera}: backend {args.backend.name} has {', '.join(robot.cameras)}")
    camera = robot.cameras[args.camera]
    return getattr(camera, "camera", camera)


def _open_rig(args):
    from calibration.board import BoardDetector

    board = _board(args)
    if _simulated(args):
        from calibration.sim_rig import SimRig, SimRigConfig

        rig = SimRig(SimRigConfig(mount=args.mount, width=args.width, height=args.height, board=board))
    else:
        from calibration.hardware import POINT_TO_POINT, ArmCameraRig
        from srpo.errors import UserFacingError

        robot = _robot(args)
        missing = [name for name in POINT_TO_POINT if not hasattr(robot.arm, name)]
        if missing:
            raise UserFacingError(f"backend {args.backend.name}: its arm has no {', '.join(missing)}; calibration "
                                  "moves the arm point to point (docs/adding_a_robot.md)")
        rig = ArmCameraRig(robot.arm, _robot_camera(args, robot), args.mount)
    return rig, BoardDetector(board)


def _capture(rig, detector, args):
    import numpy as np

    from calibration.capture import capture_manual, capture_views, poses_around

    rng = np.random.default_rng(args.seed)
    if args.manual:
        if rig.is_simulated:
            from srpo.errors import UserFacingError

            raise UserFacingError("--manual hand-guides the real arm; the simulated rig moves automatically")
        rig.manual_mode()
        try:
            return capture_manual(rig, args.views, detector)
        finally:
            rig.position_mode()
    if rig.is_simulated:  # start where a user would: the board straight in front of the camera, 0.4 m away
        from calibration.geometry import make_T, rotation_about

        rig.move_to(rig.gripper_pose_for_view(make_T(rotation_about([1, 0, 0], np.pi), [0.0, 0.0, 0.4])))
    start = rig.eef_pose()
    pivot = (
        args.pivot_distance
        if args.pivot_distance is not None
        else (0.4 if args.mount == "eye_in_hand" else 0.08)
    )
    poses = poses_around(start, args.views, rng, pivot_distance=pivot, max_angle_deg=args.max_angle)
    try:
        return capture_views(rig, poses, detector)
    finally:
        rig.move_to(start)


def _report_sim_intrinsics(rig, intr) -> None:
    if hasattr(rig, "true_intrinsics"):
        true = rig.true_intrinsics()
        errs = ", ".join(f"{k} {100 * abs(getattr(intr, k) - v) / v:.3f}%" for k, v in true.items())
        print(f"simulation ground truth: {errs}")


COMMANDS = {"board": board, "intrinsics": intrinsics, "handeye": handeye, "check": check}
