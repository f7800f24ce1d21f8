"""The settings of online SRPO / GRPO, declared once: `Algorithm` is the world-independent algorithm that the
trainer (`srpo_online_sim.online`), the update (`srpo_online_sim.update`), `srpo libero train`'s
`TrainConfig.algo` and `srpo bench online`'s `OnlineBenchConfig.algo` all read; on the command line its fields
are `--algo.<field>` (e.g. `--algo.lr 1e-5`).
"""

from __future__ import annotations

from dataclasses import dataclass

from srpo.errors import UserFacingError
from srpo_offline.progress import ALPHA, VARIANTS
from srpo_online_sim.rewards import REWARDS


@dataclass(frozen=True)
class Algorithm:
    """Online SRPO / GRPO: rollout groups, their filter and rewards, and the PPO mini-batch update."""

    reward: str = "srpo"  # srpo (world-progress shaping) | grpo (binary success) | oracle (world's dense progress)
    #   | shuffled (grpo's advantages dealt to the batch at random: the no-information control)
    groups_per_step: int = 8  # (task, initial state) groups per step
    n_rollouts: int = 8  # rollouts per group
    keep_mixed_only: bool = True  # train only on groups whose success rate lies in accuracy_bounds
    accuracy_bounds: tuple[float, float] = (0.1, 0.9)  # kept group success rates, inclusive (siiRL's)
    dynamic_sampling: bool = False  # roll out rounds of groups_per_step groups until >= groups_per_step are kept
    max_rounds: int = 16  # dynamic sampling: rollout rounds per step at most (then train on what was kept)
    filter_before_reward: bool = False  # filter groups before computing rewards (siiRL)
    per_rank_references: bool = False  # rewards from each rank's own trajectories (siiRL), not every rank's
    temperature: float = 1.6  # sampling temperature for rollouts (and for the log-probs)
    reward_variant: str = "paper"  # srpo failure reward: paper | siirl | nearest
    alpha: float = ALPHA  # failure reward scale; 0 = plain GRPO (binary rewards, every variant)
    clip_low: float = 0.2  # ratio clip below 1
    clip_high: float = 0.28  # ratio clip above 1
    kl_coef: float = 0.0  # weight of KL(pi || pi_ref); 0 = no reference policy kept (siiRL)
    lr: float = 5e-6  # AdamW learning rate
    weight_decay: float = 0.0  # AdamW weight decay
    grad_clip: float = 1.0  # max gradient norm per optimiser step
    mini_batch: int = 16  # trajectories per optimiser step
    micro_batch: int = 8  # decisions per forward/backward in the update
    epochs: int = 1  # passes over each rollout batch (siiRL: 1)
    recompute_old_log_probs: bool = False  # old log-probs from the policy just before the update (siiRL), not
    #                                        the rollout's (these differ by numerical noise under bf16)
    seed: int = 0  # sampling seed (each rank adds its rank)
    kl_rollout_coef: float = 0.0  # weight of the exact full-distribution KL(rollout policy || pi) per action token
    negative_scale: float = 1.0  # multiplies negative advantages in the update (1 = GRPO; 0 = the better half only)
    entropy_coef: float = 0.0  # weight of an entropy bonus per action token (negative: a penalty)

    def __post_init__(self):
        if self.reward not in REWARDS:
            raise UserFacingError(f"unknown reward {self.reward!r}: choose one of {', '.join(REWARDS)}")
        if self.reward_variant not in VARIANTS or self.reward_variant == "fixed-reference":
            raise UserFacingError(f"unknown --algo.reward-variant {self.reward_variant!r}: paper | siirl | nearest")
        if not 0.0 <= self.negative_scale <= 1.0 or self.kl_rollout_coef < 0:
            raise UserFacingError("negative_scale must lie in [0, 1] and kl_rollout_coef be >= 0")
        if min(self.groups_per_step, self.n_rollouts, self.mini_batch, self.micro_batch, self.epochs,
               self.max_rounds) < 1:
            raise UserFacingError("groups_per_step, n_rollouts, mini_batch, micro_batch, epochs and max_rounds "
                                  "must be >= 1")
