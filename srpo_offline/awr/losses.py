"""Per-sample losses for LeRobot policies: `forward(batch, reduction="none") -> ([B] losses, logs)`.

LeRobot's training update (`lerobot_train.update_policy`) asks a policy for per-sample losses when a
SampleWeighter is given. π0 and π0.5 have `reduction="none"` natively. For the others, `enable_per_sample_loss`
swaps the instance's class for a thin subclass that adds it; subclasses keep LeRobot's `name` and
`config_class`, so `save_pretrained` writes an ordinary checkpoint that LeRobot's factory loads as the original
policy class. With reduction="mean" every adapter defers to LeRobot's own forward unchanged.

- π0-FAST: LeRobot computes a per-token cross-entropy and reduces it over the whole batch inside the model.
  The adapter captures the FAST logits (a forward hook on the LM head, which the model calls exactly once,
  on the action-token positions) and reduces the same per-token loss per sample: the mean over that
  sample's real action tokens.
- ACT: per-sample masked L1 over the chunk's valid steps plus kl_weight x that sample's KL term (scaled, see
  `_ACTPerSample`).
- Any other policy: the documented fallback runs LeRobot's forward once per sample (micro-batches of one),
  B forward passes instead of one.

Equal weights must give LeRobot's own loss. π0-FAST and ACT average over every real token / valid step of
the batch, so a mean of per-sample means is not their loss (measured: 15 % / 22 % relative L2 gradient
difference with 0, 2, 3, 3 padded steps). Their adapters therefore also give `loss_counts(batch)`, the number
of elements LeRobot's mean counts for each sample; the AWR weighter multiplies each sample's weight by it, so
Σ w n ℓ / Σ w n is the w-weighted mean over all tokens / steps, and with equal w exactly LeRobot's loss.
π0 averages over the fixed-size padded chunk (it ignores `action_is_pad`): its per-sample means already are.
"""

import inspect

import torch
import torch.nn.functional as F

NATIVE = "native"
ADAPTER = "adapter"
MICROBATCH = "microbatch"


def _has_native_reduction(policy) -> bool:
    return "reduction" in inspect.signature(type(policy).forward).parameters


class _PI0FastPerSample:
    """Per-sample FAST cross-entropy from the logits LeRobot's forward computes."""

    def forward(self, batch, reduction: str = "mean"):
        if reduction == "mean":
            return super().forward(batch)
        from lerobot.utils.constants import ACTION_TOKEN_MASK, ACTION_TOKENS

        captured = []
        lm_head = self.model.paligemma_with_expert.paligemma.lm_head
        handle = lm_head.register_forward_hook(lambda _m, _i, out: captured.append(out))
        try:
            _, logs = super().forward(batch)
        finally:
            handle.remove()
        if len(captured) != 1:
            raise RuntimeError(f"expected one LM-head call in the pi0-FAST forward, saw {len(captured)}")
        logits = captured[0][:, :-1, :]  # position i predicts action token i + 1 (as in LeRobot)
        targets = batch[ACTION_TOKENS][:, 1:]
        mask = batch[ACTION_TOKEN_MASK][:, 1:].float()
        per_token = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
                                    reduction="none").reshape(targets.shape)
        per_sample = (per_token * mask).sum(1) / mask.sum(1).clamp_min(1)
        return per_sample, logs

    def loss_counts(self, batch) -> torch.Tensor:
        """Real action tokens per sample: the elements LeRobot's token mean counts."""
        from lerobot.utils.constants import ACTION_TOKEN_MASK

        return batch[ACTION_TOKEN_MASK][:, 1:].float().sum(1)


class _ACTPerSample:
    """ACT's loss (masked L1 + kl_weight * KL), reduced per sample.

    LeRobot's ACT loss is the L1 mean over the batch's valid steps plus kl_weight x the KL mean over samples.
    Under count weights n_i (valid steps) the L1 means reproduce the first term; the KL term, one per sample,
    is scaled by n̄ / n_i (n̄: the batch's mean count, a constant) so that Σ n_i (kld_i n̄ / n_i) / Σ n_i is
    LeRobot's batch mean of the KL. With AWR weights it is the (w n)-weighted mean of kld n̄ / n.
    """

    def forward(self, batch, reduction: str = "mean"):
        if reduction == "mean":
            return super().forward(batch)
        from lerobot.utils.constants import ACTION, OBS_IMAGES

        if self.config.image_features:
            batch = dict(batch)
            batch[OBS_IMAGES] = [batch[key] for key in self.config.image_features]
        actions_hat, (mu, log_sigma_x2) = self.model(batch)
        valid = (~batch["action_is_pad"]).unsqueeze(-1).float()
        abs_err = F.l1_loss(batch[ACTION], actions_hat, reduction="none") * valid
        l1 = abs_err.sum((1, 2)) / (valid.sum((1, 2)) * abs_err.shape[-1]).clamp_min(1)
        loss = l1
        logs = {"l1_loss": l1.mean().item()}
        if self.config.use_vae and log_sigma_x2 is not None:
            kld = (-0.5 * (1 + log_sigma_x2 - mu.pow(2) - log_sigma_x2.exp())).sum(-1)
            logs["kld_loss"] = kld.mean().item()
            counts = self.loss_counts(batch).clamp_min(1)
            loss = l1 + kld * (counts.mean() / counts) * self.config.kl_weight
        return loss, logs

    def loss_counts(self, batch) -> torch.Tensor:
        """Valid (unpadded) chunk steps per sample: what LeRobot's masked L1 mean counts."""
        return (~batch["action_is_pad"]).float().sum(1)


class _MicrobatchPerSample:
    """Fallback for any policy: LeRobot's forward on each sample alone."""

    def forward(self, batch, reduction: str = "mean"):
        if reduction == "mean":
            return super().forward(batch)
        size = len(batch["index"])
        losses, logs = [], {}
        for i in range(size):
            one = {k: (v[i : i + 1] if isinstance(v, torch.Tensor) and v.shape[:1] == (size,) else
                       v[i : i + 1] if isinstance(v, list) and len(v) == size else v)
                   for k, v in batch.items()}
            loss, logs = super().forward(one)
            losses.append(loss.reshape(()))
        return torch.stack(losses), logs


ADAPTERS = {"pi0_fast": _PI0FastPerSample, "act": _ACTPerSample}


def loss_counts(policy, batch) -> torch.Tensor | None:
    """Per sample, the number of loss elements LeRobot's batch mean counts, or None where every sample counts
    the same (then equal weights already give LeRobot's loss)."""
    counter = getattr(policy, "loss_counts", None)
    return counter(batch) if counter is not None else None


def enable_per_sample_loss(policy) -> str:
    """Give `policy` a `forward(batch, reduction="none")`; returns how: native, adapter or microbatch."""
    if _has_native_reduction(policy):
        return NATIVE
    mixin = ADAPTERS.get(policy.name, _MicrobatchPerSample)
    base = type(policy)
    policy.__class__ = type(f"{base.__name__}PerSample", (mixin, base), {"__module__": __name__})
    return ADAPTER if mixin is not _MicrobatchPerSample else MICROBATCH
