"""Per-step progress cost: exact (every prefix) vs strided prefixes, for one T=300 episode.

Reports CPU time (process time, all threads; wall time on a shared machine mostly measures the neighbours) as a
ratio to ONE full-episode encode (median of 10, taken just before and after the prefix pass in the same process
with the same model),
the peak resident memory of each mode (each mode runs in a fresh process), and the progress error of the
strided result against the exact one. The encoder is a small random V-JEPA 2 (transformers VJEPA2Model,
ViT-tiny-sized) on CPU; the real ViT-L does the same number of passes, each far slower.

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/reward_step_progress.py [--strides 1 5 10 30]
"""

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time

import numpy as np

T = 300
SIZE = 96


def small_model(path: str) -> None:
    import torch
    from transformers import VJEPA2Config, VJEPA2Model, VJEPA2VideoProcessor

    torch.manual_seed(0)
    cfg = VJEPA2Config(crop_size=64, frames_per_clip=16, tubelet_size=2, patch_size=16, hidden_size=192,
                       num_attention_heads=3, num_hidden_layers=6, pred_hidden_size=96,
                       pred_num_attention_heads=3, pred_num_hidden_layers=1, num_pooler_layers=1)
    VJEPA2Model(cfg).save_pretrained(path)
    VJEPA2VideoProcessor(crop_size=64).save_pretrained(path)


def episode(t: int, stall_at: float | None = None, seed: int = 0) -> np.ndarray:
    """A square sliding across a textured background; with stall_at it stops moving at that fraction."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(0, 80, (SIZE, SIZE, 3), dtype=np.uint8)
    pos = np.linspace(0, 1, t)
    if stall_at is not None:
        pos = np.minimum(pos, stall_at)
    video = np.repeat(bg[None], t, axis=0)
    for i, p in enumerate(pos):
        c = int(round(p * (SIZE - 24)))
        video[i, 36:60, c : c + 24] = (230, 200, 40)
    return video


def measure(model: str, stride: int, queue) -> None:
    import torch

    from srpo_offline.encoders import build_encoder
    from srpo_offline.progress import StepProgressConfig, prefix_distances, step_progress

    torch.set_num_threads(2)
    enc = build_encoder("vjepa2", model=model, batch_size=16)
    video = episode(T)
    full = enc.encode([video])  # warm-up; also the reference the distances are measured to

    def full_encode_cpu_s(reps: int = 5) -> list[float]:
        out = []
        for _ in range(reps):
            t0 = time.process_time()
            enc.encode([video])
            out.append(time.process_time() - t0)
        return out

    before = full_encode_cpu_s()
    t0, w0 = time.process_time(), time.perf_counter()
    _, n = prefix_distances(enc, video, full, stride=stride, batch_size=16)
    prefix_s, wall_s = time.process_time() - t0, time.perf_counter() - w0
    full_s = float(np.median(before + full_encode_cpu_s()))  # baseline taken around the prefix pass
    videos = [episode(T, seed=1), episode(T, seed=2), episode(T, stall_at=0.4, seed=3)]
    res = step_progress(videos, [True, True, False], ["t"] * 3, enc, StepProgressConfig(stride=stride),
                        progress_bar=False)
    queue.put({"stride": stride, "prefixes_encoded": n, "full_encode_s": full_s, "prefix_s": prefix_s,
               "prefix_wall_s": wall_s,
               "ratio_to_full_encode": prefix_s / full_s,
               "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "progress": [p.tolist() for p in res.progress]})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strides", type=int, nargs="+", default=[1, 5, 10, 30])
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        small_model(tmp)
        for stride in args.strides:
            q = ctx.Queue()
            p = ctx.Process(target=measure, args=(tmp, stride, q))
            p.start()
            rows.append(q.get())
            p.join()
    exact = next((r for r in rows if r["stride"] == 1), None)
    print(f"T={T} frames {SIZE}x{SIZE}, small VJEPA2 (hidden 192, 6 layers, 16 frames, 64 px) on CPU, 2 threads")
    print(f"{'stride':>6} {'encodes':>8} {'CPU s':>8} {'wall s':>8} {'x full encode':>14} {'peak RSS MiB':>13} "
          f"{'max |dR|':>9} {'mean |dR|':>10}")
    for r in rows:
        if exact is not None:
            err = np.abs(np.concatenate(r["progress"]) - np.concatenate(exact["progress"]))
            emax, emean = f"{err.max():.4f}", f"{err.mean():.4f}"
        else:
            emax = emean = "-"
        print(f"{r['stride']:>6} {r['prefixes_encoded']:>8} {r['prefix_s']:>8.2f} {r['prefix_wall_s']:>8.2f} "
              f"{r['ratio_to_full_encode']:>14.1f} "
              f"{r['peak_rss_mib']:>13.0f} {emax:>9} {emean:>10}")
    print(f"one full-episode encode (CPU time): {np.median([r['full_encode_s'] for r in rows]) * 1000:.1f} ms")
    json.dump([{k: v for k, v in r.items() if k != "progress"} for r in rows], sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
