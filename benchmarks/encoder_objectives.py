"""Which fitted-encoder objective tracks oracle progress on stores it was NOT fitted on?

For each task, each training store, each objective and each training seed: fit the encoder on that store
(`fit_encoder`, cached), score every OTHER store of the task with it (`compute_reward_run`, stride 2) and compare
with the oracle (`reward_fidelity`): per-episode Spearman on successes and failures, and the approach-phase
share of the rise on successes. Stores are recorded once per (task, seed) with the offline benchmark's default
operator mix (40 episodes). Prints a markdown table (mean, min-max over seeds x held-out stores) and writes
OUT/results.json.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/encoder_objectives.py --out outputs/enc \
        --tasks lift place --store-seeds 100 101 102 --fit-seeds 0 1 2 --objectives goal_distance tcn vip latent
"""

import argparse
import json
from pathlib import Path

import numpy as np


def stores(out: Path, task: str, seeds, episodes: int) -> list[Path]:
    from srpo.store import EpisodeStore
    from srpo_offline.offline_bench import DEFAULT_MIX, OfflineBenchConfig, record_seed_store
    from srpo_offline.oracle import compute_oracle_run

    paths = []
    for seed in seeds:
        p = record_seed_store(OfflineBenchConfig(), task, seed, out / f"{task}_s{seed}" / "store.zarr", DEFAULT_MIX,
                              1.0, episodes)
        if "oracle" not in EpisodeStore.open(p).derived_runs():
            compute_oracle_run(p, name="oracle")
        paths.append(p)
    return paths


def score(train: Path, held_out: Path, encoder: str, camera: str, objective: str, seed: int, steps: int) -> dict:
    from srpo_offline.encoders.fitting import FitConfig, fit_encoder
    from srpo_offline.fidelity import reward_fidelity
    from srpo_offline.reward_run import RewardConfig, compute_reward_run

    model = fit_encoder(FitConfig(store=str(train), encoder=encoder, camera=camera, objective=objective, seed=seed,
                                  steps=steps), progress=False)
    name = f"eval_{encoder}_{camera}_{objective}_s{seed}_from_{train.parent.name}_{steps}"
    compute_reward_run(RewardConfig(store=str(held_out), encoder=encoder, model=str(model), camera=camera, stride=2,
                                    run_name=name, overwrite=True))
    f = reward_fidelity(held_out, name, "oracle")
    return {"rho_success": f["spearman"]["success"]["mean"], "rho_failure": f["spearman"]["failure"]["mean"],
            "approach_share": f["approach"]["run_share"]["success"]["mean"],
            "oracle_approach_share": f["approach"]["oracle_share"]["success"]["mean"]}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="outputs/enc", help="stores and results")
    parser.add_argument("--tasks", nargs="+", default=["lift", "place"])
    parser.add_argument("--store-seeds", type=int, nargs="+", default=[100, 101, 102], help="one store per seed")
    parser.add_argument("--episodes", type=int, default=40, help="episodes per store")
    parser.add_argument("--fit-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--objectives", nargs="+", default=["goal_distance", "tcn", "vip", "latent"])
    parser.add_argument("--encoder", default="learned", help="learned or state")
    parser.add_argument("--camera", default="camera0", help="store camera of the learned encoder")
    parser.add_argument("--steps", type=int, default=400, help="fit updates")
    parser.add_argument("--train-stores", type=int, default=1, help="how many stores per task to fit on (the first ones)")
    parser.add_argument("--held-out", type=int, default=2, help="how many of the other stores to score")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else []
    done = {(r["task"], r["encoder"], r["camera"], r["objective"], r["seed"], r["train"], r["held_out"], r["steps"])
            for r in results}
    for task in args.tasks:
        paths = stores(out, task, args.store_seeds, args.episodes)
        for train in paths[:args.train_stores]:
            for objective in args.objectives:
                for seed in args.fit_seeds:
                    for held_out in [p for p in paths if p != train][:args.held_out]:
                        key = (task, args.encoder, args.camera, objective, seed, str(train), str(held_out), args.steps)
                        if key in done:
                            continue
                        row = score(train, held_out, args.encoder, args.camera, objective, seed, args.steps)
                        results.append(dict(zip(("task", "encoder", "camera", "objective", "seed", "train",
                                                 "held_out", "steps"), key), **row))
                        results_path.write_text(json.dumps(results, indent=1))
                        print(json.dumps(results[-1]), flush=True)
    print(table(results))


def table(results: list[dict]) -> str:
    def cell(rows, key) -> str:
        v = np.array([r[key] for r in rows if r[key] is not None], dtype=float)
        return f"{v.mean():.2f} ({v.min():.2f}–{v.max():.2f})" if v.size else "–"

    groups = {}
    for r in results:
        groups.setdefault((r["encoder"], r["camera"], r["objective"], r["steps"], r["task"]), []).append(r)
    lines = ["| encoder, camera, objective, steps | task | n | ρ successes | ρ failures | approach share (oracle) |",
             "|---|---|---|---|---|---|"]
    for (enc, cam, obj, steps, task), rows in sorted(groups.items()):
        lines.append(f"| {enc}, {cam}, {obj}, {steps} | {task} | {len(rows)} | {cell(rows, 'rho_success')} | "
                     f"{cell(rows, 'rho_failure')} | {cell(rows, 'approach_share')} "
                     f"({cell(rows, 'oracle_approach_share')}) |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
