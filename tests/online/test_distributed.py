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
np.savez(f"{folder}/rank{rank}.npz", start=start.numpy(), end=end.numpy(),
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
