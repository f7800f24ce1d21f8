"""Dynamic sampling (siiRL's filter_groups): rollout rounds until the step's batch of kept groups is full.

The rollouts are a scripted double (`scripted_rollout`: each group's successes are set by the test), so the
expected rounds and trained groups can be worked out by hand with siiRL's rule; everything else (the trainer's
rounds, filter, rewards and advantages) is the real code.
"""

from collections import Counter

import numpy as np

import srpo_online_sim.online as online
from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.mlp_policy import MLPPolicy, MLPPolicyConfig
from srpo_online_sim.rollout import Trajectory
from srpo_online_sim.xarm_sim import SimXArmSpec

N = 4  # rollouts per group
# successes of each group drawn, in order (2 groups per round): rounds 1 and 2 give one kept group (2 of 4 in
# group 2); round 3 gives two more (1 of 4 and 3 of 4)
SCRIPT = [4, 0, 2, 4, 1, 3, 2, 2]


def siirl_rounds(successes: list[int], groups_per_round: int, bounds=(0.1, 0.9)) -> tuple[int, list[int]]:
    """siiRL's loop written out: keep a group when low <= accuracy <= high; roll out another round while fewer
    than the step's batch of groups are kept; every kept group is trained on."""
    kept, rounds = [], 0
    while len(kept) < groups_per_round:
        batch = range(rounds * groups_per_round, (rounds + 1) * groups_per_round)
        kept += [g for g in batch if bounds[0] <= successes[g] / N <= bounds[1]]
        rounds += 1
    return rounds, kept


def run_step(tmp_path, dynamic: bool):
    spec = SimXArmSpec(tasks=("lift",), render=False)
    env = spec.build()
    states = env.reset(0, env.sample_init_state(0, 0)).observations  # a real state for the oracle metrics
    env.close()

    def scripted_rollout(policy, pool, requests, temperature, generator, keep_video, on_done, lockstep):
        trajs = []
        for k, r in enumerate(requests):
            t = Trajectory(r, success=k % N < SCRIPT[r.group], executed=[3], states=list(states))
            on_done(t)
            trajs.append(t)
        return trajs

    policy = MLPPolicy(MLPPolicyConfig(n_tasks=1, hidden=8), spec.instructions(), seed=0)
    algo = Algorithm(reward="grpo", groups_per_step=2, n_rollouts=N, dynamic_sampling=dynamic)
    trainer = online.OnlineTrainer(spec, policy, algo, tmp_path / ("dyn" if dynamic else "one"), num_envs=1,
                                   subprocess=False)
    trainer.draw_group = lambda pool, group: (0, np.zeros(3))
    trained = Counter()  # trajectories per group given an advantage (the update itself is tested elsewhere)
    trainer._update = lambda trajs, adv: trained.update(
        t.request.group for t, a in zip(trajs, adv) if not np.isnan(a)) or {}
    original = online.rollout
    online.rollout = scripted_rollout
    try:
        metrics = trainer.train_step(pool=None)
    finally:
        online.rollout = original
    return metrics, trained, trainer


def test_dynamic_sampling_rolls_out_until_the_batch_of_kept_groups_is_full(tmp_path):
    rounds, kept = siirl_rounds(SCRIPT, 2)
    assert (rounds, kept) == (3, [2, 4, 5])  # the hand count of the script
    metrics, trained, trainer = run_step(tmp_path, dynamic=True)
    assert metrics["rollout_rounds"] == rounds and sorted(trained) == kept
    assert all(n == N for n in trained.values())  # whole groups
    assert metrics["kept_groups"] == len(kept) and trainer.groups_drawn == 2 * rounds
    assert metrics["env_steps"] == 3 * N * 2 * rounds
    # without it (the default preset's default): one round, whatever it keeps (here nothing)
    metrics, trained, trainer = run_step(tmp_path, dynamic=False)
    assert metrics["rollout_rounds"] == 1 and not trained and trainer.groups_drawn == 2
