"""Online SRPO / GRPO on LIBERO with OpenVLA*.

One training step:
1. pick ``groups_per_step`` (task, initial state) pairs; initial states are sampled from the task's placement
   distribution (never LIBERO's official evaluation states);
2. roll out ``n_rollouts`` trajectories per pair at ``temperature``;
3. keep the groups whose success rate lies in ``accuracy_bounds`` (option); with ``filter_before_reward`` this
   happens BEFORE rewards, as in siiRL, so only kept groups give references and normalisation;
4. encode every trajectory's video with the world-model encoder and compute rewards per TASK with
   ``srpo_offline.progress.grouped_trajectory_rewards`` (successes 1, failures by distance to the task's
   successes; alpha = 0 is plain GRPO); advantages (r - mean_group) / (std_group + 1e-6), unbiased std;
5. PPO mini-batches (``srpo_online_sim.update``): one optimiser step per ``mini_batch`` trajectories, token-mean
   within a trajectory then mean over trajectories, unexecuted actions masked; AdamW, grad clip.

Presets: ``srpo`` (this project's defaults) and ``siirl`` (the authors' released settings,
sii-research/siiRL examples/embodied_srpo_trainer/run_openvla_oft_libero_*.sh and the paper); a field left at
None takes its preset's value (`TrainConfig.resolved`). docs/libero.md lists the differences.

Several GPUs: launch with ``torchrun --nproc_per_node K``; each rank rolls out its share of the groups,
rewards are computed from the gathered embeddings of all ranks, and gradients are all-reduced before
every optimizer step.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from srpo.errors import UserFacingError
from srpo_online_sim.envs import (
    EnvConfig,
    EnvPool,
    check_suite,
    official_init_states,
    parse_task_ids,
    task_names,
)
from srpo_online_sim.objective import accuracy_filter, group_advantages
from srpo_online_sim.openvla.loading import default_policy
from srpo_online_sim.rollout import Request, Trajectory, rollout
from srpo_online_sim.update import UpdateSettings, ppo_update

TRAIN_SEED_OFFSET = 1_000_000  # training initial states use env seeds from here on

# Values of the fields a preset decides (those left at None). siiRL: run_openvla_oft_libero_*.sh
# (TRAIN_BATCH_SIZE 64 x ROLLOUT_N_SAMPLES 8, MAX_EPISODE_STEPS 512, filter_accuracy before compute_reward,
# reward_score/embodied.py) and the paper's mini-batch of 128 trajectories out of 512.
PRESETS: dict[str, dict] = {
    "srpo": {"groups_per_step": 8, "mini_batch": 16, "max_steps": None, "filter_before_reward": False,
             "reward_variant": "paper"},
    "siirl": {"groups_per_step": 64, "mini_batch": 128, "max_steps": 512, "filter_before_reward": True,
              "reward_variant": "siirl"},
}


@dataclass(frozen=True)
class TrainConfig:
    """Online SRPO (or GRPO with --alpha 0) on LIBERO rollouts: roll OpenVLA* out, reward failures by world-model
    progress towards the task's successes, and update with the clipped objective in PPO mini-batches.
    --preset siirl takes the authors' released settings for every option left unset (docs/libero.md)."""

    preset: str = "srpo"  # srpo (this project's defaults) | siirl (the authors' settings) for options left unset
    suite: str = "spatial"  # LIBERO suite: spatial, object, goal, 10 (LIBERO-Long) or 90
    policy: str | None = None  # checkpoint folder, hub id, or "tiny" (tests); None = the suite's published one
    unnorm_key: str | None = None  # action statistics key of the checkpoint (falls back to <key>_no_noops)
    output_dir: str = "runs/libero"  # checkpoints, metrics.jsonl and TensorBoard logs
    resume: bool = False  # continue from the newest checkpoint in output_dir
    steps: int = 100  # training steps
    tasks: str | tuple[int, ...] | None = None  # task ids (comma-separated on the command line); None = all
    groups_per_step: int | None = None  # (task, initial state) groups per step; None = preset (srpo 8, siirl 64)
    n_rollouts: int = 8  # rollouts per group
    keep_mixed_only: bool = True  # train only on groups whose success rate lies in accuracy_bounds
    accuracy_bounds: tuple[float, float] = (0.1, 0.9)  # kept group success rates, inclusive (siiRL's)
    filter_before_reward: bool | None = None  # filter groups before computing rewards; None = preset (siirl)
    temperature: float = 1.6  # sampling temperature for rollouts (and for the log-probs)
    reward_variant: str | None = None  # paper | siirl | nearest; None = preset (srpo paper, siirl siirl)
    alpha: float = 0.8  # failure reward scale; 0 = plain GRPO (binary rewards, every variant)
    encoder: str = "vjepa2"  # world-model encoder for rollout videos: vjepa2 | image | pixel
    encoder_model: str | None = None  # encoder hub id or folder; None = the encoder's default
    clip_low: float = 0.2  # ratio clip below 1
    clip_high: float = 0.28  # ratio clip above 1
    kl_coef: float = 0.0  # weight of KL(pi || pi_ref); 0 = no reference policy kept (siiRL)
    lr: float = 5e-6  # AdamW learning rate
    weight_decay: float = 0.0  # AdamW weight decay
    grad_clip: float = 1.0  # max gradient norm per optimiser step
    mini_batch: int | None = None  # trajectories per optimiser step; None = preset (srpo 16, siirl 128)
    micro_batch: int = 8  # decisions per forward/backward in the update
    num_envs: int = 8  # LIBERO environments (one subprocess each unless subprocess=False)
    subprocess: bool = True  # run envs in worker processes (false: in this process, for debugging)
    max_steps: int | None = None  # env steps per episode; None = preset (srpo: OFT's per suite, siirl: 512)
    save_every: int = 10  # checkpoint every k steps (and at the end)
    seed: int = 0  # torch / sampling seed
    device: str = "cuda" if torch.cuda.is_available() else "cpu"  # policy device
    autocast: bool = True  # bf16 autocast of forward passes on CUDA, fp32 weights and optimiser (siiRL)
    bf16: bool = False  # keep the weights in bfloat16 (half the memory; lr-5e-6 steps mostly round away)

    CLI_ALIASES: ClassVar[dict[str, str]] = {"output": "output_dir", "variant": "reward_variant"}

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise UserFacingError(f"unknown --preset {self.preset!r}: choose one of {', '.join(PRESETS)}")
        check_suite(self.suite)
        object.__setattr__(self, "tasks", parse_task_ids(self.tasks))
        if self.policy is None:
            object.__setattr__(self, "policy", default_policy(self.suite))

    def resolved(self) -> TrainConfig:
        """Every field left at None set from the preset."""
        unset = {k: v for k, v in PRESETS[self.preset].items() if getattr(self, k) is None}
        return dataclasses.replace(self, **unset)


def build_policy(name: str, unnorm_key: str | None, device: str, dtype: torch.dtype, autocast: bool = False):
    from srpo_online_sim.openvla.loading import load_policy, tiny_policy

    if name == "tiny":
        policy = tiny_policy()
        policy.model.to(device, dtype)
    else:
        policy = load_policy(name, unnorm_key=unnorm_key, device=device, dtype=dtype)
        print(policy.load_report)
    policy.autocast = autocast
    return policy


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
        config = config.resolved()
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
        self.policy = build_policy(config.policy, config.unnorm_key, config.device, dtype, config.autocast)
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
        """Advantages of this rank's trajectories (NaN = not trained on) from every rank's trajectories.

        Rewards are computed per task (the reference set is the task's successes); groups outside
        accuracy_bounds are dropped after the rewards, or before them with filter_before_reward (siiRL).
        """
        from srpo_offline.progress import grouped_trajectory_rewards

        cfg = self.config
        mine = [(t.request.task_id, t.request.group, bool(t.success), e) for t, e in zip(trajs, embeddings)]
        everything = self._gather(mine)
        tasks = np.array([x[0] for x in everything])
        groups = np.array([x[1] for x in everything])
        success = np.array([x[2] for x in everything])
        emb = np.stack([x[3] for x in everything])
        keep = (accuracy_filter(success, groups, cfg.accuracy_bounds) if cfg.keep_mixed_only
                else np.ones(len(groups), bool))
        rewards, results = grouped_trajectory_rewards(emb, success, tasks, keep=keep if cfg.filter_before_reward
                                                      else None, variant=cfg.reward_variant, alpha=cfg.alpha)
        adv = np.full(len(groups), np.nan)
        if keep.any():
            adv[keep] = group_advantages(rewards[keep], groups[keep], ddof=1)  # siiRL: torch.std (unbiased)
        rewarded = ~np.isnan(rewards)
        failed = rewarded & ~success
        res = list(results.values())
        metrics = {
            "success_rate": float(success.mean()),
            "reward_mean": float(rewards[rewarded].mean()) if rewarded.any() else 0.0,
            "reward_std": float(rewards[rewarded].std()) if rewarded.any() else 0.0,
            "failure_reward_mean": float(rewards[failed].mean()) if failed.any() else 0.0,
            "kept_fraction": float(keep.mean()),
            "n_clusters": float(np.mean([r.n_clusters for r in res])) if res else 0.0,
            "n_noise": float(np.mean([r.n_noise for r in res])) if res else 0.0,
            "fell_back_to_mean": float(np.mean([r.fell_back_to_mean for r in res])) if res else 0.0,
        }
        # this rank's rows of the gathered arrays: ranks gather in order, so find our offset
        offset = sum(self._gather([len(mine)])[: self.rank])
        return adv[offset : offset + len(mine)], metrics

    def _update(self, trajs: list[Trajectory], advantages: np.ndarray) -> dict:
        cfg = self.config
        settings = UpdateSettings(mini_batch=cfg.mini_batch, micro_batch=cfg.micro_batch,
                                  temperature=cfg.temperature, clip_low=cfg.clip_low, clip_high=cfg.clip_high,
                                  grad_clip=cfg.grad_clip, kl_coef=cfg.kl_coef)
        metrics, _ = ppo_update(self.policy, self.optimizer, trajs, advantages, settings, self.reference,
                                self.world)
        return metrics

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
