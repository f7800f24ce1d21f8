"""The real xArm 7 through UFACTORY's xarm-python-sdk (`XArmAPI`), behind the Arm interface.

connect(): clear errors and warnings, enable motion, apply the controller's own safety settings (collision
sensitivity, reduced mode with a TCP speed limit and a TCP boundary box), enter servo mode (mode 1) and
enable the gripper. send_action() integrates the action onto the commanded tool pose and streams it with
set_servo_cartesian_aa; servo mode wants this at a steady 100-250 Hz in small steps (the safety filter's
step limit keeps them small). Every SDK return code is checked; a non-zero code or a controller error
becomes an XArmError naming the SDK's own description and what to do. disconnect() stops the arm.

One blocking SDK call per tick: the servo command. The arm's state comes from the SDK's real-time report
(report_type "real", controller port 30003: joint angles and the tool pose as x, y, z, roll, pitch, yaw, which
`srpo robot fake-xarm` serves at 100 Hz), kept by the SDK's report thread; get_observation uses the newest report
while it is younger than `report_max_age_s` and reads the controller (get_servo_angle, get_position_aa) when
it is not. The gripper (its RS485 bus is slow) is read and commanded by a thread of its own at `gripper_hz`; the
SDK serialises commands on one socket, so a gripper call in flight can delay that tick's servo command by one
gripper round trip, at most `gripper_hz` times a second.
"""

import threading
import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from srpo.errors import UserFacingError
from srpo.robot.arm import ACTION_DIM, Arm, ArmError
from srpo.robot.safety import XARM7_REACH, XARM7_SHOULDER

GRIPPER_PULSE_OPEN = 850  # xArm Gripper position when fully open (pulses)
GRIPPER_MAX_WIDTH = 0.085  # m between the fingers at GRIPPER_PULSE_OPEN


class XArmError(ArmError):
    """The xArm controller or SDK reported a problem."""


@dataclass(frozen=True)
class XArmConfig:
    """Connection and controller-side safety settings of a real xArm 7."""

    ip: str = "192.168.1.185"  # controller IP address
    control_rate_hz: float = 100.0  # servo stream rate the caller keeps (100-250 Hz recommended)
    collision_sensitivity: int = 3  # 0 (off) .. 5 (most sensitive)
    max_tcp_speed_mm_s: float = 250.0  # reduced-mode TCP speed limit
    tcp_boundary_mm: tuple[float, float, float, float, float, float] = (680, 200, 400, -400, 550, 5)
    # ^ reduced-mode box [x_max, x_min, y_max, y_min, z_max, z_min] in mm, base frame; no face past the reach
    use_gripper: bool = True  # drive the xArm Gripper
    gripper_speed: int = 3000  # gripper speed (pulses/s)
    gripper_deadband: float = 0.02  # closure change below which no new gripper command is sent
    control_port: int = 502  # the controller's command port; another only for the fake one (srpo robot fake-xarm)
    report_max_age_s: float = 0.05  # newest real-time report older than this: read the state from the controller
    gripper_hz: float = 10.0  # the gripper thread's rate: one width read (and a command when it changed) per cycle

    def __post_init__(self):
        # a face past the reach never trips: the arm faults on IK (C21) before its TCP gets there
        x_max, x_min, y_max, y_min, z_max, z_min = self.tcp_boundary_mm
        reach_mm, shoulder_mm = XARM7_REACH * 1000, XARM7_SHOULDER[2] * 1000
        if max(x_max, -x_min, y_max, -y_min, z_max - shoulder_mm, shoulder_mm - z_min) > reach_mm:
            raise UserFacingError(
                f"tcp_boundary_mm {self.tcp_boundary_mm} has a face past the xArm 7's reach ({reach_mm:.0f} mm "
                f"from the shoulder at z={shoulder_mm:.0f} mm); bring it inside, e.g. x_max <= {reach_mm - 20:.0f}")
        if x_max <= x_min or y_max <= y_min or z_max <= z_min:
            raise UserFacingError(f"tcp_boundary_mm {self.tcp_boundary_mm} is empty: order is "
                                  "[x_max, x_min, y_max, y_min, z_max, z_min]")


def _sdk_module(name: str):
    """Import an xarm-python-sdk module quietly (the SDK prints its version and has invalid escapes)."""
    import contextlib
    import importlib
    import io
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return importlib.import_module(name)


def _use_control_port(port: int) -> None:
    """Point the SDK at this command port; it reads XCONF.SocketConf (process-wide) when it connects. The
    report ports stay 30001-30003: the SDK only parses reports arriving on those numbers."""
    _sdk_module("xarm.core.config.x_config").XCONF.SocketConf.TCP_CONTROL_PORT = port


def _api_code_name(code: int) -> str:
    try:
        APIState = _sdk_module("xarm.x3.code").APIState
    except ImportError:
        return f"code {code}"
    names = {v: k for k, v in vars(APIState).items() if k.isupper() and isinstance(v, int)}
    return f"{names.get(code, 'UNKNOWN')} ({code})"


def _controller_error_text(error: int, warn: int) -> str:
    try:
        codes = _sdk_module("xarm.core.config.x_code")
        ControllerError, ControllerWarn = codes.ControllerError, codes.ControllerWarn
    except ImportError:
        return f"controller error {error}, warn {warn}"
    parts = []
    if error:
        info = ControllerError(error)
        parts.append(f"controller error C{error}: {info.title['en']}. {info.description['en']}".strip())
    if warn:
        parts.append(f"controller warning W{warn}: {ControllerWarn(warn).title['en']}")
    return "; ".join(parts)


class XArmBackend(Arm):
    """A real xArm 7 (7 joints, xArm Gripper). `api_factory(ip)` returns an XArmAPI (tests pass a double)."""

    name = "xarm"

    def __init__(self, config: XArmConfig = XArmConfig(), api_factory=None):
        self.config = config
        self._factory = api_factory
        self.api = None
        self.target_pos = np.zeros(3)  # commanded tool position, m
        self.target_rot = Rotation.identity()
        self._gripper_sent: float | None = None
        self._report: tuple[float, list, list] | None = None  # (monotonic s, joints rad, [x,y,z mm, r,p,y rad])
        self.report_reads = 0  # observations taken from the report stream
        self.blocking_reads = 0  # observations read from the controller (no fresh report)
        self._gripper_target: float | None = None  # closure the gripper thread sends
        self._gripper_width = np.nan  # m, the gripper thread's last reading
        self._gripper_error: BaseException | None = None
        self._gripper_stop = threading.Event()
        self._gripper_read = threading.Event()  # the gripper thread has read the width once
        self._gripper_thread: threading.Thread | None = None

    @property
    def is_connected(self) -> bool:
        return self.api is not None and bool(getattr(self.api, "connected", False))

    def _check(self, code, what: str) -> None:
        code = code[0] if isinstance(code, tuple | list) else code
        if code == 0:
            return
        detail = ""
        if self.api is not None and code not in (-1, 3):  # no point asking a controller that does not answer
            # the SDK's cached error_code lags (it follows the report stream): ask the controller itself
            error, warn = self._read_error_state()
            if error or warn:
                detail = "; " + _controller_error_text(error, warn)
        hint = {-1: "check the network cable and the controller IP",
                3: "no reply from the controller within 2 s: check the network cable and that it is powered",
                -2: "the arm is not enabled: connect() again",
                1: "clear it in UFactory Studio or restart the episode (connect() clears errors)",
                -9: "release the emergency stop and reconnect"}.get(code, "see the xArm API code table")
        raise XArmError(f"xArm {what} failed: {_api_code_name(code)}{detail}; {hint}")

    def connect(self) -> None:
        c = self.config
        if self._factory is None:
            try:
                XArmAPI = _sdk_module("xarm.wrapper").XArmAPI
            except ImportError as err:
                raise XArmError("the xarm backend needs xarm-python-sdk: pip install 'srpo[robot]'") from err
            self._factory = lambda ip: XArmAPI(ip, is_radian=True, report_type="real")
            _use_control_port(c.control_port)
        try:
            self.api = self._factory(c.ip)
        except Exception as err:  # noqa: BLE001 - the SDK raises a bare Exception when the socket fails
            raise XArmError(f"could not reach the xArm controller at {c.ip} ({err}); check the IP and the "
                            "network") from err
        api = self.api
        if not getattr(api, "connected", False):
            raise XArmError(f"could not reach the xArm controller at {c.ip}; check the IP and the network")
        api.clean_warn()
        api.clean_error()
        self._check(api.motion_enable(enable=True), "motion_enable")
        self._check(api.set_collision_sensitivity(c.collision_sensitivity), "set_collision_sensitivity")
        self._check(api.set_reduced_max_tcp_speed(c.max_tcp_speed_mm_s), "set_reduced_max_tcp_speed")
        self._check(api.set_reduced_tcp_boundary(list(c.tcp_boundary_mm)), "set_reduced_tcp_boundary")
        self._check(api.set_reduced_mode(True), "set_reduced_mode")
        self._check(api.set_mode(1), "set_mode(1) (servo mode)")
        self._check(api.set_state(0), "set_state(0)")
        self._raise_on_fault(fresh=True)  # refresh the SDK's cache, else the first read sees the cleared error
        if c.use_gripper:
            self._check(api.set_gripper_mode(0), "set_gripper_mode")
            self._check(api.set_gripper_enable(True), "set_gripper_enable")
            self._check(api.set_gripper_speed(c.gripper_speed), "set_gripper_speed")
        code, pose = api.get_position_aa(is_radian=True)
        self._check(code, "get_position_aa")
        self.target_pos = np.asarray(pose[:3], dtype=np.float64) / 1000.0
        self.target_rot = Rotation.from_rotvec(pose[3:6])
        self._gripper_sent = self._gripper_target = None
        if hasattr(api, "register_report_location_callback"):
            api.register_report_location_callback(self._on_report, report_cartesian=True, report_joints=True)
        if c.use_gripper:
            self._gripper_width, self._gripper_error = np.nan, None
            self._gripper_read.clear()
            self._gripper_stop.clear()
            self._gripper_thread = threading.Thread(target=self._gripper_loop, daemon=True, name="xarm-gripper")
            self._gripper_thread.start()

    def _on_report(self, report: dict) -> None:
        """The SDK's report thread: every real-time report's joints and pose (radians: is_radian)."""
        self._report = (time.monotonic(), report["joints"], report["cartesian"])

    def _read_gripper(self) -> float:
        code, pulse = self.api.get_gripper_position()
        self._check(code, "get_gripper_position")
        return float(pulse) / GRIPPER_PULSE_OPEN * GRIPPER_MAX_WIDTH

    def _gripper_loop(self) -> None:
        """Off the control thread: send the newest closure when it changed, read the width, gripper_hz times a second."""
        period = 1.0 / self.config.gripper_hz
        while True:
            api = self.api
            if api is None:
                return
            try:
                target = self._gripper_target
                if target is not None and (self._gripper_sent is None
                                           or abs(target - self._gripper_sent) > self.config.gripper_deadband):
                    self._check(api.set_gripper_position((1.0 - target) * GRIPPER_PULSE_OPEN, wait=False),
                                "set_gripper_position")
                    self._gripper_sent = target
                self._gripper_width = self._read_gripper()
            except Exception as err:  # noqa: BLE001 - raised in the control thread by the next read or command
                self._gripper_error = err
                return
            finally:
                self._gripper_read.set()
            if self._gripper_stop.wait(period):
                return

    def _read_error_state(self) -> tuple[int, int]:
        """(error, warn) straight from the controller (get_err_warn_code), the cached report values if that fails."""
        code, pair = self.api.get_err_warn_code()
        if code == 0:
            return int(pair[0]), int(pair[1])
        return getattr(self.api, "error_code", 0), getattr(self.api, "warn_code", 0)

    def _raise_on_fault(self, fresh: bool = False) -> None:
        error, warn = getattr(self.api, "error_code", 0), getattr(self.api, "warn_code", 0)
        if fresh or error:  # confirm a cached error: the cache lags a clean_error by up to a report period
            error, warn = self._read_error_state()
        if error:
            raise XArmError(_controller_error_text(error, warn) + "; the arm stopped: clear the cause, then reconnect")

    def get_observation(self) -> dict[str, np.ndarray | float]:
        if self.api is None:
            raise XArmError("xArm is not connected; call connect() first")
        self._raise_on_fault()
        report = self._report
        if report is not None and time.monotonic() - report[0] <= self.config.report_max_age_s:
            _, angles, pose_rpy = report
            rotvec = Rotation.from_matrix(rpy_to_matrix(*pose_rpy[3:6])).as_rotvec()
            pos_mm = pose_rpy[:3]
            self.report_reads += 1
        else:  # no report stream (a double, report off) or a stalled one: ask the controller
            code, angles = self.api.get_servo_angle(is_radian=True)
            self._check(code, "get_servo_angle")
            code, pose = self.api.get_position_aa(is_radian=True)
            self._check(code, "get_position_aa")
            pos_mm, rotvec = pose[:3], pose[3:6]
            self.blocking_reads += 1
        width = self._gripper_now() if self.config.use_gripper else np.nan
        return {
            "robot0_joint_pos": np.asarray(angles[:7], dtype=np.float32),
            "robot0_eef_pos": (np.asarray(pos_mm, dtype=np.float64) / 1000.0).astype(np.float32),
            "robot0_eef_rot_axis_angle": np.asarray(rotvec, dtype=np.float32),
            "robot0_gripper_width": np.array([width], dtype=np.float32),
            "robot_timestamp": time.time(),
        }

    def _gripper_now(self) -> float:
        """The gripper thread's newest width (read in the caller when there is no thread: a point-to-point user)."""
        if self._gripper_thread is None:
            return self._read_gripper()
        self._gripper_read.wait(2.0)  # the first reading, right after connect
        if self._gripper_error is not None:
            raise XArmError(f"the gripper failed: {self._gripper_error}") from self._gripper_error
        return self._gripper_width

    def send_action(self, action: np.ndarray) -> np.ndarray:
        if self.api is None:
            raise XArmError("xArm is not connected; call connect() first")
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (ACTION_DIM,) or not np.all(np.isfinite(action)):
            raise XArmError(f"refusing a non-finite or mis-shaped action {action!r}")
        self._raise_on_fault()
        self.target_pos = self.target_pos + action[:3]
        self.target_rot = Rotation.from_rotvec(action[3:6]) * self.target_rot
        pose = [*(self.target_pos * 1000.0), *self.target_rot.as_rotvec()]
        self._check(self.api.set_servo_cartesian_aa(pose, is_radian=True), "set_servo_cartesian_aa")
        if self.config.use_gripper:
            self._gripper_now()  # a gripper fault surfaces here too
            self._gripper_target = float(np.clip(action[6], 0.0, 1.0))  # the gripper thread sends it
        return action.astype(np.float32)

    def disconnect(self) -> None:
        """Stop motion (state 4), leave servo mode, close the connection. Safe to call twice."""
        api, self.api = self.api, None
        if api is None:
            return
        self._gripper_stop.set()
        if self._gripper_thread is not None:
            self._gripper_thread.join(2.0)
            self._gripper_thread = None
        try:
            api.set_state(4)
            api.set_mode(0)
            api.set_state(0)
        finally:
            api.disconnect()

    # --- point-to-point moves (calibration): position mode, poses as 4x4 matrices in metres ----------------
    def position_mode(self) -> None:
        """Leave servo streaming for position mode (mode 0), where move_to_pose plans each move itself."""
        self._check(self.api.set_mode(0), "set_mode(0) (position mode)")
        self._check(self.api.set_state(0), "set_state(0)")

    def manual_mode(self) -> None:
        """Hand-guiding (teach) mode (mode 2): the user moves the arm by hand."""
        self._check(self.api.set_mode(2), "set_mode(2) (manual mode)")
        self._check(self.api.set_state(0), "set_state(0)")

    def read_pose(self) -> np.ndarray:
        """The tool pose in the base frame as a 4x4 matrix (metres)."""
        code, pose = self.api.get_position(is_radian=True)
        self._check(code, "get_position")
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = rpy_to_matrix(*pose[3:6]), np.asarray(pose[:3], dtype=np.float64) / 1000.0
        return T

    def move_to_pose(self, T_base_ee: np.ndarray, speed_mm_s: float = 60.0) -> None:
        """Move (position mode) to a 4x4 tool pose in the base frame and return when the controller has arrived."""
        x, y, z = np.asarray(T_base_ee)[:3, 3] * 1000.0
        roll, pitch, yaw = matrix_to_rpy(np.asarray(T_base_ee)[:3, :3])
        code = self.api.set_position(x, y, z, roll, pitch, yaw, speed=speed_mm_s, is_radian=True, wait=True)
        if code != 0:
            raise XArmError(f"xArm refused or failed the move ({_api_code_name(code)}); the pose may be out of reach "
                            "or in collision. Start from a pose with more room, or lower --max-angle")
        self.target_pos = np.asarray(T_base_ee)[:3, 3].astype(np.float64)
        self.target_rot = Rotation.from_matrix(np.asarray(T_base_ee)[:3, :3])


def rpy_to_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """xArm's orientation convention: R = Rz(yaw) Ry(pitch) Rx(roll), radians."""
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ])


def matrix_to_rpy(R: np.ndarray) -> tuple[float, float, float]:
    """Inverse of rpy_to_matrix (roll, pitch, yaw in radians)."""
    pitch = float(np.arcsin(-np.clip(R[2, 0], -1.0, 1.0)))
    return float(np.arctan2(R[2, 1], R[2, 2])), pitch, float(np.arctan2(R[1, 0], R[0, 0]))
