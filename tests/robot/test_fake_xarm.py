"""The xArm backend through the unmodified xarm-python-sdk against the fake controller (srpo.robot.fake_xarm):
the SDK's own TCP protocol, threads and caches, a MuJoCo xArm 7 behind them. No arm here."""

import random
import time

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from srpo.robot.cameras import SimCamera, ThreadedCamera
from srpo.robot.fake_xarm.controller import MOVE_SERVO_CART_AA, RS485_RTU
from srpo.robot.recorder import EpisodeRecorder, LoopConfig
from srpo.robot.runner import open_store
from srpo.robot.safety import SafetyConfig, SafetyFilter
from srpo.robot.teleop import Teleop
from srpo.robot.xarm_backend import XArmBackend, XArmConfig, XArmError
from srpo.store import EpisodeStore

pytest.importorskip("xarm")

RATE = 50.0


@pytest.fixture
def arm(fake):
    backend = XArmBackend(XArmConfig(ip=fake.config.host, control_port=fake.ports["control"], control_rate_hz=RATE))
    backend.connect()
    yield backend
    backend.disconnect()


class Push(Teleop):
    """Test double of an operator: a constant step, gripper closing after `close_after` ticks."""

    def __init__(self, step=(0.002, 0.0, 0.0), close_after=10**9):
        self.step, self.close_after, self.t = np.asarray(step), close_after, 0

    def act(self, obs):
        self.t += 1
        return np.array([*self.step, 0, 0, 0, float(self.t > self.close_after)])


@pytest.fixture
def cameras(fake):
    """The fake's MuJoCo scene seen by a threaded camera, as a RealSense would be used."""
    cam = ThreadedCamera(SimCamera(fake.controller.arm, "front", 32, 32), fps=30)
    cam.connect()
    yield {"camera0": cam}
    cam.disconnect()


def _recorder(arm, cameras, store, safety=SafetyConfig(), max_steps=60):
    return EpisodeRecorder(arm, cameras, SafetyFilter(safety, control_rate_hz=RATE), store,
                           LoopConfig(control_rate_hz=RATE, max_steps=max_steps, realtime=True))


def test_connect_applies_the_safety_settings_then_servo_mode(fake, arm):
    log = list(fake.controller.log)
    registers = [reg for reg, _ in log]
    # clean warn/error, enable, collision sensitivity, reduced speed, boundary, reduced mode, mode 1, start
    order = [17, 16, 11, 37, 47, 52, 50, 19]
    firsts = [registers.index(r) for r in order]
    assert firsts == sorted(firsts) and registers[firsts[-1] + 1] == 12  # set_state(0) right after set_mode
    assert fake.controller.tcp_boundary == (680, 200, 400, -400, 550, 5)  # the controller got the reach-safe box
    assert fake.controller.reduced_mode and fake.controller.reduced_speed == pytest.approx(250.0)
    assert fake.controller.collision_sensitivity == 3
    assert (fake.controller.mode, fake.controller.state) == (1, 2)  # servo mode, ready
    assert fake.controller.gripper["enabled"] and fake.controller.gripper["speed"] == 3000
    pose = fake.controller.pose_mm_rotvec()
    np.testing.assert_allclose(arm.target_pos, pose[:3] / 1000.0, atol=1e-5)


def test_stream_moves_the_arm_and_reads_agree(fake, arm):
    start = arm.get_observation()
    for _ in range(40):  # 40 x 2 mm along +x, then the gripper closes
        arm.send_action(np.array([0.002, 0.0, 0.0, 0, 0, 0, 0.0]))
        time.sleep(1 / RATE)
    arm.send_action(np.array([0, 0, 0, 0, 0, 0, 1.0]))
    time.sleep(0.8)
    end = arm.get_observation()
    moved = end["robot0_eef_pos"] - start["robot0_eef_pos"]
    assert moved[0] == pytest.approx(0.08, abs=0.005) and abs(moved[1]) < 0.003 and abs(moved[2]) < 0.005
    np.testing.assert_allclose(end["robot0_eef_pos"], fake.controller.pose_mm_rotvec()[:3] / 1000, atol=2e-3)
    assert np.abs(end["robot0_joint_pos"] - start["robot0_joint_pos"]).max() > 0.05  # joints really moved
    assert end["robot0_gripper_width"][0] < 0.01 < start["robot0_gripper_width"][0]  # fingers closed in physics
    servo = [args for reg, args in fake.controller.log if reg == MOVE_SERVO_CART_AA]
    assert len(servo) == 41 and np.diff(np.array(servo)[:40, 0]).max() == pytest.approx(2.0, abs=1e-3)  # mm
    assert sum(reg == RS485_RTU and args[0] == 0x0700 for reg, args in fake.controller.log) == 2  # open, close


def test_collision_mid_episode_aborts_with_the_controllers_text(tmp_path, fake, arm, cameras):
    store = open_store(tmp_path / "s.zarr", cameras, RATE)
    rec = _recorder(arm, cameras, store)
    ok = rec.run_episode("push", Push(), "teleop")
    assert ok.status == "complete" and ok.steps == 60
    rec.start("push", Push(), "teleop")
    for _ in range(10):
        assert rec.tick()
    fake.inject("collision")
    steps = 10
    while rec.tick():
        steps += 1
        assert steps < 40
    result = rec.finish()
    assert result.status == "aborted" and "C31" in result.reason and "Collision" in result.reason
    infos = EpisodeStore.open(tmp_path / "s.zarr").episodes()
    assert [e.status for e in infos] == ["complete", "aborted"] and infos[0].length == 60
    assert "C31" in (infos[1].note or "") and infos[1].length >= 10
    # the arm stopped where it was: the controller dropped the target (state 4, mode 0)
    assert (fake.controller.state, fake.controller.mode) == (4, 0)


def test_refused_servo_names_the_fault_before_the_report_catches_up(fake, arm):
    """The SDK's cached error is 0 for up to 200 ms after the fault: the refusal itself names C23."""
    fake.inject("joint_limit")
    with pytest.raises(XArmError, match="C23"):
        arm.send_action(np.array([0.001, 0, 0, 0, 0, 0, 0]))


def test_reconnect_then_record_at_once(tmp_path, fake, arm, cameras):
    fake.inject("collision")
    time.sleep(0.5)  # the report stream has carried C31 to the SDK's cache
    with pytest.raises(XArmError, match="C31"):
        arm.get_observation()
    arm.connect()  # a new session clears the error; the SDK's cache still says C31 until the next report
    store = open_store(tmp_path / "s.zarr", cameras, RATE)
    rec = _recorder(arm, cameras, store, max_steps=20)
    result = rec.run_episode("push", Push(), "teleop")
    assert result.status == "complete" and result.steps == 20, result.reason


def test_reach_holds_at_the_margin_where_the_box_alone_faults(fake, arm, cameras):
    """Pushing +x at full speed: the box allows x = 0.75 m, the arm ends near 0.67 m at this height (C21)."""
    rec = _recorder(arm, cameras, None, max_steps=150)
    held = rec.run_episode("push", Push(step=(0.02, 0, 0.0007)), "teleop")
    assert held.status == "complete", held.reason
    assert "reach" in rec.safety.last_report.clamped and fake.controller.error == 0
    x = arm.get_observation()["robot0_eef_pos"][0]
    assert 0.6 < x < 0.67
    arm.connect()
    box_only = SafetyConfig(reach_radius=10.0)  # the old filter: the workspace box and nothing else
    rec = _recorder(arm, cameras, None, safety=box_only, max_steps=150)
    faulted = rec.run_episode("push", Push(step=(0.02, 0, 0.0007)), "teleop")
    assert faulted.status == "aborted" and "C21" in faulted.reason


def test_lost_connection_aborts_and_reconnect_works(tmp_path, fake, arm, cameras):
    store = open_store(tmp_path / "s.zarr", cameras, RATE)
    rec = _recorder(arm, cameras, store)
    rec.start("push", Push(), "teleop")
    for _ in range(5):
        assert rec.tick()
    fake.inject("drop", down_s=4.0)
    deadline = time.monotonic() + 4.0
    while rec.tick():
        assert time.monotonic() < deadline
        time.sleep(1 / RATE)
    result = rec.finish()
    # the SDK notices a dead socket only when a reply times out: RES_TIMEOUT first, NOT_CONNECTED after
    assert result.status == "aborted" and ("RES_TIMEOUT" in result.reason or "NOT_CONNECTED" in result.reason)
    assert "network cable" in result.reason
    with pytest.raises(XArmError, match="could not reach"):
        arm.connect()  # the controller is still down
    time.sleep(max(0.0, deadline - time.monotonic()) + 0.6)  # the controller is back (ports reopen within 0.2 s)
    arm.connect()
    assert arm.get_observation()["robot0_eef_pos"].shape == (3,)
    assert [e.status for e in EpisodeStore.open(tmp_path / "s.zarr").episodes()] == ["aborted"]


def test_rotation_steps_compose_in_the_base_frame(fake, arm):
    start = Rotation.from_rotvec(fake.controller.pose_mm_rotvec()[3:])
    for _ in range(5):
        arm.send_action(np.array([0, 0, 0, 0, 0, 0.01, 0.0]))  # 5 x 0.01 rad about base z
    sent = Rotation.from_rotvec(np.array([a for r, a in fake.controller.log if r == MOVE_SERVO_CART_AA][-1][3:6]))
    expected = Rotation.from_euler("z", 0.05) * start  # applied on the left: base frame
    assert (sent * expected.inv()).magnitude() < 1e-5
    time.sleep(0.5)
    reached = Rotation.from_rotvec(fake.controller.pose_mm_rotvec()[3:])
    assert (reached * expected.inv()).magnitude() < 2e-3  # the simulated arm turned there
    with pytest.raises(XArmError, match="non-finite"):
        arm.send_action(np.array([np.nan] * 7))


def test_disconnect_stops_the_arm(fake, arm):
    arm.disconnect()
    arm.disconnect()  # safe twice
    tail = [(reg, args[:1]) for reg, args in fake.controller.log][-3:]
    assert tail == [(12, (4,)), (19, (0,)), (12, (0,))]  # stop, position mode, ready
    assert (fake.controller.state, fake.controller.mode, fake.controller.target) == (2, 0, None)
    assert not arm.is_connected


def test_pressed_emergency_stop_fails_connect_with_its_text(fake, arm):
    fake.inject("estop")
    with pytest.raises(XArmError, match="C1:.*Emergency Stop"):
        arm.connect()  # clean_error cannot clear it: connect() reads the error back and refuses
    fake.controller.release_estop()
    arm.connect()
    assert arm.get_observation()["robot0_eef_pos"].shape == (3,)


def test_entry_point_serves_then_stops_by_itself(capsys):
    from srpo.errors import UserFacingError
    from srpo.robot.fake_xarm.server import main

    host = f"127.0.{random.randint(1, 250)}.{random.randint(1, 250)}"
    start = time.monotonic()
    assert main(["--host", host, "--control-port", "0", "--max-lifetime-s", "0.5"]) == 0
    assert time.monotonic() - start < 5.0
    assert f"--xarm-ip {host}" in capsys.readouterr().out
    with pytest.raises(UserFacingError, match="loopback"):
        main(["--host", "10.1.2.3"])


def test_fifo_priority_puts_the_served_process_on_sched_fifo():
    """--fifo-priority: the fake's process (a subprocess here, so the test runner keeps its own scheduler) runs
    SCHED_FIFO at that priority where the OS allows it, and says so plainly where it does not."""
    import os
    import subprocess
    import sys

    host = f"127.0.{random.randint(1, 250)}.{random.randint(1, 250)}"
    proc = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "srpo.robot.fake_xarm.server", "--host", host,
                             "--control-port", "0", "--max-lifetime-s", "20", "--fifo-priority", "7"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "--xarm-ip" in proc.stdout.readline()  # serving
        policy, priority = os.sched_getscheduler(proc.pid), os.sched_getparam(proc.pid).sched_priority
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    try:  # can this user ask for SCHED_FIFO at all?
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        allowed = True
    except PermissionError:
        allowed = False
    if allowed:
        assert (policy, priority) == (os.SCHED_FIFO, 7)
    else:
        assert policy == os.SCHED_OTHER and "no SCHED_FIFO" in err


def test_state_comes_from_the_real_time_report_and_the_gripper_off_the_control_thread(arm, fake):
    """Through the SDK's real-time report (100 Hz from the fake): a tick's observation costs no round trip and
    agrees with what the controller answers when asked; the gripper width comes from the gripper thread."""
    reads = arm.blocking_reads
    for _ in range(20):
        obs = arm.get_observation()
        time.sleep(0.01)
    assert arm.report_reads >= 18 and arm.blocking_reads - reads <= 2  # a loaded box may stall a report or two
    code, pose = arm.api.get_position_aa(is_radian=True)
    code2, angles = arm.api.get_servo_angle(is_radian=True)
    assert code == code2 == 0
    np.testing.assert_allclose(obs["robot0_eef_pos"], np.asarray(pose[:3]) / 1000, atol=1e-3)
    np.testing.assert_allclose(Rotation.from_rotvec(obs["robot0_eef_rot_axis_angle"]).as_matrix(),
                               Rotation.from_rotvec(pose[3:6]).as_matrix(), atol=1e-3)  # rpy -> axis-angle
    np.testing.assert_allclose(obs["robot0_joint_pos"], angles[:7], atol=1e-3)
    assert obs["robot0_gripper_width"][0] == pytest.approx(0.085, abs=0.002)  # open, read by the gripper thread
    servo = sum(1 for reg, _ in fake.controller.log if reg == MOVE_SERVO_CART_AA)
    for _ in range(10):
        arm.send_action(np.array([0.001, 0, 0, 0, 0, 0, 1.0]))  # closing: the gripper thread sends it
        time.sleep(0.01)
    assert sum(1 for reg, _ in fake.controller.log if reg == MOVE_SERVO_CART_AA) - servo == 10
    deadline = time.monotonic() + 5
    while arm.get_observation()["robot0_gripper_width"][0] > 0.04 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert arm.get_observation()["robot0_gripper_width"][0] < 0.04  # closed, as the thread read it back
