"""Env workers in subprocesses: env steps/s of the simulated xArm world for 1, 2 and 4 workers, against the cores
available, each as a ratio to 1 worker measured in the same run.

Each worker is an `srpo_online_sim.pool.EnvPool` subprocess (spawn or forkserver) holding one `SimXArmEnv`; the
parent sends every worker a chunk of actions at once (as the rollout loop does) and waits for all of them.
Actions are random moves with the gripper open, so episodes run to the step limit; reward frames are rendered
once per chunk as in SRPO runs (--no-render: physics and IK only).

    PYTHONPATH=. .venv/bin/python benchmarks/online_env_scaling.py --workers 1 2 4 --seconds 20
"""

import argparse
import json
import os
import time

import numpy as np

from srpo_online_sim.pool import EnvPool
from srpo_online_sim.xarm_sim import MAX_STEP, SimXArmSpec


def throughput(spec: SimXArmSpec, workers: int, seconds: float, chunk: int, start_method: str) -> dict:
    rng = np.random.default_rng(0)
    with EnvPool(spec, workers, subprocess=True, start_method=start_method) as pool:
        states = [pool.call("sample_init_state", [(0, 1_000 + i)], [0])[0] for i in range(workers)]
        pool.call("reset", [(0, s) for s in states])
        steps, calls = 0, 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            actions = rng.uniform(-MAX_STEP, MAX_STEP, (workers, chunk, 4))
            actions[..., 3] = 0.0
            results = pool.call("step_chunk", [(spec.env_action(a),) for a in actions])
            for i, r in enumerate(results):
                steps += r.executed
                if r.done:
                    pool.call("reset", [(0, states[i])], [i])
            calls += 1
        wall = time.perf_counter() - t0
    return {"workers": workers, "env_steps": steps, "seconds": wall, "steps_per_s": steps / wall, "calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time per worker count")
    parser.add_argument("--chunk", type=int, default=4, help="actions per step_chunk call (the MLP's chunk)")
    parser.add_argument("--task", default="lift")
    parser.add_argument("--no-render", action="store_true", help="skip the reward-camera frames")
    parser.add_argument("--start-method", default="spawn", choices=["spawn", "forkserver"])
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    spec = SimXArmSpec(tasks=(args.task,), render=not args.no_render)
    rows = [throughput(spec, w, args.seconds, args.chunk, args.start_method) for w in args.workers]
    base = rows[0]["steps_per_s"] / rows[0]["workers"]
    print(f"cores available: {cores}; load average at start: {load:.2f}; task {args.task}; render "
          f"{not args.no_render}; {args.start_method}")
    print("| workers | env steps/s | ratio vs 1 worker | ideal (min(workers, cores)) |")
    print("|---|---|---|---|")
    for r in rows:
        r["ratio"] = r["steps_per_s"] / base
        r["ideal"] = min(r["workers"], cores)
        print(f"| {r['workers']} | {r['steps_per_s']:.0f} | {r['ratio']:.2f} | {r['ideal']} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"cores": cores, "load": load, "render": not args.no_render, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
