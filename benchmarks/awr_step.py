"""AWR weighting overhead and store data-loading throughput, measured in one run.

    PYTHONPATH=. python benchmarks/awr_step.py [--policy act|pi0] [--steps 20] [--batch-size 8]

1. Training step time with the AWR SampleWeighter (per-sample loss, sum(w l)/sum(w)) vs uniform (LeRobot's
   plain mean loss), alternating the two on the same batches so drift hits both; reports the ratio.
2. Data loading: samples/s that StoreChunkDataset + DataLoader deliver from a Zarr store (2 cameras, 96x128,
   as in the CPU demo) vs the samples/s one training step consumes.
"""

import argparse
import contextlib
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS / "train"))
from train_helpers import build  # noqa: E402

from srpo_offline.awr.tiny import TINY_ACT, build_tiny_base, tiny_pi_sizes  # noqa: E402
from srpo_offline.awr.weighting import AWRWeighter, WeightTable  # noqa: E402


def _record_random_store(*args, **kwargs):
    """The test suite's random-store builder (tests/conftest.py), loaded by path: `conftest` is a name pytest
    gives several files."""
    spec = importlib.util.spec_from_file_location("tests_root_conftest", TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.record_random_store(*args, **kwargs)


def _update(policy, batch, optimizer, weighter, accelerator, metrics):
    from lerobot.scripts.lerobot_train import update_policy

    t0 = time.perf_counter()
    update_policy(metrics, policy, batch, optimizer, 1.0, accelerator, sample_weighter=weighter)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", default="act", choices=("act", "pi0"))
    parser.add_argument("--steps", type=int, default=20, help="timed updates per weighting")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for the loading test")
    args = parser.parse_args()
    from accelerate import Accelerator
    from lerobot.utils.logging_utils import AverageMeter, MetricsTracker
    from torch.utils.data import DataLoader, default_collate

    torch.set_num_threads(max(torch.get_num_threads(), 1))
    tmp = Path(tempfile.mkdtemp())
    store = _record_random_store(tmp / "store.zarr", lengths=(40, 40, 40, 40), successes=(True, False) * 2,
                                size=(96, 128))
    ctx = tiny_pi_sizes() if args.policy == "pi0" else contextlib.nullcontext()
    with ctx:
        if args.policy == "pi0":
            base = build_tiny_base("pi0", store, tmp / "pi0", chunk_size=10)
            policy, pre, ds = build(store, "pi0", pretrained=str(base))
        else:
            policy, pre, ds = build(store, "act", options={**TINY_ACT, "chunk_size": 10, "n_action_steps": 10})
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-5)
    rng = np.random.default_rng(0)
    table = WeightTable(weight=np.exp(rng.normal(size=store.num_steps)).astype(np.float32),
                        clipped=np.zeros(store.num_steps, bool))
    weighter = AWRWeighter(table, np.arange(store.num_steps))
    accelerator = Accelerator(cpu=True)
    meters = {k: AverageMeter(k) for k in ("loss", "grad_norm", "lr", "update_s")}
    metrics = MetricsTracker(args.batch_size, len(ds), 4, meters)
    batches = [pre(default_collate([ds[int(i)] for i in rng.choice(len(ds), args.batch_size, replace=False)]))
               for _ in range(4)]
    for b in batches[:2]:  # warm-up
        _update(policy, b, optimizer, weighter, accelerator, metrics)
        _update(policy, b, optimizer, None, accelerator, metrics)
    awr, uni = [], []
    for i in range(args.steps):
        b = batches[i % len(batches)]
        first, second = (weighter, None) if i % 2 == 0 else (None, weighter)
        t1 = _update(policy, b, optimizer, first, accelerator, metrics)
        t2 = _update(policy, b, optimizer, second, accelerator, metrics)
        (awr if first is weighter else uni).append(t1)
        (uni if first is weighter else awr).append(t2)
    m_awr, m_uni = statistics.median(awr), statistics.median(uni)
    print(f"policy={args.policy} batch={args.batch_size} steps={args.steps} threads={torch.get_num_threads()}")
    print(f"step time: awr {m_awr * 1e3:.1f} ms, uniform {m_uni * 1e3:.1f} ms (medians), "
          f"overhead {100 * (m_awr / m_uni - 1):+.1f}%")

    t0 = time.perf_counter()
    for _ in range(1000):
        weighter.compute_batch_weights(batches[0])
    weigh_ms = (time.perf_counter() - t0)
    print(f"weighter alone: {weigh_ms:.3f} ms per batch ({100 * weigh_ms / 1e3 / m_uni:.3f}% of a uniform step)")

    loader = DataLoader(ds, batch_size=args.batch_size, shuffle=True, num_workers=args.workers)
    t0, n = time.perf_counter(), 0
    for batch in loader:
        n += len(batch["index"])
        if n >= 160:
            break
    load_rate = n / (time.perf_counter() - t0)
    consume_rate = args.batch_size / m_awr
    print(f"data: store -> batches {load_rate:.0f} samples/s ({args.workers} workers); a step consumes "
          f"{consume_rate:.0f} samples/s; loading/consumption = {load_rate / consume_rate:.1f}x")


if __name__ == "__main__":
    main()
