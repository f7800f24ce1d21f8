"""The online SRPO / GRPO trainer, for any world that implements `srpo_online_sim.protocols` (LIBERO + OpenVLA*,
the simulated xArm + an MLP, or a simulator added later as one module).

One training step:
1. pick ``groups_per_step`` (task, initial state) pairs; initial states come from the env's placement
   distribution with seeds disjoint from any evaluation (`draw_group`; LIBERO can use its official ones);
2. roll out ``n_rollouts`` trajectories per pair at ``temperature``; with ``dynamic_sampling`` (siiRL's
   filter_groups), more rounds of groups until at least ``groups_per_step`` pass the accuracy filter;
3. keep the groups whose success rate lies in ``accuracy_bounds`` (option); with ``filter_before_reward`` this
   happens BEFORE rewards, as in siiRL, so only kept groups give references and normalisation;
4. trajectory rewards (`srpo_online_sim.rewards`): ``srpo`` encodes the reward camera's video with the
   world-model encoder and shapes failures by their distance to the task's successes in the batch
   (`srpo_offline.progress.grouped_trajectory_rewards`); ``grpo`` is binary success; ``oracle`` is the dense
   progress the world computes from its privileged state (``per_rank_references``: each rank's own trajectories
   are its references, as siiRL). Advantages (r - mean_group) / (std_group + 1e-6);
5. PPO mini-batches (`srpo_online_sim.update`): one optimiser step per ``mini_batch`` trajectories (old
   log-probs recomputed first with ``recompute_old_log_probs``).

Several processes: launch with ``torchrun --nproc_per_node K`` (or any torch.distributed launcher: gloo on
CPU, nccl on GPUs). Each rank rolls out its share of the groups, rewards are computed from the gathered
trajectories of all ranks, and gradients are all-reduced before every optimizer step; rank 0's initial weights
are broadcast so every rank starts equal. With ``shard`` (`srpo_online_sim.sharding.shard`, FSDP2) each rank holds
a shard of the weights, gradients and optimizer states, and rollouts and updates run in lockstep.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from srpo.errors import UserFacingError
from srpo.run_log import RunLog
from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.diagnostics import UpdateProbe
from srpo_online_sim.objective import accuracy_filter, group_advantages, shuffle_advantages
from srpo_online_sim.pool import EnvPool
from srpo_online_sim.rewards import oracle_agreement, signal_fraction, trajectory_rewards
from srpo_online_sim.rollout import Request, Trajectory, rollout
from srpo_online_sim.update import ppo_update

TRAIN_SEED_OFFSET = 1_000_000  # training initial states use env seeds from here on


def distributed() -> tuple[int, int]:
    """(rank, world_size), initialising torch.distributed when launched by torchrun (nccl on CUDA, else gloo)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def reads_state(encoder) -> bool:
    """True for an encoder of the simulator's state (the `state` control), which sees no camera."""
    return getattr(encoder, "camera", None) == "state"


def encoder_input(encoder, traj: Trajectory) -> np.ndarray:
    """What `encoder` scores of a trajectory: its reward-camera video (T x H x W x 3), or for the state encoder its
    per-step observations as T x D state features over the keys the encoder was fitted on."""
    if not reads_state(encoder):
        return traj.video
    from srpo_offline.encoders.fitting import state_sequence

    if not traj.states:
        raise UserFacingError("the state encoder needs the env's per-step observations (the simulated xArm sends "
                              "them); this world sends none: use a camera encoder")
    return state_sequence(traj.states, tuple(encoder.meta["keys"]))


class OnlineTrainer:
    """Online policy optimisation of `policy` in the world `spec` (an EnvSpec), logging to `output_dir`.

    `encoder` (encode(inputs) -> [N, D]) is needed for reward "srpo": it scores each trajectory's reward-camera
    video, or (the state encoder, camera "state": a privileged control) its per-step simulator state; the world's `trajectory_oracle(task_id,
    states)` (when the spec has one) gives the oracle reward and the agreement metrics. `diagnostics` logs what
    each update did to the policy (`srpo_online_sim.diagnostics`: exact KL over the full distributions, entropy
    per action dimension, success tokens' log-prob change) at the states of this rank's trained trajectories;
    it costs two extra forward passes over the batch.
    """

    def __init__(self, spec, policy, algo: Algorithm, output_dir: str | Path, tasks: list[int] | None = None,
                 encoder=None, num_envs: int = 8, subprocess: bool = True, resume_log: bool = False,
                 header: dict | None = None, progress_desc: str = "online train", shard=None,
                 diagnostics: bool = False):
        self.spec = spec
        self.policy = policy
        self.algo = algo
        self.rank, self.world = distributed()
        self.out = Path(output_dir)
        self.instructions = spec.instructions()
        self.tasks = list(tasks) if tasks is not None else list(range(len(self.instructions)))
        bad = [t for t in self.tasks if not 0 <= t < len(self.instructions)]
        if bad:
            raise UserFacingError(f"task ids {bad} not in this world (0..{len(self.instructions) - 1})")
        if algo.reward == "srpo" and algo.alpha > 0 and encoder is None:
            raise UserFacingError("reward srpo needs a world-model encoder (encode(videos) -> [N, D])")
        if algo.reward == "oracle" and not hasattr(spec, "trajectory_oracle"):
            raise UserFacingError(f"{type(spec).__name__} has no oracle (privileged sim state); use srpo or grpo")
        self.encoder = encoder
        self.num_envs, self.subprocess = num_envs, subprocess
        if self.world > 1:
            import torch.distributed as dist

            for p in policy.model.parameters():  # every rank starts from rank 0's weights
                dist.broadcast(p.data, 0)
        self.sharded = shard is not None  # shard(model): FSDP2 over the ranks (srpo_online_sim.sharding.shard)
        if self.sharded:
            if algo.groups_per_step % self.world or algo.kl_coef or algo.kl_rollout_coef:
                raise UserFacingError("sharded training needs groups_per_step divisible by the number of ranks "
                                      "(every rank makes the same forward passes), and --algo.kl-coef 0 and "
                                      "--algo.kl-rollout-coef 0 (a frozen copy of a sharded model is not kept)")
            shard(policy.model)
        self.reference = copy.deepcopy(policy.model).eval().requires_grad_(False) if algo.kl_coef else None
        self.optimizer = torch.optim.AdamW(policy.model.parameters(), lr=algo.lr, weight_decay=algo.weight_decay)
        self.step = 0
        self.env_steps = 0  # env steps of every rank's rollouts so far
        self.groups_drawn = 0  # groups rolled out so far (dynamic sampling draws more than groups_per_step a step)
        self.generator = torch.Generator(device=policy.device).manual_seed(algo.seed + self.rank)
        self.log = RunLog(self.out, header=header or {"algorithm": asdict(algo)}, resume=resume_log,
                          enabled=self.rank == 0, tensorboard="tb")
        self.progress_desc = progress_desc
        self.diagnostics = diagnostics

    # ------------------------------------------------------------------ checkpoints
    def save(self) -> Path:
        """Called on every rank: sharded weights are gathered (a collective), rank 0 writes them; each rank
        writes its optimizer shard (resuming then needs the same number of ranks)."""
        folder = self.out / "checkpoints" / f"step_{self.step:06d}"
        if self.sharded:
            self.policy.save(folder, write=self.rank == 0)
            folder.mkdir(parents=True, exist_ok=True)
            torch.save(self.optimizer.state_dict(), folder / f"optimizer_rank{self.rank}.pt")
        if self.rank != 0:
            return folder
        if not self.sharded:
            self.policy.save(folder)
            torch.save(self.optimizer.state_dict(), folder / "optimizer.pt")
        state = {"step": self.step, "env_steps": self.env_steps, "groups_drawn": self.groups_drawn,
                 "config": self._config_record()}
        (folder / "trainer_state.json").write_text(json.dumps(state, default=str))
        return folder

    def _config_record(self) -> dict:
        return asdict(self.algo)

    def resume(self) -> bool:
        """Continue from the newest checkpoint under output_dir, if any."""
        folders = sorted((self.out / "checkpoints").glob("step_*"))
        if not folders:
            return False
        latest = folders[-1]
        self.policy.load_weights(latest)
        optimizer = latest / (f"optimizer_rank{self.rank}.pt" if self.sharded else "optimizer.pt")
        if not optimizer.exists():
            raise UserFacingError(f"{latest} has no {optimizer.name}: resume with as many ranks (and sharding) as "
                                  "the run that wrote it")
        self.optimizer.load_state_dict(torch.load(optimizer, map_location=self.policy.device))
        state = json.loads((latest / "trainer_state.json").read_text())
        self.step, self.env_steps = state["step"], state.get("env_steps", 0)
        self.groups_drawn = state.get("groups_drawn", self.step * self.algo.groups_per_step)
        return True

    # ------------------------------------------------------------------ one step
    def draw_group(self, pool: EnvPool, group: int) -> tuple[int, np.ndarray]:
        """(task, initial state) of the `group`-th group of the run: tasks in turn, a fresh state sampled from the
        task's placement distribution with a seed apart from any evaluation (LIBERO can use its official ones)."""
        task = self.tasks[group % len(self.tasks)]
        return task, pool.call("sample_init_state", [(task, TRAIN_SEED_OFFSET + group)], [0])[0]

    def _requests(self, pool: EnvPool) -> list[Request]:
        """This rank's share of the next groups_per_step groups, n_rollouts requests each."""
        a = self.algo
        requests = []
        for g in range(self.rank, a.groups_per_step, self.world):
            group = self.groups_drawn + g
            task, state = self.draw_group(pool, group)
            requests += [Request(task, self.instructions[task], state, group)] * a.n_rollouts
        self.groups_drawn += a.groups_per_step
        return requests

    def _kept_groups(self, trajs: list[Trajectory]) -> int:
        """Groups of every rank's `trajs` that pass the accuracy filter."""
        rows = self._gather([(t.request.group, bool(t.success)) for t in trajs])
        groups = np.array([g for g, _ in rows])
        keep = accuracy_filter(np.array([s for _, s in rows]), groups, self.algo.accuracy_bounds)
        return len(np.unique(groups[keep]))

    def _gather(self, items: list) -> list:
        if self.world == 1:
            return items
        import torch.distributed as dist

        out = [None] * self.world
        dist.all_gather_object(out, items)
        return [x for part in out for x in part]

    def _score(self, rows: list[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        """(rewards, keep, advantages, clustering results) of (task, group, success, embedding, oracle) rows.

        Rewards per task (the reference set is the task's successes among the rows); groups outside
        accuracy_bounds are dropped after the rewards, or before them with filter_before_reward (siiRL).
        """
        a = self.algo
        tasks, groups = np.array([x[0] for x in rows]), np.array([x[1] for x in rows])
        success = np.array([x[2] for x in rows], dtype=bool)
        keep = (accuracy_filter(success, groups, a.accuracy_bounds) if a.keep_mixed_only
                else np.ones(len(groups), bool))
        rewards, results = trajectory_rewards(a.reward, success, tasks, np.stack([x[3] for x in rows]),
                                              np.array([x[4] for x in rows], dtype=np.float64),
                                              keep=keep if a.filter_before_reward else None,
                                              variant=a.reward_variant, alpha=a.alpha)
        adv = np.full(len(groups), np.nan)
        if keep.any():
            adv[keep] = group_advantages(rewards[keep], groups[keep], ddof=1)  # siiRL: torch.std (unbiased)
        if a.reward == "shuffled":  # the no-information control: the same rows on every rank draw the same permutation
            adv = shuffle_advantages(adv, np.random.default_rng([a.seed, self.step]))
        return rewards, keep, adv, list(results.values())

    def _rewards(self, trajs: list[Trajectory], embeddings: np.ndarray | None = None,
                 oracle: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        """Advantages of this rank's trajectories (NaN = not trained on), and the step's reward metrics.

        The references are every rank's trajectories, or with per_rank_references this rank's own (siiRL computes
        rewards on each rank's share of the filtered batch).
        """
        a = self.algo
        n = len(trajs)
        emb = embeddings if embeddings is not None else np.zeros((n, 1))
        orc = oracle if oracle is not None else np.full(n, np.nan)
        mine = [(t.request.task_id, t.request.group, bool(t.success), e, o) for t, e, o in zip(trajs, emb, orc)]
        everything = self._gather(mine)
        offset = sum(self._gather([len(mine)])[: self.rank])  # ranks gather in order: this rank's rows
        if a.per_rank_references:
            rewards, keep, adv, res = self._score(mine)
            mine_adv = adv
            scored = self._gather(list(zip(rewards.tolist(), keep.tolist(), adv.tolist())))  # for the metrics
            rewards, keep, adv = (np.array([x[i] for x in scored]) for i in range(3))
            keep = keep.astype(bool)
            res = self._gather(res)
        else:
            rewards, keep, adv, res = self._score(everything)
            mine_adv = adv[offset : offset + len(mine)]
        groups = np.array([x[1] for x in everything])
        success = np.array([x[2] for x in everything], dtype=bool)
        orc_all = np.array([x[4] for x in everything], dtype=np.float64)
        rewarded = ~np.isnan(rewards)
        failed = rewarded & ~success
        metrics = {
            "success_rate": float(success.mean()),
            "reward_mean": float(rewards[rewarded].mean()) if rewarded.any() else 0.0,
            "reward_std": float(rewards[rewarded].std()) if rewarded.any() else 0.0,
            "failure_reward_mean": float(rewards[failed].mean()) if failed.any() else 0.0,
            "kept_fraction": float(keep.mean()),
            "kept_groups": len(np.unique(groups[keep])),
            "signal_fraction": signal_fraction(np.where(keep, rewards, np.nan), groups),
            "signal_fraction_unfiltered": signal_fraction(rewards, groups),
            "signal_fraction_binary": signal_fraction(np.where(keep, success.astype(float), np.nan), groups),
            "groups_all_failed": float(np.mean([not success[groups == g].any() for g in np.unique(groups)])),
            "n_clusters": float(np.mean([r.n_clusters for r in res])) if res else 0.0,
            "n_noise": float(np.mean([r.n_noise for r in res])) if res else 0.0,
            "fell_back_to_mean": float(np.mean([r.fell_back_to_mean for r in res])) if res else 0.0,
        }
        if np.isfinite(orc_all).all():
            metrics.update(oracle_agreement(rewards, orc_all, success))
        return mine_adv, metrics

    def _update(self, trajs: list[Trajectory], advantages: np.ndarray) -> dict:
        trained = [t for t, a in zip(trajs, advantages) if not np.isnan(a)]
        probe = UpdateProbe(self.policy, trained, self.algo.temperature) if self.diagnostics else None
        metrics, _ = ppo_update(self.policy, self.optimizer, trajs, advantages, self.algo, self.reference,
                                self.world)
        if probe is not None:
            metrics.update(probe.after())
        return metrics

    def train_step(self, pool: EnvPool) -> dict:
        t0 = time.perf_counter()
        embeddings: dict[int, np.ndarray] = {}
        oracle = getattr(self.spec, "trajectory_oracle", None)
        oracles: dict[int, float] = {}
        use_encoder = self.algo.reward == "srpo" and self.algo.alpha > 0

        def encode_and_free(traj: Trajectory) -> None:
            if use_encoder:
                embeddings[id(traj)] = self.encoder.encode([encoder_input(self.encoder, traj)])[0]
            if oracle is not None:
                oracles[id(traj)] = oracle(traj.request.task_id, traj.states)
            traj.frames = []

        # dynamic sampling (siiRL's filter_groups): more rounds of groups until enough of them pass the filter;
        # every kept group of the rounds is trained on (siiRL's DataCoordinator hands out its whole queue)
        trajs, rounds = [], 0
        while True:
            trajs += rollout(self.policy, pool, self._requests(pool), self.algo.temperature, self.generator,
                             keep_video=use_encoder and not reads_state(self.encoder), on_done=encode_and_free,
                             lockstep=self.sharded)
            rounds += 1
            if (not self.algo.dynamic_sampling or not self.algo.keep_mixed_only or rounds >= self.algo.max_rounds
                    or self._kept_groups(trajs) >= self.algo.groups_per_step):
                break
        t1 = time.perf_counter()
        emb = np.stack([embeddings[id(t)] for t in trajs]) if use_encoder and trajs else None
        orc = np.array([oracles[id(t)] for t in trajs]) if oracle is not None else None
        advantages, metrics = self._rewards(trajs, emb, orc)
        t2 = time.perf_counter()
        metrics.update(self._update(trajs, advantages))
        t3 = time.perf_counter()
        self.step += 1
        self.env_steps += int(sum(self._gather([sum(sum(t.executed) for t in trajs)])))
        metrics.update({"env_steps": self.env_steps, "rollout_rounds": rounds, "time_rollout_s": t1 - t0, "time_reward_s": t2 - t1,
                        "time_update_s": t3 - t2})
        self.log.add("train", self.step, metrics)
        self.log.flush()
        return metrics

    def make_pool(self) -> EnvPool:
        return EnvPool(self.spec, self.num_envs, subprocess=self.subprocess)

    def train(self, steps: int, progress: bool = True, pool: EnvPool | None = None, save_every: int = 0,
              callback=None) -> list[dict]:
        """Train until `steps` updates (or until `callback(trainer, metrics)` returns True); uses `pool` when
        given (its envs are left open), else builds one. Checkpoints every `save_every` steps and at the end
        (0: never)."""
        from contextlib import nullcontext

        history = []
        owned = pool is None
        pool = pool or self.make_pool()
        with pool if owned else nullcontext(pool):
            bar = self.log.progress(total=steps, initial=self.step, desc=self.progress_desc, enabled=progress)
            while self.step < steps:
                m = self.train_step(pool)
                history.append(m)
                bar.update(1)
                bar.set_postfix(success=f"{m['success_rate']:.2f}", signal=f"{m['signal_fraction']:.2f}")
                if save_every and (self.step % save_every == 0 or self.step == steps):
                    self.save()
                if callback is not None and callback(self, m):
                    break
            bar.close()
        self.log.flush()
        return history
