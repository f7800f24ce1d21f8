"""The policy update of one rollout batch: PPO mini-batches of whole trajectories, as siiRL's embodied actor.

siiRL (siirl/engine/actor/embodied_actor.py, ``update_policy``) splits the batch of kept trajectories into
mini-batches and takes one optimiser step per mini-batch, so from the second step on the policy differs from
the one that sampled the actions: the ratio leaves 1 and the clip acts. The loss of a mini-batch is the
token-mean within each trajectory, then the mean over its trajectories (with their per-trajectory micro-batches
of 1, ``pg_loss * mask_sum / mask_sum_of_the_trajectory`` then ``/ gradient_accumulation``), and action tokens
of steps at or after ``finish_step`` (the unexecuted rest of the last chunk) are masked. siiRL does not shuffle
inside update_policy (``batch.split``), nor do we.

Several ranks: each splits its own trajectories into the same number of mini-batches (the global count), the
per-trajectory weights divide by the global number of trajectories in the step, and gradients are summed
across ranks before each step, which gives the global mean.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict

import numpy as np
import torch

from srpo_online_sim.algorithm import Algorithm
from srpo_online_sim.objective import clipped_loss, entropy, exact_kl, kl_to_reference
from srpo_online_sim.rollout import Trajectory
from srpo_online_sim.sharding import is_sharded


def token_mask(executed: int, chunk: int, action_dim: int) -> torch.Tensor:
    """[chunk * action_dim] bool: the tokens of the `executed` first actions of a chunk (siiRL's finish_step mask)."""
    return torch.arange(chunk * action_dim) < executed * action_dim


def decision_rows(batch: list[tuple[Trajectory, float]], n_traj: float, chunk: int, action_dim: int) -> list[tuple]:
    """(trajectory, decision index, advantage, token weights [chunk * action_dim]) for every decision.

    A trajectory's valid tokens share 1 / (its valid token count * n_traj): token-mean within the trajectory,
    then mean over the n_traj trajectories of the optimiser step; masked tokens weigh 0.
    """
    rows = []
    for traj, adv in batch:
        masks = [token_mask(e, chunk, action_dim) for e in traj.executed]
        valid = sum(int(m.sum()) for m in masks)
        rows += [(traj, i, adv, m.float() / (valid * n_traj)) for i, m in enumerate(masks)]
    return rows


def _all_reduce(x: torch.Tensor, world: int, op: str = "SUM") -> torch.Tensor:
    if world > 1:
        import torch.distributed as dist

        dist.all_reduce(x, op=getattr(dist.ReduceOp, op))
    return x


def _micro_batches(rows: list, size: int, world: int, sharded: bool) -> list[list]:
    """`rows` in chunks of `size`; sharded, every rank runs as many chunks as the rank with most (forward and
    backward passes are collectives), the missing ones empty (the caller runs them with weight 0)."""
    chunks = [rows[s : s + size] for s in range(0, len(rows), size)]
    if sharded:
        most = int(_all_reduce(torch.tensor(float(len(chunks))), world, "MAX").item())
        chunks += [[] for _ in range(most - len(chunks))]
    return chunks


def ppo_update(policy, optimizer: torch.optim.Optimizer, trajs: list[Trajectory], advantages: np.ndarray,
               algo: Algorithm, reference: torch.nn.Module | None = None, world: int = 1
               ) -> tuple[dict, list[dict]]:
    """Update on the trajectories whose advantage is not NaN; returns (batch metrics, metrics per step)."""
    model = policy.model
    device = policy.device
    scale = algo.negative_scale
    kept = [(t, float(a) * (scale if a < 0 else 1.0)) for t, a in zip(trajs, advantages) if not np.isnan(a)]
    filler = (trajs[0], 0, 0.0, None) if trajs else None  # a zero-weight decision for a sharded rank's idle pass
    if algo.recompute_old_log_probs:
        recompute_old_log_probs(policy, [t for t, _ in kept], algo, world, filler)
    # the policy that sampled the batch, frozen, for the full-distribution KL penalty
    rollout_model = copy.deepcopy(model).eval().requires_grad_(False) if algo.kl_rollout_coef else None
    n_global = int(_all_reduce(torch.tensor(float(len(kept))), world).item())
    n_steps = math.ceil(n_global / algo.mini_batch)
    parts = np.array_split(np.arange(len(kept)), n_steps) if n_steps else []
    model.train()
    per_step = []
    for part in [p for _ in range(algo.epochs) for p in parts]:
        per_step.append(_step(policy, optimizer, [kept[i] for i in part], algo, reference, rollout_model,
                              world, device, filler))
    model.eval()
    totals = defaultdict(float)
    for m in per_step:
        for k, v in m.items():
            totals[k] += v
    n = max(len(per_step), 1)
    metrics = {k: v / n for k, v in totals.items() if k not in ("tokens", "decisions")}
    metrics.update({"decisions": int(totals["decisions"]), "optimizer_steps": len(per_step),
                    "trained_trajectories": n_global})
    for key in ("loss", "clip_fraction", "kl_old", "kl_ref", "kl_rollout", "entropy_bonus", "grad_norm"):
        metrics.setdefault(key, 0.0)
    return metrics, per_step


@torch.no_grad()
def recompute_old_log_probs(policy, trajs: list[Trajectory], algo: Algorithm, world: int = 1, filler=None) -> None:
    """Replace each decision's rollout-time log-probs by the current policy's, before any optimiser step
    (siiRL's actor_old_log_prob node), so the first mini-batch's ratios are exactly 1."""
    policy.model.eval()
    rows = [(t, i) for t in trajs for i in range(len(t.tokens))]
    for part in _micro_batches(rows, algo.micro_batch, world, is_sharded(policy.model)):
        if not part:  # a sharded rank with nothing left joins the others' forward pass
            t = filler[0]
            policy.log_probs(policy.prepare([t.observations[0]], [t.request.instruction]),
                             t.tokens[0][None].to(policy.device), algo.temperature)
            continue
        inputs = policy.prepare([t.observations[i] for t, i in part], [t.request.instruction for t, _ in part])
        tokens = torch.stack([t.tokens[i] for t, i in part]).to(policy.device)
        logp = policy.log_probs(inputs, tokens, algo.temperature).float().cpu()
        for (t, i), row in zip(part, logp):
            t.old_log_probs[i] = row


def _step(policy, optimizer, batch: list[tuple[Trajectory, float]], algo: Algorithm, reference, rollout_model,
          world, device, filler=None) -> dict:
    """One optimiser step on one mini-batch (this rank's share of it)."""
    n_traj = _all_reduce(torch.tensor(float(len(batch))), world).item()
    rows = decision_rows(batch, n_traj, policy.chunk, policy.action_dim)
    sharded = is_sharded(policy.model)
    optimizer.zero_grad(set_to_none=True)
    sums = defaultdict(float)
    for part in _micro_batches(rows, algo.micro_batch, world, sharded):
        if not part:  # sharded, and this rank's share is done: a zero-weight pass joins the collectives
            t = filler[0]
            part = [(t, 0, 0.0, torch.zeros(policy.chunk * policy.action_dim))]
        inputs = policy.prepare([t.observations[i] for t, i, _, _ in part], [t.request.instruction for t, *_ in part])
        tokens = torch.stack([t.tokens[i] for t, i, _, _ in part]).to(device)
        old = torch.stack([t.old_log_probs[i] for t, i, _, _ in part]).to(device)
        adv = torch.tensor([a for _, _, a, _ in part], device=device)
        weights = torch.stack([w for *_, w in part]).to(device)
        logp = torch.log_softmax(policy.logits(inputs) / algo.temperature, dim=-1)  # every bin
        new = logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        loss, stats = clipped_loss(new, old, adv, algo.clip_low, algo.clip_high, weights)
        if rollout_model is not None:
            with torch.no_grad():
                before = torch.log_softmax(policy.logits(inputs, rollout_model) / algo.temperature, dim=-1)
            kl = (exact_kl(before.float(), logp.float()) * weights).sum()
            loss = loss + algo.kl_rollout_coef * kl
            sums["kl_rollout"] += float(kl.detach())
        if algo.entropy_coef:
            bonus = (entropy(logp.float()) * weights).sum()
            loss = loss - algo.entropy_coef * bonus
            sums["entropy_bonus"] += float(bonus.detach())
        if reference is not None:
            with torch.no_grad():
                ref = policy.log_probs(inputs, tokens, algo.temperature, model=reference).float()
            kl = (kl_to_reference(new, ref) * weights).sum()
            loss = loss + algo.kl_coef * kl
            sums["kl_ref"] += float(kl.detach())
        loss.backward()
        sums["loss"] += float(loss.detach())
        for k in ("clipped_tokens", "kl_old_sum", "tokens"):
            sums[k] += float(stats[k])
    if world > 1 and not sharded:  # (FSDP reduce-scatters the gradients itself, summed: sharding.shard)
        import torch.distributed as dist

        for p in policy.model.parameters():
            if p.requires_grad:
                if p.grad is None:  # a rank with no trajectory in this step still joins every all-reduce
                    p.grad = torch.zeros_like(p)
                dist.all_reduce(p.grad)
    grad_norm = torch.nn.utils.clip_grad_norm_(policy.model.parameters(), algo.grad_clip)
    if hasattr(grad_norm, "full_tensor"):  # a DTensor when sharded
        grad_norm = grad_norm.full_tensor()
    optimizer.step()
    keys = ("loss", "kl_ref", "kl_rollout", "entropy_bonus", "clipped_tokens", "kl_old_sum", "tokens")
    reduced = dict(zip(keys, _all_reduce(torch.tensor([sums[k] for k in keys], dtype=torch.float64), world).tolist()))
    tokens = max(reduced["tokens"], 1.0)
    return {"loss": reduced["loss"], "kl_ref": reduced["kl_ref"], "kl_rollout": reduced["kl_rollout"],
            "entropy_bonus": reduced["entropy_bonus"], "clip_fraction": reduced["clipped_tokens"] / tokens,
            "kl_old": reduced["kl_old_sum"] / tokens, "grad_norm": float(grad_norm), "tokens": reduced["tokens"],
            "decisions": float(len(rows))}
