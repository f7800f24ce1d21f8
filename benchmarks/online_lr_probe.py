"""Does the online update keep sampled success, or collapse it? One reward, one seed, several learning rates.

Each learning rate trains `srpo bench online`'s policy from the same BC warm start (seed 0) to the same env-step
budget and prints the success rate of the rollouts of every update (sampled at the rollout temperature: the
quantity GRPO's objective raises) and greedy success on the held-out states before and after. A too-large
step lowers sampled success while greedy success can still rise (docs/online.md).

    PYTHONPATH=. .venv/bin/python benchmarks/online_lr_probe.py --lrs 1e-3 3e-4 1e-4 --reward grpo
"""

import argparse
import json
from dataclasses import replace

from srpo_offline.encoders import choose_encoder
from srpo_online_sim.sim_bench import OnlineBenchConfig, run_one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-4, 1e-4], help="learning rates to compare")
    parser.add_argument("--reward", default="grpo", help="grpo | srpo | oracle")
    parser.add_argument("--env-steps", type=int, default=40_000, help="training env steps per learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the warm start and of the rollouts")
    parser.add_argument("--out", default="outputs/online_lr_probe", help="run folders (warm start cached per lr)")
    args = parser.parse_args()
    base = OnlineBenchConfig(env_steps=args.env_steps, eval_every=10**6)
    encoder, camera, _ = choose_encoder(base.encoder, base.model, base.reward_camera)
    rows = []
    for lr in args.lrs:
        config = replace(base, algo=replace(base.algo, lr=lr), output_dir=f"{args.out}/{args.reward}_lr{lr:g}")
        result = run_one(config, args.reward, args.seed, encoder, camera)
        rollout = [round(r["success_rate"], 2) for r in result["train"]]
        greedy = [round(e["success_rate"], 3) for e in result["eval"]]
        rows.append({"lr": lr, "reward": args.reward, "rollout_success_per_update": rollout,
                     "greedy_before_after": [greedy[0], greedy[-1]], "seconds": round(result["seconds"])})
        print(json.dumps(rows[-1]), flush=True)
    print("\n| lr | sampled success per update | greedy before -> after |\n|---|---|---|")
    for r in rows:
        print(f"| {r['lr']:g} | {' '.join(f'{s:.2f}' for s in r['rollout_success_per_update'])} | "
              f"{r['greedy_before_after'][0]:.2f} -> {r['greedy_before_after'][1]:.2f} |")


if __name__ == "__main__":
    main()
