"""Framing of the xArm controller's TCP protocol, as xarm-python-sdk 1.18.4 speaks it.

Control port (502): a Modbus-TCP-like frame, big-endian header
    transaction id (u16) | protocol id (u16: 2, or 3 once the SDK keeps a heartbeat) | length (u16) | register
followed by the register's payload; the length counts the register byte and everything after it. A reply
repeats the header and register, then one status byte (0x40 the controller has an error, 0x20 a warning,
0x10 not ready to move, 0x08 the command was invalid) and the register's data. Floats are little-endian
fp32, integers big-endian unless noted (xarm/core/wrapper/uxbus_cmd_tcp.py, xarm/core/utils/bytes_data.py).
A frame whose register is 0xFF is an unsolicited feedback message (motion finished).

Report ports (30001 normal, 30002 rich, 30003 real-time): a stream of packets, each starting with its own
total length (u32, big-endian); field offsets follow the SDK's parser (xarm/x3/base.py, _handle_report_data).
"""

import struct
from dataclasses import dataclass

import numpy as np

HEADER = struct.Struct(">HHH")

STATUS_ERROR = 0x40
STATUS_WARN = 0x20
STATUS_NOT_READY = 0x10
STATUS_INVALID = 0x08

FEEDBACK_REGISTER = 0xFF
NORMAL_REPORT_LEN = 145
RICH_REPORT_LEN = 574
REAL_REPORT_LEN = 87


@dataclass
class Request:
    trans_id: int
    prot_id: int
    register: int
    payload: bytes


def split_frames(buffer: bytes) -> tuple[list[Request], bytes]:
    """Complete requests at the front of `buffer`, and the bytes left over."""
    requests = []
    while len(buffer) >= HEADER.size + 1:
        trans_id, prot_id, length = HEADER.unpack_from(buffer)
        end = HEADER.size + length
        if len(buffer) < end:
            break
        if length >= 1:  # a bare heartbeat frame has length 2 and register 0; the caller ignores register 0
            requests.append(Request(trans_id, prot_id, buffer[HEADER.size], bytes(buffer[HEADER.size + 1:end])))
        buffer = buffer[end:]
    return requests, buffer


def reply(request: Request, status: int, data: bytes = b"") -> bytes:
    return HEADER.pack(request.trans_id, request.prot_id, len(data) + 2) + bytes([request.register, status]) + data


def feedback(request: Request, feedback_type: int, code: int = 0) -> bytes:
    """The frame the SDK's feedback thread waits for: data[8] the feedback type, data[12] its result code."""
    body = bytes([FEEDBACK_REGISTER, 0, feedback_type, 0, 0, 0, code, 0])
    return HEADER.pack(request.trans_id, request.prot_id, len(body)) + body


def f32(*values) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def unpack_f32(data: bytes, count: int, offset: int = 0) -> list[float]:
    return list(struct.unpack_from(f"<{count}f", data, offset))


@dataclass
class ReportState:
    """What one report packet carries."""

    state: int
    mode: int
    angles: np.ndarray  # 7 joint angles, rad
    pose_rpy: np.ndarray  # x, y, z (mm), roll, pitch, yaw (rad)
    rotvec: np.ndarray  # tool orientation as an axis-angle vector, rad
    error: int
    warn: int
    enabled: bool
    collision_sensitivity: int
    reduced_mode: bool
    tcp_boundary: tuple[int, ...]  # [x_max, x_min, y_max, y_min, z_max, z_min] mm
    max_tcp_speed: float  # reduced-mode TCP speed limit, mm/s
    joint_limits: np.ndarray  # 7x2, rad
    tcp_speed: float  # mm/s


def _normal(s: ReportState, length: int) -> bytearray:
    out = bytearray(length)
    struct.pack_into(">I", out, 0, length)
    out[4] = (s.state & 0x0F) | ((s.mode & 0x0F) << 4)
    out[7:35] = f32(*s.angles)
    out[35:59] = f32(*s.pose_rpy)
    motors = 0xFF if s.enabled else 0x00
    out[87:91] = bytes([motors, motors, s.error, s.warn])
    out[131:133] = bytes([s.collision_sensitivity, 0])
    out[133:145] = f32(0.0, 0.0, -1.0)
    return out


def normal_report(s: ReportState) -> bytes:
    return bytes(_normal(s, NORMAL_REPORT_LEN))


def rich_report(s: ReportState) -> bytes:
    out = _normal(s, RICH_REPORT_LEN)
    out[145:151] = bytes([7, 7, 0, 0, 0, 0])  # arm type, axis count, board ids
    out[181:201] = f32(0.0, 0.0, 50000.0, 0.1, 1000.0)  # TCP jerk, acc min/max, speed min/max
    out[201:221] = f32(0.0, 0.0, 20.0, 0.01, 3.14)  # joint jerk, acc min/max, speed min/max
    out[245:252] = bytes([35] * 7)  # joint temperatures, deg C
    out[252:256] = f32(s.tcp_speed)
    out[341:355] = struct.pack(">7H", *([4800] * 7))  # joint voltages, 0.01 V
    out[482:494] = f32(*s.rotvec)
    out[494] = int(s.reduced_mode)
    out[495] = int(s.reduced_mode)
    out[496:508] = struct.pack(">6h", *s.tcp_boundary)
    out[508:512] = f32(s.max_tcp_speed)
    out[512:516] = f32(3.14)
    out[516:572] = f32(*np.asarray(s.joint_limits, dtype=np.float64).reshape(-1))
    return bytes(out)


def real_report(s: ReportState) -> bytes:
    out = bytearray(REAL_REPORT_LEN)
    struct.pack_into(">I", out, 0, REAL_REPORT_LEN)
    out[4] = (s.state & 0x0F) | ((s.mode & 0x0F) << 4)
    out[7:35] = f32(*s.angles)
    out[35:59] = f32(*s.pose_rpy)
    return bytes(out)
