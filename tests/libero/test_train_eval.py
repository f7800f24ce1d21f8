"""End to end on real LIBERO envs with the tiny OpenVLA*: one training step, resume, and the evaluation files."""

import json

import numpy as np
import pytest
import torch

from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.envs import official_init_states
from srpo_online_sim.evaluate import EvalConfig, evaluate
from srpo_online_sim.rollout import Request
from srpo_online_sim.trainer import TrainConfig, Trainer

from .conftest import SUITE, TASK

pytestmark = pytest.mark.slow


def test_one_train_step_runs_end_to_end_and_changes_parameters(tmp_path, env_pool, solved_state):
    config = TrainConfig(suite=SUITE, policy="tiny", output_dir=str(tmp_path / "run"), steps=1, tasks=(TASK,),
                         algo=Algorithm(n_rollouts=2, keep_mixed_only=False, temperature=1.6, lr=1e-3),
                         encoder="pixel", num_envs=2, subprocess=False, device="cpu")
    trainer = Trainer(config)
    instruction = trainer.instructions[TASK]
    official = official_init_states(SUITE, TASK)[3]
    # group 0 starts solved (the env reports success), group 1 does not: SRPO shapes group 1's failures
    requests = [Request(TASK, instruction, solved_state, 0)] * 2 + [Request(TASK, instruction, official, 1)] * 2
    trainer._requests = lambda pool: requests
    before = [p.detach().clone() for p in trainer.policy.model.parameters()]
    metrics = trainer.train(progress=False, pool=env_pool)[0]
    assert metrics["success_rate"] == 0.5
    assert 0 < metrics["failure_reward_mean"] < config.algo.alpha
    assert metrics["decisions"] == 2 * 1 + 2 * 3  # solved: 1 chunk each; failures: 24 steps = 3 chunks each
    assert metrics["grad_norm"] > 0
    changed = sum(not torch.equal(a, b) for a, b in zip(before, trainer.policy.model.parameters()))
    assert changed > len(before) // 2
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert logged[0]["step"] == 1 and {"clip_fraction", "kl_old", "n_clusters", "reward_std"} <= set(logged[0])
    # the checkpoint written at the end resumes to the same weights and step
    fresh = Trainer(config)
    assert fresh.resume() and fresh.step == 1
    for a, b in zip(fresh.policy.model.parameters(), trainer.policy.model.parameters()):
        torch.testing.assert_close(a, b)


def test_eval_writes_a_well_formed_table(tmp_path, env_pool):
    out = tmp_path / "eval"
    config = EvalConfig(suite=SUITE, policy="tiny", output_dir=str(out), tasks=(TASK,), trials=2, num_envs=2,
                        subprocess=False, device="cpu")
    report = evaluate(config, progress=False, pool=env_pool)
    assert [t["trials"] for t in report["tasks"]] == [2] and report["trials"] == 2
    assert report["suite_success_rate"] == report["tasks"][0]["success_rate"] == 0.0  # random policy, 24 steps
    saved = json.loads((out / "results.json").read_text())
    assert saved["tasks"][0]["instruction"].startswith("pick up the black bowl")
    table = (out / "results.md").read_text().splitlines()
    assert table[0].startswith("| task |") and len(table) == 2 + 1 + 1
    assert all(row.count("|") == table[0].count("|") for row in table)
    assert np.isclose(float(table[-1].split("|")[-2].strip(" *%")), 0.0)
    assert (out / "results.png").stat().st_size > 1000
