"""LeRobot's video decoding with torchcodec vs pyav, on the same dataset in the same run.

    python benchmarks/video_decode.py [--episodes 3] [--frames 150] [--height 240] [--width 320] [--repeats 3]

Writes one LeRobotDataset with LeRobot's own writer (AV1 mp4, LeRobot's default encoder), then times both
backends alternately (so drift on a shared machine hits both) on two access patterns:
  * random: `LeRobotDataset[i]` at random indices, what a training DataLoader does (one frame per call);
  * sequential: `decode_video_frames` over every episode in blocks of 64 timestamps, what
    `srpo data from-lerobot` does.
Prints frames/s per backend (median over repeats), the torchcodec / pyav ratio and the load average.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

BLOCK = 64  # timestamps per decode call in the sequential pattern (srpo.store.lerobot_import.BLOCK)


def write_dataset(root: Path, episodes: int, frames: int, height: int, width: int) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = {"observation.state": {"dtype": "float32", "shape": (2,), "names": ["x", "y"]},
                "action": {"dtype": "float32", "shape": (2,), "names": ["x", "y"]},
                "observation.images.cam": {"dtype": "video", "shape": (height, width, 3),
                                           "names": ["height", "width", "channels"]}}
    ds = LeRobotDataset.create(repo_id="bench/video", fps=30, features=features, root=root, use_videos=True)
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(0)
    for e in range(episodes):
        for t in range(frames):  # a moving gradient with sensor-like noise
            img = np.stack([(xx + 3 * t) % 256, (yy + 2 * t + 40 * e) % 256, (xx + yy) // 3 % 256], -1)
            img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
            ds.add_frame({"observation.state": np.zeros(2, np.float32), "action": np.zeros(2, np.float32),
                          "task": "bench", "observation.images.cam": img})
        ds.save_episode()
    ds.finalize()


def random_access(root: Path, backend: str, n: int, seed: int) -> float:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    ds = LeRobotDataset("bench/video", root=root, video_backend=backend)
    idx = np.random.default_rng(seed).integers(0, ds.num_frames, n)
    t0 = time.perf_counter()
    for i in idx:
        frame = ds[int(i)]["observation.images.cam"]
    assert frame.shape[0] == 3
    return n / (time.perf_counter() - t0)


def sequential(root: Path, backend: str) -> float:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    from lerobot.datasets.video_utils import decode_video_frames

    ds = LeRobotDataset("bench/video", root=root, video_backend=backend)
    key = "observation.images.cam"
    frames = 0
    t0 = time.perf_counter()
    for e in range(ds.meta.total_episodes):
        row = ds.meta.episodes[e]
        offset, length = float(row[f"videos/{key}/from_timestamp"]), int(row["length"])
        path = ds.root / ds.meta.get_video_file_path(e, key)
        for start in range(0, length, BLOCK):
            ts = [offset + j / ds.fps for j in range(start, min(start + BLOCK, length))]
            frames += len(decode_video_frames(path, ts, ds.tolerance_s, backend, return_uint8=True))
    return frames / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--frames", type=int, default=150, help="frames per episode (30 fps)")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--random", type=int, default=150, help="random-access reads per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from lerobot.datasets.video_utils import get_safe_default_video_backend

    if get_safe_default_video_backend() != "torchcodec":
        raise SystemExit("torchcodec does not load here (FFmpeg libraries missing?): run `make setup` first")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        t0 = time.perf_counter()
        write_dataset(root, args.episodes, args.frames, args.height, args.width)
        print(f"dataset: {args.episodes} episodes x {args.frames} frames, {args.height}x{args.width} AV1, "
              f"written in {time.perf_counter() - t0:.1f} s")
        results = {(p, b): [] for p in ("random", "sequential") for b in ("torchcodec", "pyav")}
        for r in range(args.repeats):
            for backend in ("torchcodec", "pyav") if r % 2 == 0 else ("pyav", "torchcodec"):
                results[("random", backend)].append(random_access(root, backend, args.random, seed=r))
                results[("sequential", backend)].append(sequential(root, backend))
    for pattern in ("random", "sequential"):
        tc, av = (statistics.median(results[(pattern, b)]) for b in ("torchcodec", "pyav"))
        print(f"{pattern:10s} torchcodec {tc:7.1f} frames/s   pyav {av:7.1f} frames/s   ratio {tc / av:.2f}x")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
