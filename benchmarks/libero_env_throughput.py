"""LIBERO env steps per second with 1 vs N subprocess workers, in one run (ratio against 1 worker).

    PYTHONPATH=. python benchmarks/libero_env_throughput.py --workers 1 2 --steps 64

Each worker holds one env of libero_spatial task 0, resets to an official initial state and executes
`--steps` random actions in chunks of 8 (the OpenVLA* chunk); env build time is excluded.
"""

import argparse
import json
import time

import numpy as np

from srpo_online_sim.envs import EnvConfig, EnvPool, official_init_states


def measure(n_workers: int, steps: int, suite: str) -> float:
    config = EnvConfig(suite=suite, max_steps=10_000)
    state = official_init_states(suite, 0)[0]
    rng = np.random.default_rng(0)
    with EnvPool(config, n_workers, subprocess=True) as pool:
        pool.call("reset", [(0, state)] * n_workers)  # builds the envs (not timed)
        pool.call("reset", [(0, state)] * n_workers)
        start = time.perf_counter()
        for _ in range(steps // 8):
            chunks = [(rng.uniform(-0.5, 0.5, (8, 7)),) for _ in range(n_workers)]
            pool.call("step_chunk", chunks)
        elapsed = time.perf_counter() - start
    return n_workers * (steps // 8) * 8 / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=64, help="env steps per worker")
    parser.add_argument("--suite", default="spatial")
    args = parser.parse_args()
    rates = {n: measure(n, args.steps, args.suite) for n in args.workers}
    base = rates[args.workers[0]]
    for n, r in rates.items():
        print(f"{n} worker(s): {r:6.2f} env steps/s  ({r / base:.2f}x vs {args.workers[0]})")
    print(json.dumps({"env_steps_per_s": rates}))


if __name__ == "__main__":
    main()
