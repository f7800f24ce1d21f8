"""How far OFT/siiRL's preprocessing (JPEG round trip + TF lanczos3) moves real LIBERO frames from a plain PIL
LANCZOS resize of the raw frame (this project's pipeline before it followed them), in uint8 levels at 224 px.

    PYTHONPATH=. python benchmarks/libero_preprocessing.py --tasks 0 1 2 --states 2

Frames: libero_spatial agentview after reset + 10 settle steps, rotated 180 degrees, official initial states.
"""

import argparse
import json

import numpy as np
from PIL import Image

from srpo_online_sim.envs import EnvConfig, official_init_states
from srpo_online_sim.openvla.images import jpeg_round_trip, resize_lanczos3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[0, 1, 2], help="libero_spatial task ids")
    parser.add_argument("--states", type=int, default=2, help="official initial states per task")
    args = parser.parse_args()
    env = EnvConfig(suite="spatial").build()
    rows = {"jpeg_only": [], "resize_only": [], "both": []}
    for task in args.tasks:
        for state in official_init_states("spatial", task)[: args.states]:
            frame = env.reset(task, state).frames[-1]
            pil = np.asarray(Image.fromarray(frame).resize((224, 224), Image.Resampling.LANCZOS), dtype=int)
            jpeg = jpeg_round_trip(frame)
            rows["jpeg_only"].append(np.abs(np.asarray(Image.fromarray(jpeg).resize(
                (224, 224), Image.Resampling.LANCZOS), dtype=int) - pil))
            rows["resize_only"].append(np.abs(resize_lanczos3(frame, 224).astype(int) - pil))
            rows["both"].append(np.abs(resize_lanczos3(jpeg, 224).astype(int) - pil))
    env.close()
    out = {}
    for key, diffs in rows.items():
        d = np.concatenate([x.ravel() for x in diffs])
        out[key] = {"mean": round(float(d.mean()), 3), "p99": float(np.percentile(d, 99)), "max": int(d.max())}
    print(json.dumps({"frames": len(rows["both"]), **out}))


if __name__ == "__main__":
    main()
