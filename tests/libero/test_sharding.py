"""Sharded training (FSDP2, `srpo_online_sim.sharding`) on CPU: 2 gloo processes take one PPO step of the tiny
OpenVLA* that equals the single-process step on the same trajectories, with and without gradient checkpointing."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# One rank's program. Rank 0 first takes the single-process step (unsharded, every trajectory, world 1) as the
# reference; then both ranks take the sharded step (rank 0 holds trajectories 0-2, rank 1 trajectory 3: unequal
# shares, so the idle rank's padded passes are exercised too).
PROGRAM = """
import sys
import numpy as np
import torch
import torch.distributed as dist

rank, world, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world)
from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.openvla.loading import tiny_policy
from srpo_online_sim.rollout import Request, Trajectory
from srpo_online_sim.sharding import shard, shard_numel
from srpo_online_sim.update import ppo_update

def trajectories(policy):
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
    trajs = []
    for k, executed in enumerate([[8], [8, 5], [8, 8, 2], [3]]):
        t = Trajectory(Request(0, "pick up the black bowl", np.zeros(3), k))
        for e in executed:
            image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            out = policy.act(policy.prepare([image], ["pick up the black bowl"]), temperature=1.6, generator=gen)
            t.observations.append(image); t.tokens.append(out.slice_tokens[0]); t.executed.append(e)
            t.old_log_probs.append(out.log_probs[0] + 0.05)  # stale, as after a bf16 rollout
        trajs.append(t)
    return trajs

algo = Algorithm(mini_batch=4, micro_batch=2, temperature=1.6, clip_low=0.2, clip_high=0.28, grad_clip=1.0,
                 recompute_old_log_probs=True)
advantages = np.array([1.0, -0.5, 2.0, -1.5])
out = {}
for mode, checkpointing in ([("single", False)] if rank == 0 else []) + [("sharded", False), ("sharded", True)]:
    policy = tiny_policy(seed=1)
    trajs = trajectories(policy)
    out["start"] = np.concatenate([p.detach().numpy().ravel() for p in policy.model.parameters()])
    names = [n for n, _ in policy.model.named_parameters()]
    shapes = [p.shape for p in policy.model.parameters()]
    if mode == "single":
        mine, adv, n = trajs, advantages, 1
    else:
        n = world
        shard(policy.model, bf16=False, checkpointing=checkpointing)
        mine, adv = (trajs[:3], advantages[:3]) if rank == 0 else (trajs[3:], advantages[3:])
        local = sum(p.to_local().numel() for p in policy.model.parameters())
        assert local == sum(shard_numel(s, world) for s in shapes) or rank == world - 1, (local, rank)
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=1e-3)
    metrics, steps = ppo_update(policy, optimizer, mine, adv, algo, world=n)
    full = [(p.full_tensor() if hasattr(p, "full_tensor") else p).detach().numpy().ravel()
            for p in policy.model.parameters()]
    key = "single" if mode == "single" else str(checkpointing)
    out[f"params_{key}"] = np.concatenate(full)
    out[f"loss_{key}"] = metrics["loss"]
    out[f"grad_norm_{key}"] = metrics["grad_norm"]
    out[f"steps_{key}"] = metrics["optimizer_steps"]
    if mode == "sharded" and not checkpointing:  # checkpoint round trip: gathered by every rank, written by rank 0
        policy.save(f"{folder}/ckpt", write=rank == 0)
        dist.barrier()
        fresh = tiny_policy(seed=2)
        shard(fresh.model, bf16=False)
        fresh.load_weights(f"{folder}/ckpt")
        out["reloaded"] = np.concatenate([p.full_tensor().detach().numpy().ravel() for p in fresh.model.parameters()])
if rank == 0:
    np.savez(f"{folder}/rank0.npz", **out)
dist.destroy_process_group()
"""


def _run(world: int, folder: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", PROGRAM, str(r), str(world), str(folder)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in range(world)]
    for p in procs:
        out, _ = p.communicate(timeout=280)
        assert p.returncode == 0, out[-3000:]


@pytest.mark.timeout(600)
def test_one_sharded_step_equals_the_single_process_step(tmp_path):
    _run(2, tmp_path)
    single = sharded = np.load(tmp_path / "rank0.npz")
    for ckpt in (False, True):
        assert int(sharded[f"steps_{ckpt}"]) == int(single["steps_single"]) == 1
        # the same loss and gradient norm: the reduce-scatter sums what the single process accumulates; float32
        # sums in another order differ by a few ulps (relative 1e-6 leaves a 10x margin over what was seen)
        assert float(sharded[f"loss_{ckpt}"]) == pytest.approx(float(single["loss_single"]), rel=1e-5, abs=1e-7)
        assert float(sharded[f"grad_norm_{ckpt}"]) == pytest.approx(float(single["grad_norm_single"]), rel=1e-5)
        # AdamW's first step is lr * g / (|g| + eps), about +-lr = 1e-3 per weight: a 1e-6 relative gradient
        # difference moves it by far less than 1e-7
        np.testing.assert_allclose(sharded[f"params_{ckpt}"], single["params_single"], rtol=0, atol=1e-6)
    assert np.abs(single["params_single"] - single["start"]).max() > 5e-4  # and the step did move the weights
    np.testing.assert_array_equal(sharded["reloaded"], sharded["params_False"])  # sharded save / load_weights
