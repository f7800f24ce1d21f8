"""Sharded training of OpenVLA* with torch's FSDP2 (`torch.distributed.fsdp.fully_shard`), as siiRL's FSDP workers.

Every rank holds 1/world of the fp32 weights, gradients and AdamW states; a block's weights are all-gathered just
before it runs (forward and backward) and freed after. Units: each ViT block of the featurizers and each Llama
decoder layer, then the root (embeddings, projector, norms, lm_head). Mixed precision as siiRL's
(`mixed_precision.param_dtype=bf16, reduce_dtype=fp32`): compute in bfloat16 from the fp32 master weights,
gradients reduced in float32. Gradient checkpointing (option) recomputes each block's activations in backward.

Gradients are SUMMED over ranks (divide factor 1), because the update's loss weights already divide by the global
number of trajectories (`srpo_online_sim.update`); the unsharded data-parallel path sums them too.
"""

from __future__ import annotations

import torch
from torch import nn


def blocks(model: nn.Module) -> list[nn.Module]:
    """The repeated blocks of OpenVLA* (ViT blocks of each featurizer, Llama decoder layers), in order."""
    units = []
    for featurizer in model.vision_backbone.featurizers():
        units += list(featurizer.blocks)
    units += list(model.language_model.model.layers)
    return units


def shard_numel(shape: torch.Size | tuple[int, ...], ranks: int) -> int:
    """Elements of one parameter that each rank holds: FSDP2 splits dim 0 into `ranks` chunks of
    ceil(dim0 / ranks) rows (the last padded)."""
    if not shape:
        return 1
    rows = -(-shape[0] // ranks)
    return rows * int(torch.Size(shape[1:]).numel())


def is_sharded(model: nn.Module) -> bool:
    from torch.distributed.fsdp import FSDPModule

    return isinstance(model, FSDPModule)


def shard(model: nn.Module, bf16: bool = True, checkpointing: bool = False) -> nn.Module:
    """Shard `model` (fp32, on this rank's device) over the default process group, in place; returns it."""
    from torch.distributed.fsdp import (
        FSDPModule,
        MixedPrecisionPolicy,
        fully_shard,
        register_fsdp_forward_method,
    )

    if checkpointing:
        from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import checkpoint_wrapper

        _replace_blocks(model, checkpoint_wrapper)
    policy = (MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16
              else MixedPrecisionPolicy())
    for block in blocks(model):
        fully_shard(block, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    register_fsdp_forward_method(model, "action_logits")  # the policy calls action_logits, not forward
    for unit in model.modules():  # each unit reduces its own gradients
        if isinstance(unit, FSDPModule):
            unit.set_gradient_divide_factor(1.0)
            unit.set_force_sum_reduction_for_comms(True)  # a plain SUM (gloo has no PREMUL_SUM)
    return model


def _replace_blocks(model: nn.Module, wrap) -> None:
    """Wrap every block in place (ModuleList entries), e.g. with activation checkpointing."""
    for featurizer in model.vision_backbone.featurizers():
        featurizer.blocks = nn.Sequential(*[wrap(b) for b in featurizer.blocks])
    layers = model.language_model.model.layers
    for i in range(len(layers)):
        layers[i] = wrap(layers[i])
