"""How well does SRPO progress track oracle progress on the offline benchmark's data, per reward setting?

Scores a copy of one seed's store (`srpo bench offline` writes OUT/seed<k>/store.zarr, with its `oracle` run)
with each encoder setting available on this machine (pixel baseline: camera, frame size; V-JEPA 2 when its
weights are local) and prints the per-episode Spearman correlation with the oracle (successes / failures) and
the share of the rise that happens in the approach phase (oracle: 1/3 on lift). See docs/offline_bench.md.

    python benchmarks/reward_fidelity_attempts.py outputs/bench_offline/seed0/store.zarr
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from srpo_offline.encoders import vjepa2_available
from srpo_offline.encoders.pixel import PixelEncoder
from srpo_offline.fidelity import reward_fidelity
from srpo_offline.reward_run import EncodeOptions, store_progress, write_progress_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store", help="a store of `srpo bench offline` (has derived/oracle)")
    parser.add_argument("--stride", type=int, default=2, help="encode every stride-th prefix")
    args = parser.parse_args()
    from srpo.store import EpisodeStore
    from srpo_offline.advantages import AdvantageConfig

    settings = [(f"pixel {size}px {cam}", cam, PixelEncoder(size=size))
                for cam in ("camera1", "camera0") for size in (64, 32, 16, 8)]
    if vjepa2_available(None):
        from srpo_offline.encoders import build_encoder

        settings += [(f"vjepa2 {cam}", cam, build_encoder("vjepa2")) for cam in ("camera0", "camera1")]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store.zarr"
        shutil.copytree(args.store, copy)
        store = EpisodeStore.open(copy, mode="a")
        print(f"{'setting':<22} {'Spearman succ.':>14} {'Spearman fail.':>14} {'approach share':>14} {'s':>5}")
        for i, (name, camera, encoder) in enumerate(settings):
            t = time.perf_counter()
            result, config, _ = store_progress(store, EncodeOptions(camera=camera, stride=args.stride), encoder)
            write_progress_run(store, f"attempt{i}", result.progress, AdvantageConfig(), config.beta, config.w_max,
                               {"encoder": name})
            f = reward_fidelity(store, f"attempt{i}", "oracle")
            share = f["approach"]["run_share"]["success"]["mean"]
            print(f"{name:<22} {f['spearman']['success']['mean']:>14.2f} {f['spearman']['failure']['mean']:>14.2f} "
                  f"{share if share is not None else float('nan'):>14.2f} {time.perf_counter() - t:>5.0f}", flush=True)


if __name__ == "__main__":
    main()
