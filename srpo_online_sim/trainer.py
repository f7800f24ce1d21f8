"""Online SRPO / GRPO on LIBERO with OpenVLA*: the LIBERO configuration of `srpo_online_sim.online.OnlineTrainer`.

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

Presets are named whole configs (`PRESETS`, openpi's style): ``srpo`` (this project's defaults) and ``siirl``
(the authors' released settings, sii-research/siiRL examples/embodied_srpo_trainer/run_openvla_oft_libero_*.sh);
flags given with ``--preset`` override its fields. docs/libero.md lists the differences.

Several GPUs: launch with ``torchrun --nproc_per_node K``; each rank rolls out its share of the groups,
rewards are computed from the gathered embeddings of all ranks, and gradients are all-reduced before
every optimizer step.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import numpy as np
import torch

from srpo.errors import UserFacingError
from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.envs import EnvConfig, check_suite, official_init_states, parse_task_ids
from srpo_online_sim.online import TRAIN_SEED_OFFSET, OnlineTrainer, distributed
from srpo_online_sim.openvla.loading import default_policy

__all__ = ["PRESETS", "TRAIN_SEED_OFFSET", "TrainConfig", "Trainer", "preset"]

@dataclass(frozen=True)
class TrainConfig:
    """Online SRPO (or GRPO with --algo.alpha 0) on LIBERO rollouts: roll OpenVLA* out, reward failures by
    world-model progress towards the task's successes, and update with the clipped objective in PPO mini-batches.
    --preset names a whole config (srpo: this project's defaults; siirl: the authors' released settings); every
    other flag overrides a field of it (docs/libero.md)."""

    preset: str = "srpo"  # the named config to start from: srpo | siirl (PRESETS); other flags override it
    suite: str = "spatial"  # LIBERO suite: spatial, object, goal, 10 (LIBERO-Long) or 90
    policy: str | None = None  # checkpoint folder, hub id, or "tiny" (tests); None = the suite's published one
    unnorm_key: str | None = None  # action statistics key of the checkpoint (falls back to <key>_no_noops)
    output_dir: str = "runs/libero"  # checkpoints, metrics.jsonl and TensorBoard logs
    resume: bool = False  # continue from the newest checkpoint in output_dir
    steps: int = 100  # training steps
    tasks: str | tuple[int, ...] | None = None  # task ids (comma-separated on the command line); None = all
    algo: Algorithm = field(default_factory=Algorithm)  # the online algorithm (--algo.lr, --algo.alpha, ...: srpo_online_sim.algorithm)
    encoder: str = "vjepa2"  # world-model encoder for rollout videos: vjepa2 | image | pixel
    encoder_model: str | None = None  # encoder hub id or folder; None = the encoder's default
    num_envs: int = 8  # LIBERO environments (one subprocess each unless subprocess=False)
    subprocess: bool = True  # run envs in worker processes (false: in this process, for debugging)
    max_steps: int | None = None  # env steps per episode; None = OFT's per-suite limits
    save_every: int = 10  # checkpoint every k steps (and at the end)
    device: str = "cuda" if torch.cuda.is_available() else "cpu"  # policy device
    autocast: bool = True  # bf16 autocast of forward passes on CUDA, fp32 weights and optimiser (siiRL)
    bf16: bool = False  # keep the weights in bfloat16 (half the memory; lr-5e-6 steps mostly round away)

    CLI_ALIASES: ClassVar[dict[str, str]] = {"output": "output_dir", "variant": "algo.reward_variant"}
    PRESETS: ClassVar[dict[str, TrainConfig]]  # name -> whole config (filled below the class)

    def __post_init__(self):
        check_suite(self.suite)
        object.__setattr__(self, "tasks", parse_task_ids(self.tasks))
        if self.policy is None:
            default_policy(self.suite)  # a suite without a published checkpoint: say so now
        if self.algo.reward == "oracle":
            raise UserFacingError("LIBERO has no oracle reward (no privileged progress): use --algo.reward srpo or grpo")

    @property
    def checkpoint(self) -> str:
        """The policy to load: --policy, or the suite's published checkpoint."""
        return self.policy if self.policy is not None else default_policy(self.suite)


# The named whole configs (openpi's style). siiRL: examples/embodied_srpo_trainer/run_openvla_oft_libero_*.sh
# (TRAIN_BATCH_SIZE 64 x ROLLOUT_N_SAMPLES 8, MAX_EPISODE_STEPS 512, filter_accuracy before compute_reward,
# reward_score/embodied.py) and the paper's mini-batch of 128 trajectories out of 512.
PRESETS: dict[str, TrainConfig] = {
    "srpo": TrainConfig(),
    "siirl": TrainConfig(preset="siirl", max_steps=512,
                         algo=Algorithm(groups_per_step=64, mini_batch=128, filter_before_reward=True,
                                        reward_variant="siirl")),
}
TrainConfig.PRESETS = PRESETS


def preset(name: str, **changes) -> TrainConfig:
    """The named config `name` (PRESETS), with top-level fields replaced by `changes`."""
    if name not in PRESETS:
        raise UserFacingError(f"unknown --preset {name!r}: choose one of {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **changes)


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


class Trainer(OnlineTrainer):
    """The online trainer (`srpo_online_sim.online.OnlineTrainer`) on LIBERO with OpenVLA*, from a TrainConfig."""

    def __init__(self, config: TrainConfig, encoder=None):
        self.config = config
        rank, world = distributed()
        if world > 1 and config.device.startswith("cuda"):
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", rank)))
        self.env_config = EnvConfig(suite=config.suite, max_steps=config.max_steps)
        dtype = torch.bfloat16 if config.bf16 else torch.float32
        policy = build_policy(config.checkpoint, config.unnorm_key, config.device, dtype, config.autocast)
        if encoder is None and config.algo.reward == "srpo" and config.algo.alpha > 0:
            from srpo_offline.encoders import build_encoder

            encoder = build_encoder(config.encoder, config.encoder_model, device=config.device)
        super().__init__(self.env_config, policy, config.algo, config.output_dir, tasks=config.tasks,
                         encoder=encoder, num_envs=config.num_envs, subprocess=config.subprocess,
                         resume_log=config.resume, header={"config": asdict(config)},
                         progress_desc="srpo libero train")
        self._eval_states = {t: official_init_states(config.suite, t) for t in self.tasks}

    def _config_record(self) -> dict:
        return asdict(self.config)

    def check_train_state(self, task: int, state: np.ndarray) -> None:
        if np.any(np.all(np.isclose(self._eval_states[task], state[None]), axis=1)):
            raise RuntimeError(f"training state for task {task} equals an evaluation state")

    def train(self, progress: bool = True, pool=None) -> list[dict]:
        """Train until ``config.steps``; uses ``pool`` when given (its envs are left open), else builds one."""
        return super().train(self.config.steps, progress=progress, pool=pool, save_every=self.config.save_every)
