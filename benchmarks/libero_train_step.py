"""Rollout + update time of one online SRPO training step with the tiny OpenVLA* (CPU), and the forward of
56 action tokens in one pass vs token-by-token decoding (the reason for parallel decoding).

    PYTHONPATH=. python benchmarks/libero_train_step.py --envs 2 --n-rollouts 2 --max-steps 32

The training step is the real one (LIBERO rollouts in subprocess workers, pixel encoder, trajectory_rewards,
clipped update); only the model is tiny. Env build time is excluded (a warm-up step builds them).
"""

import argparse
import json
import tempfile
import time

import torch

from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.envs import EnvPool
from srpo_online_sim.openvla.loading import tiny_policy
from srpo_online_sim.trainer import TrainConfig, Trainer


def decode_ratio(repeats: int = 5) -> dict:
    """One forward for all 56 tokens vs a prefix forward plus 55 cached one-token forwards (same image work)."""
    policy = tiny_policy()
    inputs = policy.prepare([torch.zeros(256, 256, 3, dtype=torch.uint8).numpy()], ["open the top drawer"])
    model = policy.model
    with torch.no_grad():
        start = time.perf_counter()
        for _ in range(repeats):
            policy.logits(inputs)
        parallel = (time.perf_counter() - start) / repeats
        embed = model.language_model.get_input_embeddings()
        start = time.perf_counter()
        for _ in range(repeats):
            patches = model.projector(model.vision_backbone(inputs["pixel_values"]))
            text = embed(inputs["input_ids"])
            seq = torch.cat([text[:, :1], patches, text[:, 1:]], dim=1)
            out = model.language_model(inputs_embeds=seq, use_cache=True)
            cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            for _ in range(55):
                out = model.language_model(input_ids=nxt, past_key_values=cache, use_cache=True)
                cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
        sequential = (time.perf_counter() - start) / repeats
    return {"parallel_s": parallel, "token_by_token_s": sequential, "speedup": sequential / parallel}


def main() -> None:
    torch.set_num_threads(1)  # steady timings on a shared machine; the env workers have their own processes
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, default=2)
    parser.add_argument("--n-rollouts", type=int, default=2)
    parser.add_argument("--groups", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=32)
    parser.add_argument("--steps", type=int, default=2, help="timed training steps (after one warm-up)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(policy="tiny", output_dir=out, steps=args.steps + 1, tasks=(0,),
                             algo=Algorithm(groups_per_step=args.groups, n_rollouts=args.n_rollouts,
                                            keep_mixed_only=False), encoder="pixel", num_envs=args.envs, max_steps=args.max_steps, device="cpu",
                             save_every=10_000)
        trainer = Trainer(config)
        with EnvPool(trainer.env_config, args.envs) as pool:
            trainer.train_step(pool)  # warm-up: builds the envs
            steps = [trainer.train_step(pool) for _ in range(args.steps)]
    env_steps = args.groups * args.n_rollouts * args.max_steps
    rollout = sum(m["time_rollout_s"] for m in steps) / len(steps)
    update = sum(m["time_update_s"] for m in steps) / len(steps)
    reward = sum(m["time_reward_s"] for m in steps) / len(steps)
    print(f"training step ({args.groups}x{args.n_rollouts} rollouts, <= {args.max_steps} env steps, {args.envs} envs): "
          f"rollout {rollout:.1f} s, reward {reward:.2f} s, update {update:.2f} s "
          f"(update = {update / rollout:.3f}x rollout); {env_steps / rollout:.1f} env steps/s in rollouts")
    dec = decode_ratio()
    print(f"tiny OpenVLA*: 56 tokens in one pass {1000 * dec['parallel_s']:.1f} ms vs token-by-token "
          f"{1000 * dec['token_by_token_s']:.1f} ms ({dec['speedup']:.1f}x)")
    print(json.dumps({"rollout_s": rollout, "reward_s": reward, "update_s": update, **dec}))


if __name__ == "__main__":
    main()
