"""The fake controller's state machine and motion: what the xArm 7 controller does with each command.

State and mode follow the real controller's rules as the SDK relies on them: a mode set with set_mode takes
effect at the next set_state(0); an error stops the arm (state 4), drops it back to mode 0 and stays until
clean_error, after which the arm must be enabled and started again; while an error is present every reply
carries the error bit, so a motion command returns HAS_ERROR. State 2 is "ready, not moving" and 1 "moving".

Motion is the project's MuJoCo xArm 7 (srpo/robot/sim): a servo target is followed at no more than the TCP
speed limit (the reduced-mode limit when reduced mode is on), through the simulated arm's IK and position
servos, so joint limits, reach and the gripper behave physically. Targets the controller would refuse fault
it with the controller's own codes: a jump longer than the servo step limit (C24, speed exceeds limit), a
target outside the reduced-mode boundary (C35), a target out of reach (C21, kinematic error).
"""

import struct
import threading
import time
from collections import deque
from dataclasses import dataclass

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from srpo.robot.fake_xarm import protocol as P
from srpo.robot.sim.arm import SimArm, SimArmConfig
from srpo.robot.sim.scene import GRIPPER_MAX_WIDTH

# registers (xarm/core/config/x_config.py, XCONF.UxbusReg)
GET_VERSION, GET_ROBOT_SN, MOTION_EN, SET_STATE, GET_STATE, GET_CMDNUM = 1, 2, 11, 12, 13, 14
GET_ERROR, CLEAN_ERR, CLEAN_WAR, SET_MODE, SET_COLLIS_SENS = 15, 16, 17, 19, 37
GET_TCP_POSE, GET_JOINT_POS, SET_REDUCED_TRSV, SET_REDUCED_MODE, SET_LIMIT_XYZ = 41, 42, 47, 50, 52
GET_TCP_POSE_AA, MOVE_SERVO_CART_AA, RS485_RTU, TGPIO_W16B, TGPIO_R16B = 91, 93, 124, 127, 128
FEEDBACK_CHECK, SET_FEEDBACK_TYPE = 253, 254
SETTINGS_ONLY = {10, 31, 32, 33, 34, 35, 36, 38, 39, 40, 48, 51, 56, 58, 59, 60, 70, 123}  # accepted, no effect here

# xArm Gripper over the tool RS485 bus (XCONF.ServoConf; host id 9, gripper id 8)
GRIPPER_EN, GRIPPER_MODE, GRIPPER_SPEED, GRIPPER_TARGET, GRIPPER_POS = 0x0100, 0x0101, 0x0303, 0x0700, 0x0702
GRIPPER_ERR, GRIPPER_RESET_ERR, MODBUS_BAUDRATE = 0x000F, 0x0109, 0x0A0B
GRIPPER_PULSE_OPEN = 850
BAUD_2M_INDEX = 11  # index of 2 000 000 in the SDK's BAUDRATES, the xArm Gripper's default

# controller error codes (xarm/core/config/x_code.py)
C_KINEMATIC, C_JOINT_LIMIT, C_SPEED, C_COLLISION, C_BOUNDARY = 21, 23, 24, 31, 35
C_ESTOP = 1
FAULTS = {"collision": C_COLLISION, "joint_limit": C_JOINT_LIMIT, "kinematic": C_KINEMATIC, "estop": C_ESTOP}


@dataclass(frozen=True)
class ControllerModel:
    """How the fake controller behaves (the real controller's documented or observed behaviour, as noted)."""

    version: str = "7,7,XI1303,AC1302,v2.3.0"  # what get_version answers: axis, type, arm SN, box SN, firmware
    tick_hz: float = 100.0  # motion updates per second (wall clock)
    servo_step_limit_mm: float = 10.0  # a servo target further than this from the last one faults C24
    max_tcp_speed_mm_s: float = 1000.0  # TCP speed limit outside reduced mode
    max_rot_speed_rad_s: float = 3.0  # orientation speed limit
    reach_tolerance_mm: float = 2.0  # an IK residual above this is out of reach (C21)
    task: str = "lift"  # the simulated scene's task (objects on the table)


class FakeController:
    """One simulated xArm 7 controller; thread-safe, driven by `handle()` (commands) and `tick()` (motion)."""

    def __init__(self, model: ControllerModel = ControllerModel()):
        self.model = model
        self.arm = SimArm(SimArmConfig(task=model.task, control_rate_hz=model.tick_hz))
        self.arm.connect()
        m = self.arm.model
        self._fk = mujoco.MjData(m)  # reachability checks work here, never on the simulated state
        joints = [m.joint(f"joint{i}") for i in range(1, 8)]
        self._qadr = np.array([j.qposadr[0] for j in joints])
        self._dadr = np.array([j.dofadr[0] for j in joints])
        self._lo, self._hi = np.array([j.range for j in joints]).T
        self._tcp = m.site("tcp").id
        self.lock = threading.RLock()
        self.state, self.mode, self.pending_mode = 4, 0, 0
        self.enabled = False
        self.error = self.warn = 0
        self.estop = False  # the emergency stop button is pressed in
        self.collision_sensitivity = 3
        self.reduced_mode = False
        self.reduced_speed = 250.0
        self.tcp_boundary = (700, -700, 700, -700, 967, -433)  # mm, [x_max, x_min, y_max, y_min, z_max, z_min]
        self.target: tuple[np.ndarray, Rotation] | None = None  # servo target, m / rotation
        self._last_servo: np.ndarray | None = None
        self._q_ref = self.arm.data.qpos[self._qadr].copy()
        self.gripper = {"enabled": False, "mode": 0, "speed": 1500, "target": GRIPPER_PULSE_OPEN, "error": 0}
        self._gripper_cmd = float(GRIPPER_PULSE_OPEN)
        self.tcp_speed = 0.0
        self.log: deque[tuple[str, tuple]] = deque(maxlen=10000)  # accepted commands, for tests and dry runs

    # --- what the arm reads back ------------------------------------------------------------------------
    def pose_mm_rotvec(self) -> np.ndarray:
        obs = self.arm.get_observation()
        return np.concatenate([obs["robot0_eef_pos"].astype(np.float64) * 1000.0,
                               obs["robot0_eef_rot_axis_angle"].astype(np.float64)])

    def pose_mm_rpy(self) -> np.ndarray:
        pose = self.pose_mm_rotvec()
        return np.concatenate([pose[:3], Rotation.from_rotvec(pose[3:]).as_euler("xyz")])

    def joints(self) -> np.ndarray:
        return self.arm.get_observation()["robot0_joint_pos"].astype(np.float64)

    def gripper_pulse(self) -> int:
        width = float(self.arm.get_observation()["robot0_gripper_width"][0])
        return int(round(width / GRIPPER_MAX_WIDTH * GRIPPER_PULSE_OPEN))

    def report_state(self) -> P.ReportState:
        with self.lock:
            pose = self.pose_mm_rotvec()
            return P.ReportState(
                state=self.state, mode=self.mode, angles=self.joints(),
                pose_rpy=np.concatenate([pose[:3], Rotation.from_rotvec(pose[3:]).as_euler("xyz")]),
                rotvec=pose[3:], error=self.error, warn=self.warn, enabled=self.enabled,
                collision_sensitivity=self.collision_sensitivity, reduced_mode=self.reduced_mode,
                tcp_boundary=tuple(int(v) for v in self.tcp_boundary), max_tcp_speed=self.reduced_speed,
                joint_limits=np.stack([self._lo, self._hi], axis=1), tcp_speed=self.tcp_speed)

    # --- faults -------------------------------------------------------------------------------------------
    def fault(self, code: int) -> None:
        """The controller stops on an error: state 4, back to mode 0, the servo target dropped."""
        with self.lock:
            self.error = code
            self.state, self.mode, self.pending_mode = 4, 0, 0
            self.target = None
            self._last_servo = None

    def inject(self, name: str) -> None:
        """Raise one of FAULTS as if the arm had hit it; "estop" holds until release_estop()."""
        self.fault(FAULTS[name])
        if name == "estop":
            self.estop = True

    def release_estop(self) -> None:
        """The emergency stop button is pulled out again: clean_error can now clear C1."""
        with self.lock:
            self.estop = False

    # --- commands -----------------------------------------------------------------------------------------
    def _status(self) -> int:
        status = 0
        if self.error:
            status |= P.STATUS_ERROR
        if self.warn:
            status |= P.STATUS_WARN
        if self.state >= 4 or not self.enabled:
            status |= P.STATUS_NOT_READY
        return status

    def handle(self, req: P.Request) -> list[bytes]:
        """The reply frames (and any feedback frame) to one request."""
        with self.lock:
            data, invalid, extra = self._dispatch(req)
            status = self._status() | (P.STATUS_INVALID if invalid else 0)
            return [P.reply(req, status, data), *extra]

    def _dispatch(self, req: P.Request) -> tuple[bytes, bool, list[bytes]]:
        reg, pay = req.register, req.payload
        if reg == GET_VERSION:
            return self.model.version.encode().ljust(40, b"\0"), False, []
        if reg == GET_ROBOT_SN:
            parts = self.model.version.split(",")
            return f"{parts[2]}\0{parts[3]}".encode().ljust(40, b"\0"), False, []
        if reg == GET_STATE:
            return bytes([self.state]), False, []
        if reg == GET_CMDNUM:
            return struct.pack(">H", 0), False, []
        if reg == GET_ERROR:
            return bytes([self.error, self.warn]), False, []
        if reg == GET_JOINT_POS:
            count = (pay[0] & 0x0F) if pay else 1
            values = list(self.joints()) + [0.0] * (7 * (count - 1))
            return P.f32(*values), False, []
        if reg == GET_TCP_POSE:
            return P.f32(*self.pose_mm_rpy()), False, []
        if reg == GET_TCP_POSE_AA:
            return P.f32(*self.pose_mm_rotvec()), False, []
        if reg == MOVE_SERVO_CART_AA:
            return b"", not self._servo(pay), []
        if reg == RS485_RTU:
            return self._rs485(pay), False, []
        if reg == TGPIO_R16B:
            addr = struct.unpack_from(">H", pay, 1)[0]
            return struct.pack(">i", BAUD_2M_INDEX if addr == MODBUS_BAUDRATE else 0), False, []
        if reg == FEEDBACK_CHECK:  # nothing queued in servo streaming: every task is already finished
            return b"", False, [P.feedback(req, feedback_type=2)]
        return b"", not self._setting(reg, pay), []

    def _setting(self, reg: int, pay: bytes) -> bool:
        """Commands without data in the reply; False when the controller refuses (invalid)."""
        if reg == MOTION_EN:
            self.enabled = bool(pay[1])
            if not self.enabled:
                self.state = 4
        elif reg == SET_STATE:
            if pay[0] == 0:
                if self.error or not self.enabled:
                    return True  # the reply's status bits tell the SDK why nothing happened
                self.mode, self.state = self.pending_mode, 2
                self.target, self._last_servo = None, None
            elif pay[0] in (3, 4):
                self.state = pay[0]
                self.target, self._last_servo = None, None
            else:
                return False
        elif reg == SET_MODE:
            if pay[0] not in (0, 1, 2, 4, 5, 6, 7):
                return False
            self.pending_mode = pay[0]
        elif reg == CLEAN_ERR:
            if not (self.estop and self.error == C_ESTOP):  # a pressed emergency stop cannot be cleared
                self.error = 0
        elif reg == CLEAN_WAR:
            self.warn = 0
        elif reg == SET_COLLIS_SENS:
            self.collision_sensitivity = pay[0]
        elif reg == SET_REDUCED_MODE:
            self.reduced_mode = bool(pay[0])
        elif reg == SET_REDUCED_TRSV:
            self.reduced_speed = P.unpack_f32(pay, 1)[0]
        elif reg == SET_LIMIT_XYZ:
            self.tcp_boundary = struct.unpack("<6i", pay[:24])
        elif reg in (SET_FEEDBACK_TYPE, TGPIO_W16B) or reg in SETTINGS_ONLY:
            pass
        else:
            return False
        self.log.append((reg, tuple(pay)))
        return True

    def _servo(self, pay: bytes) -> bool:
        """set_servo_cartesian_aa: [x, y, z (mm), rx, ry, rz (rad), speed, acc] fp32, tool_coord s32, relative u8."""
        values = P.unpack_f32(pay, 8)
        tool_coord, relative = struct.unpack_from("<i", pay, 32)[0], pay[36]
        if self.error or self.state >= 4 or not self.enabled:
            return True  # status bits: error / not ready
        if self.mode != 1 or tool_coord:
            return False
        pose = np.asarray(values[:6], dtype=np.float64)
        if relative:
            base = self._last_servo if self._last_servo is not None else self.pose_mm_rotvec()
            pose = np.concatenate([base[:3] + pose[:3],
                                   (Rotation.from_rotvec(pose[3:]) * Rotation.from_rotvec(base[3:])).as_rotvec()])
        reference = self._last_servo if self._last_servo is not None else self.pose_mm_rotvec()
        if np.linalg.norm(pose[:3] - reference[:3]) > self.model.servo_step_limit_mm:
            self.fault(C_SPEED)
            return True
        if self.reduced_mode and not self._inside_boundary(pose[:3]):
            self.fault(C_BOUNDARY)
            return True
        if not self._reachable(pose[:3] / 1000.0, Rotation.from_rotvec(pose[3:])):
            self.fault(C_KINEMATIC)
            return True
        self._last_servo = pose
        self.target = (pose[:3] / 1000.0, Rotation.from_rotvec(pose[3:]))
        self.log.append((MOVE_SERVO_CART_AA, tuple(pose)))
        return True

    def _inside_boundary(self, p_mm: np.ndarray) -> bool:
        x_max, x_min, y_max, y_min, z_max, z_min = self.tcp_boundary
        return x_min <= p_mm[0] <= x_max and y_min <= p_mm[1] <= y_max and z_min <= p_mm[2] <= z_max

    def _reachable(self, pos: np.ndarray, rot: Rotation) -> bool:
        """IK (warm-started from the last reachable solution) lands within reach_tolerance_mm of the target."""
        q = self._ik(self._q_ref, pos, rot)
        err_mm = np.linalg.norm(self._fk.site_xpos[self._tcp] - pos) * 1000.0
        if err_mm <= self.model.reach_tolerance_mm:
            self._q_ref = q
            return True
        return False

    def _ik(self, q0: np.ndarray, pos: np.ndarray, rot: Rotation, iters: int = 20) -> np.ndarray:
        """Damped least squares from q0 within the joint limits; leaves the kinematics of the result in _fk."""
        m, s = self.arm.model, self._fk
        q = q0.copy()
        jacp, jacr = np.zeros((3, m.nv)), np.zeros((3, m.nv))
        for _ in range(iters):
            s.qpos[self._qadr] = q
            mujoco.mj_kinematics(m, s)
            mujoco.mj_comPos(m, s)
            err_r = (rot * Rotation.from_matrix(s.site_xmat[self._tcp].reshape(3, 3)).inv()).as_rotvec()
            err = np.concatenate([pos - s.site_xpos[self._tcp], err_r])
            if np.linalg.norm(err[:3]) < 1e-5 and np.linalg.norm(err_r) < 1e-4:
                break
            mujoco.mj_jacSite(m, s, jacp, jacr, self._tcp)
            jac = np.vstack([jacp[:, self._dadr], jacr[:, self._dadr]])
            q = np.clip(q + jac.T @ np.linalg.solve(jac @ jac.T + 0.05**2 * np.eye(6), err), self._lo, self._hi)
        s.qpos[self._qadr] = q
        mujoco.mj_kinematics(m, s)
        return q

    def _rs485(self, pay: bytes) -> bytes:
        """Modbus RTU to the xArm Gripper: [host id, slave id, function, ...] -> [host id, slave reply]."""
        host, slave, func = pay[0], pay[1], pay[2]
        addr = struct.unpack_from(">H", pay, 3)[0]
        if func == 0x10:  # write registers: count, byte count, values
            count = struct.unpack_from(">H", pay, 5)[0]
            values = pay[8:8 + 2 * count]
            self._gripper_write(addr, values)
            return bytes([host, slave, func]) + pay[3:7]
        if func == 0x03:  # read registers
            count = struct.unpack_from(">H", pay, 5)[0]
            if addr == GRIPPER_POS:
                value = struct.pack(">i", self.gripper_pulse())
            elif addr == GRIPPER_ERR:
                value = struct.pack(">H", self.gripper["error"])
            else:
                value = bytes(2 * count)
            return bytes([host, slave, func, len(value)]) + value
        return bytes([host, slave, func | 0x80, 1])  # Modbus exception: illegal function

    def _gripper_write(self, addr: int, values: bytes) -> None:
        g = self.gripper
        if addr == GRIPPER_EN:
            g["enabled"] = bool(struct.unpack(">H", values[:2])[0])
        elif addr == GRIPPER_MODE:
            g["mode"] = struct.unpack(">H", values[:2])[0]
        elif addr == GRIPPER_SPEED:
            g["speed"] = struct.unpack(">H", values[:2])[0]
        elif addr == GRIPPER_TARGET and g["enabled"]:
            g["target"] = int(np.clip(struct.unpack(">i", values[:4])[0], 0, GRIPPER_PULSE_OPEN))
        elif addr == GRIPPER_RESET_ERR:
            g["error"] = 0
        self.log.append((RS485_RTU, (addr, bytes(values))))

    # --- motion -------------------------------------------------------------------------------------------
    def tick(self) -> None:
        """One control period: move toward the servo target within the speed limits, step the physics."""
        dt = 1.0 / self.model.tick_hz
        with self.lock:
            g = self.gripper
            step = g["speed"] * dt
            self._gripper_cmd += float(np.clip(g["target"] - self._gripper_cmd, -step, step))
            closure = 1.0 - self._gripper_cmd / GRIPPER_PULSE_OPEN
            action = np.zeros(7)
            action[6] = closure
            moving = False
            if self.target is not None and self.mode == 1 and self.state in (1, 2):
                pos, rot = self.target
                limit = (self.reduced_speed if self.reduced_mode else self.model.max_tcp_speed_mm_s) / 1000.0
                dp = pos - self.arm.target_pos
                dist = float(np.linalg.norm(dp))
                if dist > limit * dt:
                    dp *= limit * dt / dist
                drot = (rot * self.arm.target_rot.inv()).as_rotvec()
                angle = float(np.linalg.norm(drot))
                if angle > self.model.max_rot_speed_rad_s * dt:
                    drot *= self.model.max_rot_speed_rad_s * dt / angle
                action[:3], action[3:6] = dp, drot
                moving = dist > 1e-4 or angle > 1e-3
                self.tcp_speed = float(np.linalg.norm(dp)) / dt * 1000.0
            else:
                self.tcp_speed = 0.0
            self.arm.send_action(action)
            if self.state in (1, 2):
                self.state = 1 if moving else 2

    def run(self, stop: threading.Event) -> None:
        """Tick on the wall clock until `stop` is set."""
        period = 1.0 / self.model.tick_hz
        next_tick = time.monotonic()
        while not stop.is_set():
            self.tick()
            next_tick += period
            delay = next_tick - time.monotonic()
            if delay > 0:
                stop.wait(delay)
            else:
                next_tick = time.monotonic()
