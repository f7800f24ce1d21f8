"""The hard 100 Hz loop: tick jitter and dropped frames with two 640x480 camera streams and the store writing.

The recorder's real-time loop (srpo/robot/realtime.py pacing, BackgroundWriter) drives an arm while two
camera threads deliver 640x480 frames at 30 Hz and every tick's frames go into a Zarr store. The camera
frames are MuJoCo renders of the scene made once before the run and replayed (a copy per frame, as a
driver hands one over), so rendering does not load the machine the way a RealSense would not. Reports
jitter p50/p99/max (|tick interval - period|), overruns, dropped frames (captured, never paired with a
tick), the scheduler the control thread got, and the load average around the run.

    MUJOCO_GL=egl PYTHONPATH=. .venv/bin/python benchmarks/control_loop.py --seconds 20 --cores 2
    ... --arm fake-xarm   # the xArm backend through the SDK against the fake controller in its own process
    ... --ros             # the same fake xArm twice: `srpo robot record`'s loop, then the ROS robot node on real
                          # rclpy (its control thread; two 320x240 video streams through OpenCV, as the dry run)
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from srpo.robot.cameras import Camera, Frame, SimCamera, ThreadedCamera
from srpo.robot.recorder import EpisodeRecorder, LoopConfig, tick_stats
from srpo.robot.runner import open_store
from srpo.robot.safety import SafetyFilter
from srpo.robot.sim.arm import SimArm, SimArmConfig

sys.path.insert(0, str(Path(__file__).parent))
from recorder_loop import CircleTeleop  # noqa: E402  (the same motion as the recorder benchmark)


class ReplayCamera(Camera):
    """Benchmark double of a RealSense: pre-rendered frames handed out as fresh copies at the caller's pace."""

    def __init__(self, frames: list[np.ndarray]):
        self.frames = frames
        self.height, self.width = frames[0].shape[:2]
        self.count = 0

    def connect(self) -> None:
        pass

    def read(self) -> Frame:
        self.count += 1
        rgb = self.frames[self.count % len(self.frames)].copy()
        now = time.monotonic()
        return Frame(rgb=rgb, timestamp=time.time(), received=now, index=self.count)

    def disconnect(self) -> None:
        pass


def replay_frames(size: tuple[int, int], n: int = 6) -> list[list[np.ndarray]]:
    """n renders per camera ("front", "wrist") of the scene while the arm moves a little."""
    arm = SimArm(SimArmConfig(camera_height=size[0], camera_width=size[1]))
    arm.connect()
    cams = [SimCamera(arm, name) for name in ("front", "wrist")]
    out: list[list[np.ndarray]] = [[], []]
    for _ in range(n):
        for _ in range(5):
            arm.send_action(np.array([0.004, 0.003, 0, 0, 0, 0, 0.0]))
        for i, cam in enumerate(cams):
            out[i].append(cam.read().rgb.copy())
    for cam in cams:
        cam.disconnect()
    return out


FAKE_HOST, FAKE_PORT = "127.0.77.77", 5020


FAKE_FIFO = 45  # the fake's SCHED_FIFO priority: a controller of its own (see serve_fake_xarm); 0 with --no-fifo


def start_fake_xarm() -> subprocess.Popen:
    """`srpo robot fake-xarm` in a process of its own."""
    proc = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "srpo.robot.fake_xarm.server", "--host", FAKE_HOST,
                             "--control-port", str(FAKE_PORT), "--max-lifetime-s", "600",
                             "--fifo-priority", str(FAKE_FIFO)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdout.readline()  # the banner: listening
    return proc


def make_arm(kind: str, rate: float):
    if kind == "sim":
        arm = SimArm(SimArmConfig(control_rate_hz=rate))
        return arm, None
    from srpo.robot.xarm_backend import XArmBackend, XArmConfig

    proc = start_fake_xarm()
    return XArmBackend(XArmConfig(ip=FAKE_HOST, control_port=FAKE_PORT, control_rate_hz=rate)), proc


def run(seconds: float, rate: float, fps: float, size: tuple[int, int], kind: str, out: Path) -> dict:
    frames = replay_frames(size)
    arm, proc = make_arm(kind, rate)
    try:
        arm.connect()
        cams = {f"camera{i}": ThreadedCamera(ReplayCamera(f), fps=fps) for i, f in enumerate(frames)}
        for cam in cams.values():
            cam.connect()
        store = open_store(out, cams, rate)
        rec = EpisodeRecorder(arm, cams, SafetyFilter(control_rate_hz=rate), store,
                              LoopConfig(control_rate_hz=rate, max_steps=int(seconds * rate), realtime=True))
        load_before = os.getloadavg()[0]
        result = rec.run_episode("benchmark circles", CircleTeleop(rate), "sim")
        load_after = os.getloadavg()[0]
        for cam in cams.values():
            cam.disconnect()
        arm.disconnect()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    return summary(result, rate, (load_before, load_after), out)


def summary(result, rate: float, load: tuple[float, float], out: Path) -> dict:
    times = np.asarray(result.tick_times)
    jitter = np.abs(np.diff(times) - 1.0 / rate) * 1000
    drops = {}
    for name, indices in result.frame_indices.items():
        captured = max(indices) - min(indices) + 1
        drops[name] = captured - len(set(indices))
    return {"status": result.status, "reason": result.reason, "steps": result.steps,
            **tick_stats(result.tick_times, rate), "jitter_max_ms": float(jitter.max()),
            "overruns": int(np.sum(np.diff(times) > 1.5 / rate)), "dropped": drops,
            "load": load, "store_steps": store_steps(out)}


def write_videos(frames: list[list[np.ndarray]], fps: float, seconds: float, folder: Path) -> list[str]:
    """One MJPG video per camera, the renders cycled for `seconds` + 30 s (the dry run's camera feeds)."""
    import cv2

    paths = []
    for i, renders in enumerate(frames):
        path = folder / f"camera{i}.avi"
        h, w = renders[0].shape[:2]
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        for k in range(int((seconds + 30) * fps)):
            writer.write(cv2.cvtColor(renders[k % len(renders)], cv2.COLOR_RGB2BGR))
        writer.release()
        paths.append(str(path))
    return paths


def run_ros(seconds: float, rate: float, fps: float, size: tuple[int, int], out: Path) -> dict:
    """The ROS robot node (recorder_node, real rclpy) on the fake xArm: its control thread records one episode of
    `seconds` while rclpy's executor spins in this thread, serving a teleop node that answers every arm state
    with a circle command (what teleop_node does, here in the same process)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float32MultiArray

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "robot_ws" / "src" / "srpo_ros"))
    from srpo_ros import msgs
    from srpo_ros.recorder_node import RecorderNode

    videos = write_videos(replay_frames(size), fps, seconds, out.parent)
    proc = start_fake_xarm()
    params = {"backend.type": "xarm", "backend.ip": FAKE_HOST, "backend.control_port": FAKE_PORT,
              "control_rate_hz": rate, "max_steps": int(seconds * rate), "out": str(out), "camera_height": size[0],
              "camera_width": size[1], "source": "topic", "episodes": 1, "task": "benchmark circles",
              **{f"backend.cameras.camera{i}.{k}": v for i, video in enumerate(videos)
                 for k, v in (("type", "srpo_opencv"), ("index_or_path", video))}}
    rclpy.init(args=["--ros-args", *[x for k, v in params.items() for x in ("-p", f"{k}:={v}")]])
    try:
        teleop, circle = Node("teleop_node"), CircleTeleop(rate)
        pub = teleop.create_publisher(Float32MultiArray, "arm/command", 10)
        teleop.create_subscription(JointState, msgs.JOINT_STATES,
                                   lambda m: pub.publish(msgs.action(circle.act({}))), msgs.STATE_QOS)
        robot = RecorderNode()
        executor = SingleThreadedExecutor()
        executor.add_node(robot)
        executor.add_node(teleop)
        load_before = os.getloadavg()[0]
        deadline = time.monotonic() + seconds + 60
        while robot.service.last is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        load_after = os.getloadavg()[0]
        result = robot.service.last
        reads = (robot.rig.arm.report_reads, robot.rig.arm.blocking_reads)
        executor.shutdown()
        robot.destroy_node()
        teleop.destroy_node()
    finally:
        rclpy.try_shutdown()
        proc.terminate()
        proc.wait(10)
    if result is None:
        raise RuntimeError("the robot node recorded no episode")
    return {**summary(result, rate, (load_before, load_after), out), "reads": reads}


def report(title: str, res: dict, args) -> None:
    print(f"{title}: {res['steps']} ticks at {args.rate:.0f} Hz ({res['status']} {res['reason']}), "
          f"{res['store_steps']} steps in the store, two {args.size[1]}x{args.size[0]} cameras at {args.fps:.0f} Hz")
    print(f"  achieved {res['rate_hz']:.2f} Hz; jitter p50 {res['jitter_p50_ms']:.3f} ms, p99 "
          f"{res['jitter_p99_ms']:.3f} ms, max {res['jitter_max_ms']:.2f} ms; overruns {res['overruns']}; "
          f"dropped frames {res['dropped']}")
    if "reads" in res:
        print(f"  arm state from the real-time report {res['reads'][0]} times, from the controller {res['reads'][1]}")
    print(f"  load average (1 min) before {res['load'][0]:.2f}, after {res['load'][1]:.2f}")


def store_steps(path: Path) -> int:
    """Steps the store holds after the run (every tick must have been written)."""
    from srpo.store import EpisodeStore

    return sum(e.length for e in EpisodeStore.open(path).episodes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the recorded episode")
    parser.add_argument("--rate", type=float, default=100.0, help="control rate (Hz)")
    parser.add_argument("--fps", type=float, default=30.0, help="camera rate (Hz)")
    parser.add_argument("--size", type=int, nargs=2, default=(480, 640), help="camera image H W")
    parser.add_argument("--arm", choices=("sim", "fake-xarm"), default="sim",
                        help="sim: MuJoCo arm in the loop; fake-xarm: the xArm backend via the SDK, fake in a process")
    parser.add_argument("--cores", type=int, default=2, help="pin the process to this many cores (0: no pin)")
    parser.add_argument("--load", type=int, default=0, help="also run this many busy-loop processes (a loaded box)")
    parser.add_argument("--no-fifo", action="store_true", help="do not ask for SCHED_FIFO (as a non-root user)")
    parser.add_argument("--ros", action="store_true",
                        help="fake xArm: `srpo robot record`'s loop, then the ROS robot node on real rclpy (--arm ignored)")
    args = parser.parse_args()
    if args.no_fifo:
        import functools

        from srpo.robot import realtime

        realtime.realtime_section = functools.partial(realtime.realtime_section, fifo_priority=0)
        global FAKE_FIFO
        FAKE_FIFO = 0
    if args.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    from srpo.robot.realtime import realtime_section

    with realtime_section(fifo_priority=0 if args.no_fifo else 50) as probe:
        fifo = probe.fifo
    print(f"cores {len(os.sched_getaffinity(0))}, SCHED_FIFO for the control thread: {'yes' if fifo else 'no'}, "
          f"extra busy processes: {args.load}")
    burners = [subprocess.Popen([sys.executable, "-c", f"import time\nend = time.time() + {args.seconds + 60}\n"
                                 "while time.time() < end: pass"]) for _ in range(args.load)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.ros:
                res = run(args.seconds, args.rate, args.fps, tuple(args.size), "fake-xarm", Path(tmp) / "cli.zarr")
                report("srpo robot record loop, fake-xarm", res, args)
                res = run_ros(args.seconds, args.rate, args.fps, tuple(args.size), Path(tmp) / "ros.zarr")
                report("ROS robot node (real rclpy), fake-xarm", res, args)
            else:
                res = run(args.seconds, args.rate, args.fps, tuple(args.size), args.arm, Path(tmp) / "bench.zarr")
                report(args.arm, res, args)
    finally:
        for proc in burners:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
