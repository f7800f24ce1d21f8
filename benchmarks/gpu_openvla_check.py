"""GPU check of OpenVLA* at real size: load, one rollout step (56 action tokens per env in one pass), memory and
tokens/s, optionally one update step. Prints "skipped: no GPU" and exits 0 on a machine without CUDA.

    python benchmarks/gpu_openvla_check.py /path/to/OpenVLA-AC-PD-1traj-libero-spatial --unnorm-key libero_spatial
    python benchmarks/gpu_openvla_check.py            # no checkpoint here: random weights, published structure
    python benchmarks/gpu_openvla_check.py --shard-plan --ranks 1 2 4 8      # memory per GPU, no GPU needed
    torchrun --nproc_per_node 8 benchmarks/gpu_openvla_check.py --fsdp --update   # measured, sharded (GPUs)

With a checkpoint folder (HF OpenVLA-OFT layout, e.g. `hf download Sylvest/OpenVLA-AC-PD-1traj-libero-spatial`)
it reports what the loader mapped (lsN.scale_factor -> lsN.gamma, statistics key, action vocabulary). Without one
it builds the published structure (DINOv2 ViT-L/14-reg + SigLIP So400m/14 at 224 px, Llama 2 7B) with random
weights on the GPU, which measures memory and speed but not the actions.

--shard-plan: memory per GPU of sharded training (`srpo libero train --fsdp`, FSDP2) for 1/2/4/8 ranks, from the
published structure's real parameter shapes (built on the meta device: no memory, no GPU) and FSDP2's sharding
rule (dim 0 in ceil(rows / ranks) chunks, `srpo_online_sim.sharding.shard_numel`, checked against the shards of a
real 2-process run in tests/libero/test_sharding.py): fp32 weights + fp32 gradients + AdamW's two fp32 states =
16 bytes per held element, plus the bf16 weights FSDP all-gathers at once (the root unit's and two blocks': the
running one and the prefetched next). Activations come on top and depend on the micro-batch (measured with
--fsdp --update on GPUs).
--fsdp (under torchrun, on GPUs): shards the model over the ranks, measures one rollout step and one update step
and prints every rank's peak memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

PUBLISHED_TEXT_CONFIG = {"vocab_size": 32064, "pad_token_id": 32000}  # the rest: LlamaConfig's (= Llama 2 7B)


def random_published_policy(device: str):
    """The published structure with random weights (no tokenizer needed: prompts are made of random ids)."""
    from srpo_online_sim.openvla.action_tokenizer import ActionStats
    from srpo_online_sim.openvla.model import OpenVLAStar, OpenVLAStarConfig, VisionSpec
    from srpo_online_sim.openvla.policy import OpenVLAStarPolicy

    config = OpenVLAStarConfig(
        vision=(VisionSpec("vit_large_patch14_reg4_dinov2.lvd142m"), VisionSpec("vit_so400m_patch14_siglip_224")),
        image_size=224, text_config=PUBLISHED_TEXT_CONFIG, vocab_size=32000)
    with torch.device(device):
        model = OpenVLAStar(config)
    stats = ActionStats.from_dict({"q01": [-1.0] * 7, "q99": [1.0] * 7, "mask": [True] * 6 + [False]})
    return OpenVLAStarPolicy(model.eval(), tokenizer=None, stats=stats)


def random_inputs(policy, batch: int, prompt_len: int = 24) -> dict[str, torch.Tensor]:
    """Preprocessed random frames and random prompt ids (BOS first), as `policy.prepare` returns them."""
    from srpo_online_sim.openvla.images import preprocess_image

    cfg = policy.model.config
    rng = np.random.default_rng(0)
    frames = np.stack([preprocess_image(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), cfg.image_size)
                       for _ in range(batch)])
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255.0)
    pixel = torch.cat([(x - torch.tensor(m)[:, None, None]) / torch.tensor(s)[:, None, None]
                       for m, s, _ in zip(cfg.image_mean, cfg.image_std, cfg.vision)], dim=1)
    ids = torch.from_numpy(rng.integers(3, cfg.vocab_size - cfg.n_bins, (batch, prompt_len)))
    ids[:, 0] = 1
    dtype = next(policy.model.parameters()).dtype
    return {"pixel_values": pixel.to(policy.device, dtype), "input_ids": ids.to(policy.device),
            "attention_mask": torch.ones_like(ids).to(policy.device)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(policy, batch: int, repeats: int = 3, update: bool = False, temperature: float = 1.6) -> dict:
    """One rollout step (act on `batch` frames) timed over `repeats`; optionally one AdamW update step."""
    device = policy.device
    inputs = random_inputs(policy, batch)
    policy.act(inputs, temperature)  # warm-up (kernels, autocast caches)
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        out = policy.act(inputs, temperature)
    _sync(device)
    step_s = (time.perf_counter() - start) / repeats
    n_tokens = out.slice_tokens.numel()
    result = {"batch": batch, "rollout_step_s": step_s, "action_tokens_per_s": n_tokens / step_s,
              "actions_finite": bool(np.isfinite(out.actions).all())}
    if device.type == "cuda":
        result["memory_after_rollout_gib"] = torch.cuda.max_memory_allocated() / 2**30
    if update:
        optimizer = torch.optim.AdamW([p for p in policy.model.parameters() if p.requires_grad], lr=5e-6)
        policy.model.train()
        try:
            start = time.perf_counter()
            log_probs = policy.log_probs(inputs, out.slice_tokens.to(device), temperature)
            (-log_probs.mean()).backward()
            optimizer.step()
            _sync(device)
            result["update_step_s"] = time.perf_counter() - start
        except torch.OutOfMemoryError as err:
            result["update_error"] = f"out of memory: {str(err).splitlines()[0]}"
        if device.type == "cuda":
            result["memory_after_update_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return result


def shard_plan(ranks: list[int]) -> list[dict]:
    """Per-GPU memory of sharded AdamW training of the published structure, for each number of ranks."""
    from srpo_online_sim.sharding import blocks, shard_numel

    policy = random_published_policy("meta")
    model = policy.model
    in_blocks = {id(p) for b in blocks(model) for p in b.parameters()}
    root = sum(p.numel() for p in model.parameters() if id(p) not in in_blocks)
    largest = max(sum(p.numel() for p in b.parameters()) for b in blocks(model))
    total = sum(p.numel() for p in model.parameters())
    rows = []
    for k in ranks:
        held = sum(shard_numel(p.shape, k) for p in model.parameters())
        state = 16 * held  # fp32 weight + gradient + AdamW exp_avg + exp_avg_sq
        gathered = 2 * (root + 2 * largest) if k > 1 else 0  # bf16 all-gathered units (unsharded: none)
        rows.append({"ranks": k, "parameters_b": total / 1e9, "held_per_rank_b": held / 1e9,
                     "weights_grads_adamw_gb": state / 1e9, "all_gathered_bf16_gb": gathered / 1e9,
                     "total_before_activations_gb": (state + gathered) / 1e9})
    return rows


def fsdp_measure(batch: int, update: bool) -> dict:
    """Under torchrun on GPUs: the random published structure sharded over the ranks (built on the meta device,
    then each rank materialises only its shard); one rollout step and optionally one update; peak memory."""
    import torch.distributed as dist

    from srpo_online_sim.openvla.loading import _rebuild_rotary
    from srpo_online_sim.sharding import shard

    dist.init_process_group("nccl")
    rank = dist.get_rank()
    torch.cuda.set_device(rank % torch.cuda.device_count())
    policy = random_published_policy("meta")
    shard(policy.model, bf16=True)
    policy.model.to_empty(device="cuda")
    with torch.no_grad():
        for p in policy.model.parameters():
            p.to_local().normal_(0.0, 0.02)
    _rebuild_rotary(policy.model, "cuda")
    result = measure(policy, batch, update=update)
    peaks = [None] * dist.get_world_size()
    dist.all_gather_object(peaks, torch.cuda.max_memory_allocated() / 2**30)
    dist.destroy_process_group()
    return {"rank": rank, "ranks": len(peaks), "peak_memory_gib_per_rank": peaks, **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", nargs="?", default=None, help="published-format checkpoint folder (optional)")
    parser.add_argument("--unnorm-key", default=None, help="statistics key, e.g. libero_spatial")
    parser.add_argument("--batch", type=int, default=8, help="envs stepped by one rollout step")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 weights (default fp32 weights + bf16 autocast)")
    parser.add_argument("--update", action="store_true", help="also one backward + AdamW step")
    parser.add_argument("--shard-plan", action="store_true", help="memory per GPU of sharded training (no GPU used)")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4, 8], help="rank counts for --shard-plan")
    parser.add_argument("--fsdp", action="store_true", help="under torchrun: shard over the ranks, measure memory")
    args = parser.parse_args(argv)
    if args.shard_plan:
        print(json.dumps(shard_plan(args.ranks), indent=1))
        return 0
    if not torch.cuda.is_available():
        print("skipped: no GPU (torch.cuda.is_available() is False)")
        return 0
    if args.fsdp:
        result = fsdp_measure(args.batch, args.update)
        if result["rank"] == 0:
            print(json.dumps(result, indent=1))
        return 0
    dtype = torch.bfloat16 if args.bf16 else torch.float32
    start = time.perf_counter()
    if args.checkpoint:
        from srpo_online_sim.openvla.loading import load_policy

        if not Path(args.checkpoint).is_dir():
            print(f"error: {args.checkpoint} is not a folder", file=sys.stderr)
            return 2
        policy = load_policy(args.checkpoint, unnorm_key=args.unnorm_key, device="cuda", dtype=dtype)
        print(policy.load_report)
    else:
        policy = random_published_policy("cuda")
        policy.model.to(dtype)
    policy.autocast = True
    load_s = time.perf_counter() - start
    n_params = sum(p.numel() for p in policy.model.parameters())
    result = {"gpu": torch.cuda.get_device_name(), "checkpoint": args.checkpoint or "random weights",
              "parameters_b": n_params / 1e9, "weights": str(dtype), "load_s": load_s,
              "memory_after_load_gib": torch.cuda.memory_allocated() / 2**30,
              **measure(policy, args.batch, update=args.update)}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
