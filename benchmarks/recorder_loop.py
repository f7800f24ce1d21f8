"""Recorder loop on the simulated xArm: 2 cameras at 30 Hz (own threads), control at 100 Hz, writing a store.

Reports achieved control and camera rates against their targets (the baseline: the rates asked for), tick
jitter p50/p99, overruns, dropped frames (captured but never paired with a tick), and the simulated arm's
speed (control ticks/s and physics steps/s, and their real-time factor) with no cameras.

    MUJOCO_GL=egl PYTHONPATH=. .venv/bin/python benchmarks/recorder_loop.py --seconds 10 --cores 2
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from srpo.robot.cameras import SimCamera, ThreadedCamera
from srpo.robot.recorder import EpisodeRecorder, LoopConfig, tick_stats
from srpo.robot.runner import open_store
from srpo.robot.safety import SafetyFilter
from srpo.robot.sim.arm import SimArm, SimArmConfig
from srpo.robot.teleop import Teleop


class CircleTeleop(Teleop):
    """Benchmark source: the tool draws slow 4 cm circles for as long as the loop runs."""

    def __init__(self, rate_hz: float):
        self.rate, self.t = rate_hz, 0

    def act(self, obs):
        self.t += 1
        phase = 2 * np.pi * 0.5 * self.t / self.rate
        speed = 2 * np.pi * 0.5 * 0.02 / self.rate  # 2 cm radius at 0.5 Hz, metres per tick
        return np.array([-np.sin(phase) * speed, np.cos(phase) * speed, 0, 0, 0, 0, 0.0])


def sim_speed(seconds: float) -> dict:
    arm = SimArm(SimArmConfig(control_rate_hz=100))
    arm.connect()
    src = CircleTeleop(100)
    ticks, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        arm.send_action(src.act(None))
        ticks += 1
    wall = time.perf_counter() - start
    return {"control_ticks_per_s": ticks / wall, "physics_steps_per_s": ticks * arm.substeps / wall,
            "realtime_factor": ticks / 100 / wall}


def recorder_loop(seconds: float, rate: float, fps: float, size: tuple[int, int], out: Path) -> dict:
    arm = SimArm(SimArmConfig(control_rate_hz=rate, camera_height=size[0], camera_width=size[1]))
    arm.connect()
    cams = {f"camera{i}": ThreadedCamera(SimCamera(arm, name), fps=fps) for i, name in enumerate(("front", "wrist"))}
    for cam in cams.values():
        cam.connect()
    store = open_store(out, cams, rate)
    steps = int(seconds * rate)
    rec = EpisodeRecorder(arm, cams, SafetyFilter(control_rate_hz=rate), store,
                          LoopConfig(control_rate_hz=rate, max_steps=steps, realtime=True))
    captured_before = {n: c.captured for n, c in cams.items()}
    result = rec.run_episode("benchmark circles", CircleTeleop(rate), "sim")
    wall = result.tick_times[-1] - result.tick_times[0]  # the loop itself (store creation/commit excluded)
    for cam in cams.values():
        cam.disconnect()
    stats = tick_stats(result.tick_times, rate)
    period = 1.0 / rate
    overruns = int(np.sum(np.diff(result.tick_times) > 1.5 * period))
    cams_out = {}
    for name, indices in result.frame_indices.items():
        paired = set(indices)
        first, last = min(indices), max(indices)
        captured = last - first + 1  # frames the camera produced while the loop ran
        cams_out[name] = {"rate_hz": captured / wall, "dropped": captured - len(paired),
                          "captured_total": cams[name].captured - captured_before[name]}
    return {"steps": result.steps, "status": result.status, "wall_s": wall, **stats, "overruns": overruns,
            "cameras": cams_out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the recorded episode")
    parser.add_argument("--rate", type=float, default=100.0, help="control rate (Hz)")
    parser.add_argument("--fps", type=float, default=30.0, help="camera rate (Hz)")
    parser.add_argument("--size", type=int, nargs=2, default=(96, 128), help="camera image H W")
    parser.add_argument("--cores", type=int, default=2, help="pin the process to this many cores (0: no pin)")
    args = parser.parse_args()
    if args.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    print(f"cores available to the process: {len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.1f}")
    speed = sim_speed(3.0)
    print(f"sim arm alone: {speed['control_ticks_per_s']:.0f} control ticks/s at 100 Hz "
          f"({speed['physics_steps_per_s']:.0f} physics steps/s), {speed['realtime_factor']:.1f}x real time")
    with tempfile.TemporaryDirectory() as tmp:
        res = recorder_loop(args.seconds, args.rate, args.fps, tuple(args.size), Path(tmp) / "bench.zarr")
    print(f"recorder loop: {res['steps']} ticks in {res['wall_s']:.2f} s, {res['status']}")
    print(f"  control: {res['rate_hz']:.1f} Hz achieved / {args.rate:.0f} Hz target = "
          f"{res['rate_hz'] / args.rate:.3f}; jitter p50 {res['jitter_p50_ms']:.2f} ms, p99 "
          f"{res['jitter_p99_ms']:.2f} ms; overruns (>1.5 periods) {res['overruns']}")
    for name, cam in res["cameras"].items():
        print(f"  {name}: {cam['rate_hz']:.1f} Hz achieved / {args.fps:.0f} Hz target = "
              f"{cam['rate_hz'] / args.fps:.3f}; dropped frames {cam['dropped']}")


if __name__ == "__main__":
    main()
