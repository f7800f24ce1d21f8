"""Data-parallel online training through torch.distributed: 2 CPU processes (gloo), one step, same parameters."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# One rank's program (each rank is its own Python process, as under torchrun).
RANK_PROGRAM = """
import sys
import numpy as np
import torch
import torch.distributed as dist

rank, world, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world)
from srpo_online_sim.mlp_policy import MLPPolicy, MLPPolicyConfig
from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.online import OnlineTrainer
from srpo_online_sim.pool import EnvPool
from srpo_online_sim.xarm_sim import SimXArmSpec

spec = SimXArmSpec(tasks=("lift",), max_steps=12, render=False)
# each rank builds different weights: the trainer must start every rank from rank 0's
policy = MLPPolicy(MLPPolicyConfig(n_tasks=1, hidden=32), spec.instructions(), seed=100 + rank)
start = torch.cat([p.detach().flatten() for p in policy.model.parameters()]).clone()
algo = Algorithm(reward="oracle", groups_per_step=4, n_rollouts=2, keep_mixed_only=False, temperature=1.0,
                 lr=1e-2, mini_batch=4, seed=0)
trainer = OnlineTrainer(spec, policy, algo, f"{folder}/run", num_envs=2, subprocess=False)
with EnvPool(spec, 2, subprocess=False) as pool:
    requests = trainer._requests(pool)
    metrics = trainer.train_step(pool)
end = torch.cat([p.detach().flatten() for p in policy.model.parameters()])
# reward references: one task, one group per rank (a success and three failures), 1-D embeddings
import dataclasses
from srpo_online_sim.rollout import Request, Trajectory
emb = np.array([[0.0], [1.0], [2.0], [4.0]]) if rank == 0 else np.array([[10.0], [9.0], [7.0], [3.0]])
trajs = [Trajectory(Request(0, "lift", np.zeros(1), 10 + rank), success=i == 0) for i in range(4)]
refs = {}
for per_rank in (False, True):
    trainer.algo = dataclasses.replace(algo, reward="srpo", reward_variant="nearest", alpha=0.8,
                                       per_rank_references=per_rank)
    refs[per_rank] = trainer._rewards(trajs, emb)[0]
# lockstep rollout (a sharded policy's forward passes are collectives): rank 1's episodes run longer, so rank 0
# must keep joining forward passes after its own envs are done
from srpo_online_sim.rollout import rollout
long_spec = SimXArmSpec(tasks=("lift",), max_steps=12 + 8 * rank, render=False)
calls = [0]
act = policy.act
policy.act = lambda *a, **k: calls.__setitem__(0, calls[0] + 1) or act(*a, **k)
with EnvPool(long_spec, 2, subprocess=False) as pool:
    state = pool.call("sample_init_state", [(0, 5)], [0])[0]
    lock = rollout(policy, pool, [Request(0, spec.instructions()[0], state, 0)] * 2, 1.0, lockstep=True)
np.savez(f"{folder}/rank{rank}.npz", start=start.numpy(), end=end.numpy(), pooled=refs[False], per_rank=refs[True],
         act_calls=calls[0], lock_steps=[sum(t.executed) for t in lock], lock_decisions=[len(t.tokens) for t in lock],
         groups=np.array(sorted({r.group for r in requests})), env_steps=metrics["env_steps"],
         optimizer_steps=metrics["optimizer_steps"], trained=metrics["trained_trajectories"])
dist.destroy_process_group()
"""


@pytest.mark.timeout(300)
def test_two_gloo_processes_end_a_step_with_identical_parameters(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", RANK_PROGRAM, str(r), "2", str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in range(2)]
    for p in procs:
        out, _ = p.communicate(timeout=280)
        assert p.returncode == 0, out[-3000:]
    r0, r1 = (np.load(tmp_path / f"rank{r}.npz") for r in range(2))
    assert not np.array_equal(r0["start"], r1["start"])  # they began different
    np.testing.assert_array_equal(r0["end"], r1["end"])  # one step later: bit-identical on both ranks
    assert np.abs(r0["end"] - r0["start"]).max() > 1e-4  # and the step moved rank 0's weights
    assert r0["groups"].tolist() == [0, 2] and r1["groups"].tolist() == [1, 3]  # each rank rolled out its share
    assert int(r0["trained"]) == int(r1["trained"]) == 8 and int(r0["optimizer_steps"]) == 2
    assert int(r0["env_steps"]) == int(r1["env_steps"]) and int(r0["env_steps"]) > 8
    assert (tmp_path / "run" / "metrics.jsonl").exists()  # rank 0 logs, rank 1 does not write a second log
    # reward references, written out from the formula (paper's phi over the failures of the reference set, distance
    # to the nearest success; GRPO advantages with the unbiased std): pooled = every rank's trajectories of the
    # task; per rank (siiRL: rewards on each rank's own share) = this rank's alone
    def phi(d):
        d = np.array(d, dtype=float)
        return 0.8 / (1 + np.exp((d - d.mean()) / d.std()))  # 0.8 sigmoid(-(d - mean) / std)

    def grpo(r):
        r = np.array(r, dtype=float)
        return (r - r.mean()) / (r.std(ddof=1) + 1e-6)

    pooled = phi([1, 2, 4, 1, 3, 3])  # successes at 0 and 10: rank 1's failure at 3 is nearer rank 0's success
    np.testing.assert_allclose(r0["pooled"], grpo([1, *pooled[:3]]), atol=1e-9)
    np.testing.assert_allclose(r1["pooled"], grpo([1, *pooled[3:]]), atol=1e-9)
    np.testing.assert_allclose(r0["per_rank"], grpo([1, *phi([1, 2, 4])]), atol=1e-9)
    np.testing.assert_allclose(r1["per_rank"], grpo([1, *phi([1, 3, 7])]), atol=1e-9)
    assert np.abs(r1["per_rank"] - r1["pooled"]).max() > 0.05
    # lockstep: as many forward passes on both ranks, each rank's trajectories its own length (chunks of 4 steps;
    # the lift episodes run to their step limit or succeed earlier)
    assert int(r0["act_calls"]) == int(r1["act_calls"]) == max(r1["lock_decisions"])
    assert max(r0["lock_decisions"]) < int(r0["act_calls"]) and all(s <= 12 for s in r0["lock_steps"])
