"""OpenVLA*: OpenVLA (Prismatic DINOv2+SigLIP vision, MLP projector, Llama 2) that decodes a whole action chunk
(8 steps x 7 dims = 56 action tokens) in ONE forward pass.

Built from library blocks, not from a checkpoint's remote code: timm ``VisionTransformer`` featurizers (features
of the second-to-last block, as Prismatic), a GELU MLP projector and transformers' ``LlamaForCausalLM``. Module
names mirror the published HF checkpoints (``vision_backbone.featurizer``, ``vision_backbone.fused_featurizer``,
``projector.fc1..3``, ``language_model``) so their safetensors load directly.

Sequence, as OpenVLA-OFT builds it (moojink/openvla-oft prismatic/extern/hf/modeling_prismatic.py,
`_prepare_input_for_action_prediction` and `_build_multimodal_attention`; siiRL's copy in
siirl/models/embodied/openvla_oft/modeling_prismatic.py): [BOS, image patches, prompt tokens, 56 action
placeholders, </s>]. Placeholders enter as zero embeddings, the stop token with its own embedding; the logits at
the position before each placeholder predict its action token (OFT's slice
``logits[:, patches + prompt_tokens - 1 + j]``). Prompts of different lengths are left-padded; position ids count
valid tokens only, so a row's numbers do not depend on its padding.

Attention: FULL bidirectional over every valid token (prompt and image included), padding masked as keys. The
published Sylvest/OpenVLA-AC-PD-* checkpoints were fine-tuned with OpenVLA-OFT, whose pyproject pins
moojink/transformers-openvla-oft (commit bc339d9 "Full bidirectional attention": the Llama SDPA mask is the last
row of the causal/padding mask repeated, i.e. only pad keys are masked, is_causal=False); OFT's own comment on the
stop token says it is "needed in non-causal bi-directional self-attention, as it appears at train time".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class VisionSpec:
    """One timm ViT featurizer."""

    timm_name: str | None  # timm model name (full size), or None to build VisionTransformer(**kwargs)
    kwargs: dict = field(default_factory=dict)  # timm constructor arguments (num_classes=0 is always added)


@dataclass(frozen=True)
class OpenVLAStarConfig:
    vision: tuple[VisionSpec, ...]  # one featurizer, or two fused (DINOv2, SigLIP) whose patch features concat
    image_size: int  # square input resolution of both featurizers
    text_config: dict  # LlamaConfig arguments of the language model
    vocab_size: int = 32000  # tokenizer vocabulary (the action slice is its last n_bins ids)
    n_bins: int = 256  # action bins per dimension
    action_dim: int = 7  # dimensions per action
    chunk: int = 8  # actions decoded per forward pass
    image_mean: tuple[tuple[float, ...], ...] = ((0.485, 0.456, 0.406), (0.5, 0.5, 0.5))  # per featurizer
    image_std: tuple[tuple[float, ...], ...] = ((0.229, 0.224, 0.225), (0.5, 0.5, 0.5))  # per featurizer

    @property
    def num_action_tokens(self) -> int:
        return self.chunk * self.action_dim


def _featurizer(spec: VisionSpec, image_size: int) -> nn.Module:
    import timm
    from timm.models.vision_transformer import VisionTransformer

    if spec.timm_name is not None:
        return timm.create_model(spec.timm_name, pretrained=False, num_classes=0, img_size=image_size)
    return VisionTransformer(img_size=image_size, num_classes=0, **spec.kwargs)


class VisionBackbone(nn.Module):
    def __init__(self, config: OpenVLAStarConfig):
        super().__init__()
        self.featurizer = _featurizer(config.vision[0], config.image_size)
        if len(config.vision) > 1:
            self.fused_featurizer = _featurizer(config.vision[1], config.image_size)
        self.embed_dim = sum(m.embed_dim for m in self.featurizers())

    def featurizers(self) -> list[nn.Module]:
        return [self.featurizer] + ([self.fused_featurizer] if hasattr(self, "fused_featurizer") else [])

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """pixel_values [B, 3 * n_featurizers, H, W] -> patch features [B, n_patches, embed_dim]."""
        chunks = torch.split(pixel_values, 3, dim=1)
        feats = []
        for model, images in zip(self.featurizers(), chunks):
            (penultimate,) = model.get_intermediate_layers(images, n={len(model.blocks) - 2})
            feats.append(penultimate)
        return torch.cat(feats, dim=-1)


class Projector(nn.Module):
    """Prismatic's GELU MLP: 3 layers for fused backbones (via 4x width), 2 layers otherwise."""

    def __init__(self, vision_dim: int, llm_dim: int, fused: bool):
        super().__init__()
        self.fused = fused
        if fused:
            self.fc1 = nn.Linear(vision_dim, 4 * vision_dim)
            self.fc2 = nn.Linear(4 * vision_dim, llm_dim)
            self.fc3 = nn.Linear(llm_dim, llm_dim)
        else:
            self.fc1 = nn.Linear(vision_dim, llm_dim)
            self.fc2 = nn.Linear(llm_dim, llm_dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc2(self.act(self.fc1(x)))
        return self.fc3(self.act(x)) if self.fused else x


class OpenVLAStar(nn.Module):
    def __init__(self, config: OpenVLAStarConfig):
        super().__init__()
        from transformers import LlamaConfig, LlamaForCausalLM

        self.config = config
        self.vision_backbone = VisionBackbone(config)
        llm_config = LlamaConfig(**config.text_config)
        self.projector = Projector(self.vision_backbone.embed_dim, llm_config.hidden_size, len(config.vision) > 1)
        self.language_model = LlamaForCausalLM(llm_config)

    @property
    def action_slice(self) -> slice:
        return slice(self.config.vocab_size - self.config.n_bins, self.config.vocab_size)

    def action_logits(
        self, pixel_values: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Logits over the action slice, [B, chunk * action_dim, n_bins], from one forward pass.

        input_ids/attention_mask: left-padded prompts starting with BOS (no action tokens).
        """
        batch, prompt_len = input_ids.shape
        n_act = self.config.num_action_tokens
        patches = self.projector(self.vision_backbone(pixel_values))
        embed = self.language_model.get_input_embeddings()
        text = embed(input_ids)
        # BOS sits right after the left padding: put the patches behind each row's BOS
        bos_pos = (attention_mask.cumsum(1) == 0).sum(1)
        rows = []
        for b in range(batch):
            p = int(bos_pos[b])
            rows.append(torch.cat([text[b, : p + 1], patches[b], text[b, p + 1 :]], dim=0))
        placeholders = torch.zeros(batch, n_act, text.shape[-1], dtype=text.dtype, device=text.device)
        stop_id = torch.full((batch, 1), self.language_model.config.eos_token_id, device=input_ids.device)
        inputs = torch.cat([torch.stack(rows), placeholders, embed(stop_id)], dim=1)
        # left padding: everything before a row's BOS is padding, everything after it is valid
        idx = torch.arange(inputs.shape[1], device=inputs.device)
        valid = idx[None] >= bos_pos[:, None]
        mask = self._attention_mask(valid, inputs.dtype)
        positions = (valid.long().cumsum(1) - 1).clamp(min=0)
        out = self.language_model(inputs_embeds=inputs, attention_mask=mask, position_ids=positions, use_cache=False)
        seq = inputs.shape[1]
        logits = out.logits[:, seq - n_act - 2 : seq - 2, self.action_slice]
        return logits.float()

    @staticmethod
    def _attention_mask(valid: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Additive 4-D mask [B, 1, S, S]: every query sees every valid key (OFT's bidirectional Llama)."""
        seq = valid.shape[1]
        allowed = valid[:, None, :].expand(-1, seq, -1)
        mask = torch.zeros(allowed.shape, dtype=dtype, device=valid.device)
        return mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


def action_log_probs(logits: torch.Tensor, slice_tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log pi(token) over the action slice at the sampling temperature; logits [..., n_bins], tokens [...]."""
    logp = torch.log_softmax(logits / temperature, dim=-1)
    return logp.gather(-1, slice_tokens.unsqueeze(-1)).squeeze(-1)


def sample_action_tokens(
    logits: torch.Tensor, temperature: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Indices into the action slice: greedy when temperature == 0, else sampled from softmax(logits / T)."""
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator)
    return flat.reshape(probs.shape[:-1])
