"""Online SRPO / GRPO on LIBERO with OpenVLA*.

One training step:
1. pick ``groups_per_step`` (task, initial state) pairs; initial states are sampled from the task's placement
   distribution (never LIBERO's official evaluation states);
2. roll out ``n_rollouts`` trajectories per pair at ``temperature``;
3. encode every trajectory's video with the world-model encoder and compute rewards per TASK with
   ``srpo_offline.progress.trajectory_rewards`` (successes 1, failures by distance to the task's successes;
   alpha = 0 is plain GRPO);
4. keep the groups with 1..n-1 successes (option), advantages (r - mean_group) / (std_group + 1e-6);
5. one epoch of the token-level clipped objective (+ optional KL to the reference policy), AdamW, grad clip.

Several GPUs: launch with ``torchrun --nproc_per_node K``; each rank rolls out its share of the groups,
rewards are computed from the gathered embeddings of all ranks, and gradients are all-reduced before
every optimizer step.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from srpo.errors import UserFacingError
from srpo_online_sim.envs import EnvConfig, EnvPool, official_init_states, task_names
from srpo_online_sim.objective import clipped_loss, group_advantages, kl_to_reference, mixed_groups
from srpo_online_sim.rollout import Request, Trajectory, rollout

TRAIN_SEED_OFFSET = 1_000_000  # training initial states use env seeds from here on


@dataclass(frozen=True)
class TrainConfig:
    suite: str = "spatial"  # LIBERO suite
    policy: str = "Sylvest/OpenVLA-AC-PD-1traj-libero-spatial"  # checkpoint folder, hub id, or "tiny" (tests)
    unnorm_key: str | None = None  # which dataset statistics of the checkpoint un-normalise actions
    output_dir: str = "runs/libero"  # checkpoints, metrics.jsonl and TensorBoard logs
    steps: int = 100  # training steps
    tasks: tuple[int, ...] | None = None  # task ids to train on; None = every task of the suite
    groups_per_step: int = 8  # (task, initial state) groups per step (siiRL: 64)
    n_rollouts: int = 8  # rollouts per group
    keep_mixed_only: bool = True  # drop groups whose rollouts all succeed or all fail
    temperature: float = 1.6  # sampling temperature for rollouts (and for the log-probs)
    reward_variant: str = "paper"  # trajectory_rewards variant: paper | siirl | nearest
    alpha: float = 0.8  # failure reward scale; 0 = plain GRPO (failures get 0)
    encoder: str = "vjepa2"  # world-model encoder for rollout videos: vjepa2 | image | pixel
    encoder_model: str | None = None  # encoder hub id or folder; None = the encoder's default
    clip_low: float = 0.2  # ratio clip below 1
    clip_high: float = 0.28  # ratio clip above 1
    kl_coef: float = 0.0  # weight of KL(pi || pi_ref); 0 = no reference policy kept (siiRL)
    lr: float = 5e-6  # AdamW learning rate
    weight_decay: float = 0.0  # AdamW weight decay
    grad_clip: float = 1.0  # max gradient norm
    micro_batch: int = 8  # decisions per forward/backward in the update
    num_envs: int = 8  # LIBERO environments (one subprocess each unless subprocess=False)
    subprocess: bool = True  # run envs in worker processes
    max_steps: int | None = None  # env step limit; None = the suite default
    save_every: int = 10  # checkpoint every k steps (and at the end)
    seed: int = 0  # torch / sampling seed
    device: str = "cuda" if torch.cuda.is_available() else "cpu"  # policy device
    bf16: bool = False  # keep the policy in bfloat16 (GPU)


def build_policy(name: str, unnorm_key: str | None, device: str, dtype: torch.dtype):
    from srpo_online_sim.openvla.loading import load_policy, tiny_policy

    if name == "tiny":
        policy = tiny_policy()
        policy.model.to(device, dtype)
        return policy
    return load_policy(name, unnorm_key=unnorm_key, device=device, dtype=dtype)


class Logger:
    """metrics.jsonl always; TensorBoard when installed."""

    def __init__(self, folder: Path, enabled: bool):
        self.enabled = enabled
        self.path = folder / "metrics.jsonl"
        self.tb = None
        if enabled:
            folder.mkdir(parents=True, exist_ok=True)
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(folder / "tb"))
            except ImportError:
                self.tb = None

    def log(self, step: int, metrics: dict) -> None:
        if not self.enabled:
            return
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **metrics}) + "\n")
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(k, v, step)
            self.tb.flush()


def _dist():
    """(rank, world_size), initialising torch.distributed when launched by torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Trainer:
    def __init__(self, config: TrainConfig, encoder=None):
        self.config = config
        self.rank, self.world = _dist()
        if self.world > 1 and config.device.startswith("cuda"):
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", self.rank)))
        self.out = Path(config.output_dir)
        self.env_config = EnvConfig(suite=config.suite, max_steps=config.max_steps)
        self.instructions = task_names(config.suite)
        self.tasks = list(config.tasks) if config.tasks is not None else list(range(len(self.instructions)))
        bad = [t for t in self.tasks if not 0 <= t < len(self.instructions)]
        if bad:
            raise UserFacingError(f"task ids {bad} not in suite {config.suite} (0..{len(self.instructions) - 1})")
        dtype = torch.bfloat16 if config.bf16 else torch.float32
        self.policy = build_policy(config.policy, config.unnorm_key, config.device, dtype)
        self.reference = copy.deepcopy(self.policy.model).eval().requires_grad_(False) if config.kl_coef else None
        self.optimizer = torch.optim.AdamW(self.policy.model.parameters(), lr=config.lr,
                                           weight_decay=config.weight_decay)
        self.encoder = encoder if encoder is not None else self._build_encoder()
        self.step = 0
        self.generator = torch.Generator(device=config.device).manual_seed(config.seed + self.rank)
        self.logger = Logger(self.out, enabled=self.rank == 0)
        self._eval_states = {t: official_init_states(config.suite, t) for t in self.tasks}

    def _build_encoder(self):
        from srpo_offline.encoders import build_encoder

        return build_encoder(self.config.encoder, self.config.encoder_model, device=self.config.device)

    # ------------------------------------------------------------------ checkpoints
    def save(self) -> Path:
        from srpo_online_sim.openvla.loading import save_policy

        folder = self.out / "checkpoints" / f"step_{self.step:06d}"
        save_policy(self.policy, folder)
        torch.save(self.optimizer.state_dict(), folder / "optimizer.pt")
        (folder / "trainer_state.json").write_text(json.dumps({"step": self.step, "config": asdict(self.config)}))
        return folder

    def resume(self) -> bool:
        """Continue from the newest checkpoint under output_dir, if any."""
        from srpo_online_sim.openvla.loading import load_policy

        folders = sorted((self.out / "checkpoints").glob("step_*"))
        if not folders:
            return False
        latest = folders[-1]
        loaded = load_policy(str(latest), device=self.config.device)
        self.policy.model.load_state_dict(loaded.model.state_dict())
        self.optimizer.load_state_dict(torch.load(latest / "optimizer.pt", map_location=self.config.device))
        self.step = json.loads((latest / "trainer_state.json").read_text())["step"]
        return True

    # ------------------------------------------------------------------ one step
    def _requests(self, pool: EnvPool) -> list[Request]:
        """This rank's share of the step's groups, n_rollouts requests each, on fresh training states."""
        cfg = self.config
        requests = []
        for g in range(self.rank, cfg.groups_per_step, self.world):
            task = self.tasks[(self.step * cfg.groups_per_step + g) % len(self.tasks)]
            seed = TRAIN_SEED_OFFSET + self.step * cfg.groups_per_step + g
            state = pool.call("sample_init_state", [(task, seed)], [0])[0]
            if np.any(np.all(np.isclose(self._eval_states[task], state[None]), axis=1)):
                raise RuntimeError(f"training state for task {task} equals an evaluation state")
            group = self.step * cfg.groups_per_step + g
            requests += [Request(task, self.instructions[task], state, group)] * cfg.n_rollouts
        return requests

    def _gather(self, items: list) -> list:
        if self.world == 1:
            return items
        import torch.distributed as dist

        out = [None] * self.world
        dist.all_gather_object(out, items)
        return [x for part in out for x in part]

    def _rewards(self, trajs: list[Trajectory], embeddings: np.ndarray) -> tuple[np.ndarray, dict]:
        """Rewards per task over every rank's trajectories (the reference set is the task's successes)."""
        from srpo_offline.progress import trajectory_rewards

        mine = [(t.request.task_id, t.request.group, bool(t.success), e) for t, e in zip(trajs, embeddings)]
        everything = self._gather(mine)
        tasks = np.array([x[0] for x in everything])
        success = np.array([x[2] for x in everything])
        emb = np.stack([x[3] for x in everything])
        rewards = np.zeros(len(everything))
        stats = defaultdict(list)
        for task in np.unique(tasks):
            idx = np.flatnonzero(tasks == task)
            res = trajectory_rewards(emb[idx], success[idx], variant=self.config.reward_variant,
                                     alpha=self.config.alpha)
            rewards[idx] = res.rewards
            stats["n_clusters"].append(res.n_clusters)
            stats["n_noise"].append(res.n_noise)
            stats["fell_back_to_mean"].append(float(res.fell_back_to_mean))
        groups = np.array([x[1] for x in everything])
        adv = group_advantages(rewards, groups)
        keep = mixed_groups(success, groups) if self.config.keep_mixed_only else np.ones(len(groups), bool)
        metrics = {
            "success_rate": float(success.mean()),
            "reward_mean": float(rewards.mean()),
            "reward_std": float(rewards.std()),
            "failure_reward_mean": float(rewards[~success].mean()) if (~success).any() else 0.0,
            "kept_fraction": float(keep.mean()),
            **{k: float(np.mean(v)) for k, v in stats.items()},
        }
        # this rank's rows of the gathered arrays: ranks gather in order, so find our offset
        offset = sum(self._gather([len(mine)])[: self.rank])
        sl = slice(offset, offset + len(mine))
        return np.where(keep[sl], adv[sl], np.nan), metrics

    def _update(self, trajs: list[Trajectory], advantages: np.ndarray) -> dict:
        cfg = self.config
        decisions = [(t, i, a) for t, a in zip(trajs, advantages) if not np.isnan(a) for i in range(len(t.tokens))]
        n_tokens = torch.tensor(float(sum(len(t.tokens[i]) for t, i, _ in decisions)))
        if self.world > 1:
            import torch.distributed as dist

            dist.all_reduce(n_tokens)
        model = self.policy.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        totals = defaultdict(float)
        for start in range(0, len(decisions), cfg.micro_batch):
            batch = decisions[start : start + cfg.micro_batch]
            inputs = self.policy.prepare([t.observations[i] for t, i, _ in batch],
                                         [t.request.instruction for t, _, _ in batch])
            tokens = torch.stack([t.tokens[i] for t, i, _ in batch]).to(cfg.device)
            old = torch.stack([t.old_log_probs[i] for t, i, _ in batch]).to(cfg.device)
            adv = torch.tensor([a for _, _, a in batch], device=cfg.device)
            new = self.policy.log_probs(inputs, tokens, cfg.temperature)
            loss, stats = clipped_loss(new, old, adv, cfg.clip_low, cfg.clip_high)
            if self.reference is not None:
                with torch.no_grad():
                    ref_logits = self.reference.action_logits(inputs["pixel_values"], inputs["input_ids"],
                                                              inputs["attention_mask"])
                    ref = torch.log_softmax(ref_logits / cfg.temperature, -1).gather(-1, tokens[..., None])[..., 0]
                kl = kl_to_reference(new, ref).sum()
                loss = loss + cfg.kl_coef * kl
                totals["kl_ref"] += float(kl.detach())
            (loss / n_tokens.to(loss.device)).backward()
            totals["loss"] += float(loss.detach())
            totals["clipped_tokens"] += float(stats["clipped_tokens"])
            totals["kl_old"] += float(stats["kl_old_sum"])
        if self.world > 1:
            import torch.distributed as dist

            for p in model.parameters():
                if p.grad is not None:
                    dist.all_reduce(p.grad)
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        if decisions or self.world > 1:
            self.optimizer.step()
        model.eval()
        denom = max(float(n_tokens), 1.0)
        return {
            "loss": totals["loss"] / denom,
            "clip_fraction": totals["clipped_tokens"] / denom,
            "kl_old": totals["kl_old"] / denom,
            "kl_ref": totals["kl_ref"] / denom,
            "grad_norm": float(grad_norm),
            "decisions": len(decisions),
        }

    def train_step(self, pool: EnvPool) -> dict:
        t0 = time.perf_counter()
        embeddings: dict[int, np.ndarray] = {}

        def encode_and_free(traj: Trajectory) -> None:
            embeddings[id(traj)] = self.encoder.encode([traj.video])[0]
            traj.frames = []

        trajs = rollout(self.policy, pool, self._requests(pool), self.config.temperature, self.generator,
                        on_done=encode_and_free)
        t1 = time.perf_counter()
        advantages, metrics = self._rewards(trajs, np.stack([embeddings[id(t)] for t in trajs]))
        t2 = time.perf_counter()
        metrics.update(self._update(trajs, advantages))
        t3 = time.perf_counter()
        self.step += 1
        metrics.update({"time_rollout_s": t1 - t0, "time_reward_s": t2 - t1, "time_update_s": t3 - t2})
        self.logger.log(self.step, metrics)
        return metrics

    def train(self, progress: bool = True, pool: EnvPool | None = None) -> list[dict]:
        """Train until ``config.steps``; uses ``pool`` when given (its envs are left open), else builds one."""
        from contextlib import nullcontext

        from tqdm import tqdm

        history = []
        owned = pool is None
        pool = pool or EnvPool(self.env_config, self.config.num_envs, subprocess=self.config.subprocess)
        with pool if owned else nullcontext(pool):
            bar = tqdm(total=self.config.steps, initial=self.step, disable=not progress or self.rank != 0,
                       desc="srpo libero train")
            while self.step < self.config.steps:
                m = self.train_step(pool)
                history.append(m)
                bar.update(1)
                bar.set_postfix(success=f"{m['success_rate']:.2f}", kept=f"{m['kept_fraction']:.2f}")
                if self.rank == 0 and (self.step % self.config.save_every == 0 or self.step == self.config.steps):
                    self.save()
            bar.close()
        return history
