"""Build a policy + preprocessor for a store through the trainer's own functions, and run LeRobot updates.

Random stores come from tests/conftest.py (`make_store`, `record_random_store`)."""

import copy

import numpy as np
import torch
from torch.utils.data import default_collate

from srpo.policy_loading import make_processors
from srpo.store import EpisodeStore
from srpo_offline.advantages import awr_weight_table
from srpo_offline.awr.data import StoreChunkDataset, compute_stats
from srpo_offline.awr.losses import enable_per_sample_loss, loss_counts
from srpo_offline.awr.policy import make_config, make_policy_for_store, with_lr
from srpo_offline.awr.weighting import AWRWeighter, WeightTable

RUN = "srpo_test"


def build(store, kind="act", options=None, pretrained=None, tokenizer=None):
    torch.manual_seed(0)
    cfg = make_config(kind, pretrained, dict(options or {}), "cpu")
    steps = np.arange(store.num_steps)
    stats = compute_stats(store, steps)
    policy = make_policy_for_store(cfg, store, stats)
    enable_per_sample_loss(policy)
    pre, _ = make_processors(policy.config, stats, source=pretrained, tokenizer=tokenizer)
    horizon = len(policy.config.action_delta_indices)
    return policy, pre, StoreChunkDataset(store, [e.index for e in store.episodes()], horizon)


def batch_of(dataset, pre, items):
    return pre(default_collate([dataset[i] for i in items]))


def update_once(policy, batch, weights: np.ndarray) -> dict:
    """One LeRobot update (lerobot_train.update_policy) of a copy of `policy`; returns its parameters."""
    from accelerate import Accelerator
    from lerobot.scripts.lerobot_train import update_policy
    from lerobot.utils.logging_utils import AverageMeter, MetricsTracker

    policy = copy.deepcopy(policy)
    opt_cfg, _ = with_lr(policy.config, 1e-3)
    optimizer = opt_cfg.build(policy.get_optim_params())
    table = WeightTable(weight=weights.astype(np.float32), clipped=np.zeros(len(weights), bool))
    weighter = AWRWeighter(table, np.arange(len(weights)), counts=lambda b: loss_counts(policy, b))
    meters = {k: AverageMeter(k) for k in ("loss", "grad_norm", "lr", "update_s")}
    metrics = MetricsTracker(len(batch["index"]), 10, 1, meters)
    torch.manual_seed(123)
    update_policy(metrics, policy, batch, optimizer, opt_cfg.grad_clip_norm, Accelerator(cpu=True),
                  sample_weighter=weighter)
    return {k: v.detach().clone() for k, v in policy.named_parameters()}


def assert_same_params(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def assert_params_differ(a: dict, b: dict) -> None:
    assert any(not torch.equal(a[k], b[k]) for k in a)


def first_observation(store):
    """The observation of episode 0, step 0, as the robot's policy runner would pass it (unbatched)."""
    item = StoreChunkDataset(store, [0], horizon=1)[0]
    obs = {k: v for k, v in item.items() if k.startswith("observation")}
    obs["task"] = item["task"]
    return obs


def add_reward_run(store: EpisodeStore, seed: int = 0, name: str = RUN) -> dict:
    """Write a derived run with random advantages and AWR weights exp(A) clipped at 5 (and their clip flags)."""
    rng = np.random.default_rng(seed)
    adv = rng.normal(size=store.num_steps).astype(np.float32)
    weight, clipped = awr_weight_table(adv, beta=1.0, w_max=5.0)
    arrays = {
        "progress": np.cumsum(np.abs(adv)).astype(np.float32),
        "increment": adv.copy(),
        "advantage": adv,
        "weight": weight.astype(np.float32),
        "clipped": clipped.astype(np.float32),
    }
    rw = EpisodeStore.open(store.path, mode="a")
    rw.write_derived(name, arrays, {"encoder": "synthetic", "beta": 1.0, "w_max": 5.0, "version": 1})
    return arrays


class _GradRecorder(torch.optim.SGD):
    """A plain SGD step with learning rate 0 that keeps the gradients it was given."""

    def __init__(self, params):
        super().__init__(params, lr=0.0)
        self.grads = None

    def step(self, closure=None):
        self.grads = [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
                      for g in self.param_groups for p in g["params"]]
        return super().step(closure)


def update_gradient(policy, batch, weights: np.ndarray | None, counts: bool = True) -> torch.Tensor:
    """The flat gradient LeRobot's update (lerobot_train.update_policy) takes: with an AWRWeighter of these
    per-step weights, or (weights None) with no weighter, i.e. the policy's own `forward` loss."""
    from accelerate import Accelerator
    from lerobot.scripts.lerobot_train import update_policy
    from lerobot.utils.logging_utils import AverageMeter, MetricsTracker

    weighter = None
    if weights is not None:
        table = WeightTable(weight=weights.astype(np.float32), clipped=np.zeros(len(weights), bool))
        weighter = AWRWeighter(table, np.arange(len(weights)),
                               counts=(lambda b: loss_counts(policy, b)) if counts else None)
    optimizer = _GradRecorder([p for p in policy.parameters() if p.requires_grad])
    meters = {k: AverageMeter(k) for k in ("loss", "grad_norm", "lr", "update_s")}
    metrics = MetricsTracker(len(batch["index"]), 10, 1, meters)
    torch.manual_seed(123)
    update_policy(metrics, policy, batch, optimizer, 1e12, Accelerator(cpu=True), sample_weighter=weighter)
    return torch.cat([g.reshape(-1) for g in optimizer.grads])


def relative_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())
