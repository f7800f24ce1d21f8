"""Write throughput of the episode store vs raw .npy files, and the Blosc codec choice for images.

Records episodes of 2 cameras 640x480 RGB + robot state through EpisodeWriter (the real recorder path) with
several Blosc variants, and writes the same steps as uncompressed .npy files (one per frame and per state
vector) in the same run. Frames are realistic: two real photographs (scikit-learn's bundled sample images)
panned slowly like a moving camera, with a moving dark "gripper" and RealSense-like sensor noise (sigma 2.5);
uniform random pixels would not compress and would misjudge every codec.

    PYTHONPATH=. python benchmarks/store_write.py                # 300 steps, all variants, 2 cores
    PYTHONPATH=. python benchmarks/store_write.py --steps 150 --variants lz4:5 zstd:3
    PYTHONPATH=. python benchmarks/store_write.py --scene rendered     # clean simulator renders

Reports steps/s (one step = one frame from each camera + state), the ratio to raw .npy writing, the ratio to the
real-time need (30 steps/s), bytes on disk, and frames/s decoding when reading back.
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numcodecs
import numpy as np
from sklearn.datasets import load_sample_image

from srpo.store import CameraSpec, EpisodeStore, StoreConfig

H, W = 480, 640
REALTIME_HZ = 30.0  # the physical cameras' frame rate: the recorder must keep up with it
DEFAULT_VARIANTS = ["lz4:1", "lz4:5", "zstd:1", "zstd:3", "blosclz:5", "lz4:1:bit", "lz4:5:bit", "zstd:1:bit", "none"]


def make_frames(n: int, scene: str = "camera", seed: int = 0) -> list[list[np.ndarray]]:
    """n frames per camera, [camera][t] uint8 480x640x3.

    scene "camera": real photographs panned slowly, a moving dark gripper, RealSense-like sensor noise (sigma 2.5)
    -- what the physical cameras record. scene "rendered": a flat-shaded table-top scene with smooth lighting and
    no noise -- what the simulated xArm (MuJoCo) records.
    """
    rng = np.random.default_rng(seed)
    cams = []
    for c, name in enumerate(("china.jpg", "flower.jpg")):
        if scene == "camera":
            base = cv2.resize(load_sample_image(name), (W + 160, H + 120), interpolation=cv2.INTER_CUBIC)
        else:
            base = _rendered_scene(c)
        frames = []
        for t in range(n):
            dx, dy = int(80 + 60 * np.sin(t / 40)), int(60 + 40 * np.cos(t / 55))
            frame = base[dy : dy + H, dx : dx + W].copy()
            gx, gy = int(200 + 150 * np.sin(t / 25)), int(150 + 80 * np.cos(t / 30))
            cv2.rectangle(frame, (gx, gy), (gx + 90, gy + 160), (40, 40, 45), -1, lineType=cv2.LINE_AA)
            if scene == "camera":
                frame = np.clip(frame + rng.normal(0, 2.5, frame.shape), 0, 255).astype(np.uint8)
            frames.append(frame)
        cams.append(frames)
    return cams


def _rendered_scene(c: int) -> np.ndarray:
    """A synthetic render: wall, table, a few objects, smooth light falloff (no texture, no noise)."""
    h, w = H + 120, W + 160
    img = np.zeros((h, w, 3), np.float32)
    img[: h // 2] = (200, 205, 210)
    img[h // 2 :] = (120, 150, 185) if c == 0 else (90, 120, 160)
    cv2.rectangle(img, (150, 300), (260, 400), (40, 60, 200), -1, lineType=cv2.LINE_AA)
    cv2.circle(img, (500, 380), 70, (60, 170, 60), -1, lineType=cv2.LINE_AA)
    cv2.ellipse(img, (650, 450), (90, 40), 0, 0, 360, (200, 200, 60), -1, lineType=cv2.LINE_AA)
    yy, xx = np.mgrid[0:h, 0:w]
    light = 1.1 - 0.5 * ((xx - w / 2) ** 2 + (yy - h / 3) ** 2) / (w * w / 4)
    return np.clip(img * light[..., None], 0, 255).astype(np.uint8)


def make_state(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    walk = lambda d: np.cumsum(rng.normal(0, 0.01, (n, d)), axis=0).astype(np.float32)  # noqa: E731
    return {"robot0_joint_pos": walk(7), "robot0_eef_pos": walk(3), "robot0_eef_rot_axis_angle": walk(3),
            "robot0_gripper_width": walk(1), "action": walk(7)}


def parse_variant(text: str):
    """'lz4:5' -> Blosc(lz4, 5, noshuffle); 'lz4:5:bit' adds bit shuffle; 'none' -> no compression."""
    if text == "none":
        return None
    parts = text.split(":")
    shuffle = numcodecs.Blosc.BITSHUFFLE if len(parts) > 2 and parts[2] == "bit" else numcodecs.Blosc.NOSHUFFLE
    return numcodecs.Blosc(cname=parts[0], clevel=int(parts[1]), shuffle=shuffle)


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def step_at(frames, state, t: int) -> dict:
    k = t % len(frames[0])
    return {"camera0_rgb": frames[0][k], "camera1_rgb": frames[1][k], "camera0_timestamp": t / REALTIME_HZ,
            "camera1_timestamp": t / REALTIME_HZ, **{key: v[t] for key, v in state.items()},
            "timestamp": t / REALTIME_HZ}


def bench_store(root: Path, variant: str, frames, state, steps: int) -> dict:
    path = root / f"store_{variant.replace(':', '_')}.zarr"
    cfg = StoreConfig(cameras=(CameraSpec("camera0", H, W), CameraSpec("camera1", H, W)), control_rate_hz=REALTIME_HZ)
    codec = parse_variant(variant)
    store = EpisodeStore.create(path, cfg, image_compressor=codec if codec is not None else ())
    t0, c0 = time.perf_counter(), time.process_time()
    with store.recorder(task="benchmark", source="sim") as ep:
        for t in range(steps):
            ep.add_step(step_at(frames, state, t))
    write_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    reader = EpisodeStore.open(path)
    for start in range(0, steps, 32):
        reader.steps(0, start, start + 32, keys=["camera0_rgb", "camera1_rgb"])
    read_s = time.perf_counter() - t0
    size = disk_bytes(path)
    shutil.rmtree(path)
    return {"write_steps_per_s": steps / write_s, "steps_per_cpu_s": steps / cpu_s,
            "read_frames_per_s": 2 * steps / read_s, "bytes": size}


def bench_raw(root: Path, frames, state, steps: int) -> dict:
    path = root / "raw_npy"
    path.mkdir()
    t0, c0 = time.perf_counter(), time.process_time()
    for t in range(steps):
        step = step_at(frames, state, t)
        np.save(path / f"camera0_{t:06d}.npy", step["camera0_rgb"])
        np.save(path / f"camera1_{t:06d}.npy", step["camera1_rgb"])
        np.save(path / f"state_{t:06d}.npy", np.concatenate([state[k][t] for k in state]))
    write_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    size = disk_bytes(path)
    shutil.rmtree(path)
    return {"write_steps_per_s": steps / write_s, "steps_per_cpu_s": steps / cpu_s, "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="steps per episode (300 = 10 s at 30 Hz)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant; the median is reported")
    parser.add_argument("--variants", nargs="*", default=DEFAULT_VARIANTS,
                        help="cname:clevel[:bit] Blosc variants, or 'none'")
    parser.add_argument("--scene", choices=("camera", "rendered"), default="camera",
                        help="camera: noisy real photos (physical cameras); rendered: clean sim renders")
    parser.add_argument("--cores", type=int, default=2, help="pin the process to this many cores (0: no pinning)")
    parser.add_argument("--dir", default=None, help="where to write (default: a temporary directory)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args()

    if args.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    numcodecs.blosc.set_nthreads(max(1, args.cores))
    frames, state = make_frames(90, args.scene), make_state(args.steps)
    root = Path(tempfile.mkdtemp(prefix="store_bench_", dir=args.dir))
    results = {"scene": args.scene, "steps": args.steps, "cores": len(os.sched_getaffinity(0)), "raw_npy": [], "variants": {}}
    try:
        for _ in range(args.repeats):  # interleave raw and store runs so load changes hit both alike
            results["raw_npy"].append(bench_raw(root, frames, state, args.steps))
            for variant in args.variants:
                results["variants"].setdefault(variant, []).append(
                    bench_store(root, variant, frames, state, args.steps))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    raw_rate, raw_bytes = med(results["raw_npy"], "write_steps_per_s"), med(results["raw_npy"], "bytes")
    raw_cpu = med(results["raw_npy"], "steps_per_cpu_s")
    print(f"{args.steps} steps of 2x 640x480 RGB ({args.scene} frames) + state, {results['cores']} cores, "
          f"median of {args.repeats}, load average {os.getloadavg()[0]:.1f}")
    print("steps/s: wall clock; steps/cpu-s: per second of this process's CPU time (all threads), which other load "
          "on a shared machine does not change")
    print(f"{'variant':12s} {'steps/s':>8s} {'x raw':>6s} {'x 30Hz':>7s} {'steps/cpu-s':>11s} {'x 30Hz':>7s} "
          f"{'MB on disk':>10s} {'x smaller':>9s} {'read fr/s':>9s}")
    print(f"{'raw .npy':12s} {raw_rate:8.1f} {1.0:6.2f} {raw_rate / REALTIME_HZ:7.1f} {raw_cpu:11.1f} "
          f"{raw_cpu / REALTIME_HZ:7.1f} {raw_bytes / 1e6:10.1f} {1.0:9.2f} {'-':>9s}")
    summary = {}
    for variant, runs in results["variants"].items():
        rate, size, read = med(runs, "write_steps_per_s"), med(runs, "bytes"), med(runs, "read_frames_per_s")
        cpu = med(runs, "steps_per_cpu_s")
        summary[variant] = {"write_steps_per_s": rate, "x_raw": rate / raw_rate, "x_realtime": rate / REALTIME_HZ,
                            "steps_per_cpu_s": cpu, "bytes": size, "x_smaller": raw_bytes / size,
                            "read_frames_per_s": read}
        print(f"{variant:12s} {rate:8.1f} {rate / raw_rate:6.2f} {rate / REALTIME_HZ:7.1f} {cpu:11.1f} "
              f"{cpu / REALTIME_HZ:7.1f} {size / 1e6:10.1f} {raw_bytes / size:9.2f} {read:9.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"raw_npy": {"write_steps_per_s": raw_rate, "bytes": raw_bytes,
                                                           "steps_per_cpu_s": raw_cpu, "load": os.getloadavg()},
                                               "variants": summary, "raw_runs": results}, indent=2))


if __name__ == "__main__":
    main()
