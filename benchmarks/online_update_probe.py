"""Which update learns? GRPO and the shuffled-advantage control from the same BC warm starts, one run per
(update variant, arm, seed), judged by sampled success on held-out states (the quantity GRPO's objective raises).

A variant is a comma-separated list of `srpo bench online` settings (`name=value`, bench or `--algo.` fields),
e.g. `lr=1e-3,n_bins=32`, applied to the bench's own algorithm (BENCH_ALGORITHM: lr 1e-3, negative_scale 0);
every variant runs with the rest of the bench's settings (--env-steps, --eval-every, ...). Prints one line per
run and a table: sampled success warm start -> final, the gain over the control, the update diagnostics
(exact KL, entropy change, success tokens' log-prob change) and the runs they flag.

    PYTHONPATH=. .venv/bin/python benchmarks/online_update_probe.py --seeds 0 1 --env-steps 40000 \\
        --variants lr=1e-4,negative_scale=1 lr=1e-3,negative_scale=1 lr=1e-3,negative_scale=1,kl_rollout_coef=1 \
        lr=1e-3 n_bins=32,lr=1e-3
"""

import argparse
import dataclasses
import json
import multiprocessing as mp

import numpy as np

from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.diagnostics import flag_run
from srpo_online_sim.sim_bench import BENCH_ALGORITHM, OnlineBenchConfig, final_eval, run_one


def parse_variant(text: str) -> dict:
    """`lr=1e-3,n_bins=32` -> changes of an OnlineBenchConfig: a name of the online Algorithm (lr, negative_scale,
    kl_rollout_coef, entropy_coef, ...) changes `algo`, any other names a bench setting; values take the type of
    the setting's default."""
    algo_fields = {f.name for f in dataclasses.fields(Algorithm)}
    bench_fields = {f.name for f in dataclasses.fields(OnlineBenchConfig)} - {"algo", "preset"}
    algo, bench = {}, {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        target, default = (algo, getattr(BENCH_ALGORITHM, key, None)) if key in algo_fields else (
            bench, getattr(OnlineBenchConfig(), key, None))
        if key not in algo_fields | bench_fields:
            raise SystemExit(f"unknown setting {key!r} in variant {text!r}; see `srpo bench online --help`")
        target[key] = type(default)(value) if default is not None else value
    return {**bench, "algo": dataclasses.replace(BENCH_ALGORITHM, **algo)}


def _run(args) -> dict:
    base, variant, arm, seed = args
    config = dataclasses.replace(base, **parse_variant(variant), output_dir=f"{base.output_dir}/{variant or 'base'}")
    result = run_one(config, arm, seed)
    train = result["train"]
    mean = lambda key: float(np.nanmean([m.get(key, np.nan) for m in train]))  # noqa: E731
    return {"variant": variant, "arm": arm, "seed": seed, "start": result["eval"][0]["success_rate"],
            "final": final_eval(result), "curve": [round(e["success_rate"], 3) for e in result["eval"]],
            "greedy": [result["eval"][0].get("greedy_success"), final_eval(result, "greedy_success")],
            "kl_full": mean("kl_full"), "entropy_change": mean("entropy_change"),
            "success_logp_change": mean("success_logp_change"), "flags": flag_run(train),
            "updates": len(train), "minutes": round(result["seconds"] / 60, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=["lr=1e-4,negative_scale=1", "lr=1e-3"],
                        help="update variants (name=value,...)")
    parser.add_argument("--arms", nargs="+", default=["grpo", "shuffled"], help="arms per variant")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (each has its own warm start)")
    parser.add_argument("--env-steps", type=int, default=40_000, help="training env steps per run")
    parser.add_argument("--eval-every", type=int, default=3, help="updates between evaluations")
    parser.add_argument("--tasks", default="lift", help="sim tasks")
    parser.add_argument("--workers", type=int, default=2, help="runs at once (one process each)")
    parser.add_argument("--out", default="outputs/online_update_probe", help="run folders and probe.json")
    args = parser.parse_args()
    base = OnlineBenchConfig(output_dir=args.out, env_steps=args.env_steps, eval_every=args.eval_every,
                             tasks=args.tasks, eval_greedy=True)
    jobs = [(base, v, a, s) for v in args.variants for s in args.seeds for a in args.arms]
    rows = []
    with mp.get_context("spawn").Pool(max(1, min(args.workers, len(jobs)))) as pool:
        for row in pool.imap_unordered(_run, jobs):
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(f"{args.out}/probe.json", "w") as f:
        json.dump({"args": vars(args), "rows": rows}, f, indent=1)
    print("\n| variant | arm | seeds | sampled success warm start → final | gain | exact KL / update | "
          "entropy change / update | success-token Δ log-prob | flagged |\n|---|---|---|---|---|---|---|---|---|")
    for v in args.variants:
        for a in args.arms:
            rs = [r for r in rows if r["variant"] == v and r["arm"] == a]
            if rs:
                gain = [r["final"] - r["start"] for r in rs]
                print(f"| {v} | {a} | {len(rs)} | {np.mean([r['start'] for r in rs]):.3f} → "
                      f"{np.mean([r['final'] for r in rs]):.3f} | {100 * np.mean(gain):+.1f} pts "
                      f"({', '.join(f'{100 * g:+.0f}' for g in gain)}) | {np.mean([r['kl_full'] for r in rs]):.4f} | "
                      f"{np.mean([r['entropy_change'] for r in rs]):+.4f} | "
                      f"{np.nanmean([r['success_logp_change'] for r in rs]):+.4f} | "
                      f"{sum(bool(r['flags']) for r in rs)}/{len(rs)} |")


if __name__ == "__main__":
    main()
