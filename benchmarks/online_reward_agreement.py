"""How well SRPO's rewards track the oracle on the online bench's own rollouts, per encoder: one batch of groups
rolled out by a seed's BC warm start (the bench's cached one where --output-dir holds it), scored by `srpo` with
each encoder (a fitted one on the seed's warm-start demonstrations, as `srpo bench online` does) and compared with
the oracle's progress. No training: a probe of the reward, not of learning. The same generator seed replays the
same rollouts for every encoder (rendering its own camera; the state control renders none).

    PYTHONPATH=. .venv/bin/python benchmarks/online_reward_agreement.py --output-dir outputs/bench_place \\
        --tasks place --seed 0 --groups 16 --encoders pixel learned state
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from srpo_online_sim.online import TRAIN_SEED_OFFSET, encoder_input
from srpo_online_sim.pool import EnvPool
from srpo_online_sim.rewards import oracle_agreement, signal_fraction, trajectory_rewards
from srpo_online_sim.rollout import Request, rollout
from srpo_online_sim.sim_bench import BENCH_ALGORITHM, OnlineBenchConfig, _encoder, _warm_start, arm_setup
from srpo_online_sim.xarm_sim import SimXArmSpec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output-dir", default="outputs/bench_online", help="bench folder (warm starts, fitted encoders)")
    p.add_argument("--tasks", default="place")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--groups", type=int, default=16, help="initial states, 8 rollouts each")
    p.add_argument("--encoders", nargs="+", default=["pixel", "learned", "state"])
    args = p.parse_args()
    torch.set_num_threads(1)
    config = OnlineBenchConfig(tasks=args.tasks, output_dir=args.output_dir)
    spec = SimXArmSpec(tasks=config.task_list, render=False)
    policy, _ = _warm_start(config, spec, args.seed, Path(args.output_dir) / "warm_start" / f"seed_{args.seed}")
    outcomes = None
    print("| encoder | camera | success | signal (binary → srpo) | Spearman with oracle, all / failures | s |")
    print("|---|---|---|---|---|---|")
    for name in args.encoders:
        t0 = time.perf_counter()
        _, _, camera, _ = arm_setup(config, f"srpo:{name}")
        renders = camera != "state"
        spec = SimXArmSpec(tasks=config.task_list, reward_camera=camera if renders else "front", render=renders)
        encoder = _encoder(config, spec, name, camera, args.seed)
        with EnvPool(spec, config.num_envs, subprocess=False) as pool:
            requests = []
            for g in range(args.groups):
                task = g % len(config.task_list)
                state = pool.call("sample_init_state", [(task, TRAIN_SEED_OFFSET + g)], [0])[0]
                requests += [Request(task, spec.instructions()[task], state, g)] * 8
            gen = torch.Generator().manual_seed(args.seed)
            trajs = rollout(policy, pool, requests, BENCH_ALGORITHM.temperature, gen, keep_video=renders)
        success = np.array([t.success for t in trajs])
        if outcomes is not None and not np.array_equal(outcomes, success):
            raise SystemExit("the replayed rollouts differ between encoders; the comparison would not be paired")
        outcomes = success
        groups = np.array([t.request.group for t in trajs])
        tasks = np.array([t.request.task_id for t in trajs])
        oracle = np.array([spec.trajectory_oracle(t.request.task_id, t.states) for t in trajs])
        emb = encoder.encode([encoder_input(encoder, t) for t in trajs])
        rewards, _ = trajectory_rewards("srpo", success, tasks, emb, oracle, alpha=BENCH_ALGORITHM.alpha)
        agree = oracle_agreement(rewards, oracle, success)
        print(f"| {name} | {camera} | {success.mean():.3f} | "
              f"{signal_fraction(success.astype(float), groups):.2f} → {signal_fraction(rewards, groups):.2f} | "
              f"{agree.get('oracle_spearman', float('nan')):.2f} / {agree.get('oracle_spearman_failures', float('nan')):.2f} | "
              f"{time.perf_counter() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
