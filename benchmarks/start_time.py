"""Start time of the robot entry points, this checkout against a baseline checkout, in the same run.

    python benchmarks/start_time.py --baseline /work/main [--repeats 5]

Each measurement is one fresh process, timed from the parent (interpreter start included), for:
  * `srpo robot record --help` (parses the command's config: the backends' registry and their cameras);
  * the ROS robot node (srpo_ros RecorderNode, real rclpy) built on the sim backend and destroyed: what
    `ros2 launch srpo_ros teleop_record.launch.py` waits for before the first tick.
The two checkouts alternate (baseline, this, baseline, this, ...) so drift on a shared machine hits both. Both
run on this interpreter and its packages (the same LeRobot, torch, rclpy), each checkout's code put first on
PYTHONPATH: only the code differs.
Prints the median seconds of each, the ratio this / baseline and the load average.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROBOT_NODE = ("import rclpy; rclpy.init(args=['--ros-args', '-p', 'backend.type:=sim', '-p', 'camera_height:=48', "
              "'-p', 'camera_width:=64']); from srpo_ros.recorder_node import RecorderNode; node = RecorderNode(); "
              "node.destroy_node(); rclpy.shutdown()")


COMMANDS = {"srpo robot record --help": [sys.executable, "-m", "srpo.cli", "robot", "record", "--help"],
            "ROS robot node (sim)": [sys.executable, "-c", ROBOT_NODE]}


def timed(command: list[str], root: Path) -> float:
    env = {**os.environ, "PYTHONPATH": f"{root}:{root / 'robot_ws' / 'src' / 'srpo_ros'}", "ROS_DOMAIN_ID": "77",
           "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    start = time.perf_counter()
    subprocess.run(command, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="checkout to compare with (e.g. main's)")
    parser.add_argument("--repeats", type=int, default=5, help="processes per entry point and checkout")
    args = parser.parse_args()
    this = Path(__file__).resolve().parents[1]
    trees = {"baseline": args.baseline.resolve(), "this": this}
    load_before = os.getloadavg()[0]
    times: dict[tuple[str, str], list[float]] = {}
    for name, command in COMMANDS.items():
        for _ in range(args.repeats):
            for tree, root in trees.items():
                times.setdefault((name, tree), []).append(timed(command, root))
    print(f"baseline {trees['baseline']}, this {this}; {args.repeats} processes each; "
          f"load {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    for name in COMMANDS:
        base, mine = statistics.median(times[name, "baseline"]), statistics.median(times[name, "this"])
        print(f"{name:<28} baseline {base:6.2f} s   this {mine:6.2f} s   ratio {mine / base:5.2f}x   "
              f"(this: min {min(times[name, 'this']):.2f}, max {max(times[name, 'this']):.2f})")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
