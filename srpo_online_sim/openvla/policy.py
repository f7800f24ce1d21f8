"""OpenVLA* as a policy: images + instructions -> sampled action chunks, their log-probs, and un-normalised actions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from srpo_online_sim.openvla.action_tokenizer import ActionStats, ActionTokenizer, unnormalize
from srpo_online_sim.openvla.model import OpenVLAStar, action_log_probs, sample_action_tokens

PROMPT = "In: What action should the robot take to {instruction}?\nOut:"


@dataclass
class ActOutput:
    slice_tokens: torch.Tensor  # [B, 56] indices into the 256-entry action slice
    log_probs: torch.Tensor  # [B, 56] log-probs of those tokens at the sampling temperature
    actions: np.ndarray  # [B, chunk, action_dim] un-normalised actions


class OpenVLAStarPolicy:
    def __init__(self, model: OpenVLAStar, tokenizer, stats: ActionStats, append_token_id: int | None = None):
        self.model = model
        self.tokenizer = tokenizer  # a transformers tokenizer that adds BOS
        self.stats = stats  # un-normalisation statistics of the checkpoint's dataset
        self.append_token_id = append_token_id  # OpenVLA appends Llama's empty token 29871 after "Out:"
        self.action_tokenizer = ActionTokenizer(model.config.vocab_size, model.config.n_bins)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def prepare(self, images: list[np.ndarray], instructions: list[str]) -> dict[str, torch.Tensor]:
        """uint8 HxWx3 images and task instructions -> model inputs (left-padded prompts)."""
        cfg = self.model.config
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255.0)
        x = F.interpolate(x, size=(cfg.image_size, cfg.image_size), mode="bilinear", antialias=True)
        x = x.clamp(0, 1)
        pixel = [(x - torch.tensor(m)[:, None, None]) / torch.tensor(s)[:, None, None]
                 for m, s, _ in zip(cfg.image_mean, cfg.image_std, cfg.vision)]
        ids = [self.tokenizer(PROMPT.format(instruction=t.lower().rstrip("."))).input_ids for t in instructions]
        if self.append_token_id is not None:
            ids = [i if i[-1] == self.append_token_id else [*i, self.append_token_id] for i in ids]
        width = max(len(i) for i in ids)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.tensor([[pad] * (width - len(i)) + list(i) for i in ids])
        mask = torch.tensor([[0] * (width - len(i)) + [1] * len(i) for i in ids])
        dtype = next(self.model.parameters()).dtype
        return {
            "pixel_values": torch.cat(pixel, dim=1).to(self.device, dtype),
            "input_ids": input_ids.to(self.device),
            "attention_mask": mask.to(self.device),
        }

    def logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model.action_logits(inputs["pixel_values"], inputs["input_ids"], inputs["attention_mask"])

    @torch.no_grad()
    def act(self, inputs: dict[str, torch.Tensor], temperature: float, generator=None) -> ActOutput:
        """One forward pass -> a whole chunk. temperature 0 = greedy (log-probs then at temperature 1)."""
        logits = self.logits(inputs)
        tokens = sample_action_tokens(logits, temperature, generator)
        log_probs = action_log_probs(logits, tokens, temperature or 1.0)
        return ActOutput(tokens, log_probs, self.detokenize(tokens))

    def log_probs(self, inputs: dict[str, torch.Tensor], slice_tokens: torch.Tensor, temperature: float):
        """Differentiable log-probs of given action tokens (for the policy-gradient update)."""
        return action_log_probs(self.logits(inputs), slice_tokens, temperature)

    def detokenize(self, slice_tokens: torch.Tensor) -> np.ndarray:
        cfg = self.model.config
        token_ids = self.action_tokenizer.slice_to_token_ids(slice_tokens).cpu().numpy()
        normalised = self.action_tokenizer.decode(token_ids).reshape(-1, cfg.chunk, cfg.action_dim)
        return unnormalize(normalised, self.stats)
