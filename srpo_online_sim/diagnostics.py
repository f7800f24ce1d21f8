"""What one policy update did to the policy, measured exactly at the states it trained on, and the flag for a run
whose updates go wrong.

Before the update, `UpdateProbe` stores the full per-token distributions (every bin, at the rollout temperature)
at every decision of the batch; after it, `UpdateProbe.after` compares them with the new ones:

  kl_full             exact KL(old || new) per action token, summed over all bins, mean over executed tokens
                      (the update's own `kl_old` is a k3 estimate from the taken tokens only: it cannot see mass
                      moved onto bins that were never sampled)
  entropy_dim<d>      mean entropy (nats) of the new distributions of action dimension d (uniform: log n_bins)
  entropy_mean        the same over every dimension; entropy_change = new - old at the same states
  success_logp_change mean change of log pi(taken token) over the executed tokens of the batch's successful
                      trajectories (absent when none succeeded): a learning update raises it
  tail_mass           mean probability outside the old distribution's top 5 bins, after the update

`flag_run` reads a run's per-update records and names what went wrong: the success tokens' log-prob fell in
`window` consecutive updates, or the entropy rose in `window` consecutive updates.
"""

from __future__ import annotations

import numpy as np
import torch

from srpo_online_sim.objective import entropy, exact_kl
from srpo_online_sim.rollout import Trajectory
from srpo_online_sim.update import token_mask

TOP_K = 5  # bins of the old distribution that `tail_mass` excludes
FLAG_WINDOW = 4  # consecutive bad updates that flag a run
ENTROPY_RISE = 0.02  # nats per update: a smaller rise does not count towards the entropy flag


def token_log_probs(policy, trajs: list[Trajectory], temperature: float, batch: int = 512,
                    model: torch.nn.Module | None = None) -> torch.Tensor:
    """[decisions, chunk * dim, n_bins] log-probabilities of every bin at every decision of `trajs` (in order)."""
    rows = [(t.observations[i], t.request.instruction) for t in trajs for i in range(len(t.observations))]
    out = []
    with torch.no_grad():
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            inputs = policy.prepare([o for o, _ in part], [s for _, s in part])
            logits = policy.logits(inputs, model).float()
            out.append(torch.log_softmax(logits / temperature, dim=-1).cpu())
    return torch.cat(out) if out else torch.zeros(0, policy.chunk * policy.action_dim, 1)


def per_dimension(values: torch.Tensor, mask: torch.Tensor, action_dim: int) -> np.ndarray:
    """[action_dim] mean of `values` [N, chunk * dim] over the tokens where `mask` holds, per action dimension
    (tokens are ordered action by action, dimension fastest)."""
    dims = torch.arange(values.shape[1]) % action_dim
    out = np.full(action_dim, np.nan)
    for d in range(action_dim):
        m = mask & (dims == d)[None]
        if m.any():
            out[d] = float(values[m].mean())
    return out


class UpdateProbe:
    """The policy's full distributions at the batch's decisions before an update; `after()` measures the change."""

    def __init__(self, policy, trajs: list[Trajectory], temperature: float):
        self.policy, self.trajs, self.temperature = policy, trajs, temperature
        self.old = token_log_probs(policy, trajs, temperature)
        self.mask = torch.stack([token_mask(e, policy.chunk, policy.action_dim) for t in trajs for e in t.executed]
                                ) if trajs else torch.zeros(0, policy.chunk * policy.action_dim, dtype=torch.bool)
        self.tokens = torch.stack([tok for t in trajs for tok in t.tokens]) if trajs else None
        self.success = torch.tensor([t.success for t in trajs for _ in t.executed], dtype=torch.bool)

    def after(self) -> dict[str, float]:
        """Diagnostics of the update that ran since construction (call it right after the update)."""
        if not self.trajs:
            return {}
        new = token_log_probs(self.policy, self.trajs, self.temperature)
        mask, dim = self.mask, self.policy.action_dim
        ent_new, ent_old = entropy(new), entropy(self.old)
        top = self.old.topk(min(TOP_K, self.old.shape[-1]), dim=-1).indices
        tail = 1.0 - new.exp().gather(-1, top).sum(-1)
        out = {"kl_full": float(exact_kl(self.old, new)[mask].mean()),
               "entropy_mean": float(ent_new[mask].mean()),
               "entropy_change": float((ent_new - ent_old)[mask].mean()),
               "tail_mass": float(tail[mask].mean())}
        out.update({f"entropy_dim{d}": v for d, v in enumerate(per_dimension(ent_new, mask, dim))})
        won = mask & self.success[:, None]
        if won.any():
            idx = self.tokens.unsqueeze(-1)
            change = new.gather(-1, idx).squeeze(-1) - self.old.gather(-1, idx).squeeze(-1)
            out["success_logp_change"] = float(change[won].mean())
        return out


def flag_run(records: list[dict], window: int = FLAG_WINDOW) -> list[str]:
    """Reasons a run's updates went wrong ([] = none): the success tokens' log-prob fell, or the entropy rose (by more
    than ENTROPY_RISE), in `window` consecutive updates. `records` are the run's per-update train records."""
    reasons = []
    checks = (("success_logp_change", lambda v: v < 0, "success-token log-prob fell"),
              ("entropy_change", lambda v: v > ENTROPY_RISE, "entropy rose"))
    for key, bad, what in checks:
        streak = 0
        for r in records:
            value = r.get(key)
            streak = streak + 1 if value is not None and bad(value) else 0
            if streak >= window:
                reasons.append(f"{what} in {window} consecutive updates (ending at update {int(r['step'])})")
                break
    return reasons
