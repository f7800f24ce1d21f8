"""The hard 100 Hz loop: tick jitter and dropped frames with two 640x480 camera streams and the store writing.

The recorder's real-time loop (srpo/robot/realtime.py pacing, BackgroundWriter) drives an arm while two
camera threads deliver 640x480 frames at 30 Hz and every tick's frames go into a Zarr store. The camera
frames are MuJoCo renders of the scene made once before the run and replayed (a copy per frame, as a
driver hands one over), so rendering does not load the machine the way a RealSense would not. Reports
jitter p50/p99/max (|tick interval - period|), overruns, dropped frames (captured, never paired with a
tick), the scheduler the control thread got, and the load average around the run.

    MUJOCO_GL=egl PYTHONPATH=. .venv/bin/python benchmarks/control_loop.py --seconds 20 --cores 2
    ... --arm fake-xarm   # the xArm backend through the SDK against the fake controller in its own process
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


def make_arm(kind: str, rate: float):
    if kind == "sim":
        arm = SimArm(SimArmConfig(control_rate_hz=rate))
        return arm, None
    from srpo.robot.xarm_backend import XArmBackend, XArmConfig

    host, port = "127.0.77.77", 5020
    proc = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "srpo.robot.fake_xarm.server", "--host", host,
                             "--control-port", str(port), "--max-lifetime-s", "600"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdout.readline()  # the banner: listening
    return XArmBackend(XArmConfig(ip=host, control_port=port, control_rate_hz=rate)), proc


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
    times = np.asarray(result.tick_times)
    jitter = np.abs(np.diff(times) - 1.0 / rate) * 1000
    drops = {}
    for name, indices in result.frame_indices.items():
        captured = max(indices) - min(indices) + 1
        drops[name] = captured - len(set(indices))
    return {"status": result.status, "reason": result.reason, "steps": result.steps,
            **tick_stats(result.tick_times, rate), "jitter_max_ms": float(jitter.max()),
            "overruns": int(np.sum(np.diff(times) > 1.5 / rate)), "dropped": drops,
            "load": (load_before, load_after), "store_steps": store_steps(out)}


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
    args = parser.parse_args()
    if args.no_fifo:
        import functools

        from srpo.robot import realtime

        realtime.realtime_section = functools.partial(realtime.realtime_section, fifo_priority=0)
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
            res = run(args.seconds, args.rate, args.fps, tuple(args.size), args.arm, Path(tmp) / "bench.zarr")
    finally:
        for proc in burners:
            proc.terminate()
            proc.wait(10)
    print(f"{args.arm}: {res['steps']} ticks at {args.rate:.0f} Hz ({res['status']} {res['reason']}), "
          f"{res['store_steps']} steps in the store, two {args.size[1]}x{args.size[0]} cameras at {args.fps:.0f} Hz")
    print(f"  achieved {res['rate_hz']:.2f} Hz; jitter p50 {res['jitter_p50_ms']:.3f} ms, p99 "
          f"{res['jitter_p99_ms']:.3f} ms, max {res['jitter_max_ms']:.2f} ms; overruns {res['overruns']}; "
          f"dropped frames {res['dropped']}")
    print(f"  load average (1 min) before {res['load'][0]:.2f}, after {res['load'][1]:.2f}")


if __name__ == "__main__":
    main()
