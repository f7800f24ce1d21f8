"""OpenVLA* as a policy: images + instructions -> sampled action chunks, their log-probs, and un-normalised actions.

Images are preprocessed as OpenVLA-OFT's LIBERO evaluation and siiRL's rollout do (`srpo_online_sim.openvla.images`:
JPEG round trip, TensorFlow's lanczos3 resize to 224, then the 0.9-area centre crop); the agentview frame arrives
already rotated by 180 degrees (envs.py, as OFT's and siiRL's `get_libero_image`).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from srpo_online_sim.openvla.action_tokenizer import ActionStats, ActionTokenizer, unnormalize
from srpo_online_sim.openvla.images import preprocess_image
from srpo_online_sim.openvla.model import OpenVLAStar, action_log_probs, sample_action_tokens

PROMPT = "In: What action should the robot take to {instruction}?\nOut:"
OWN_CONFIG = "srpo_openvla_star.json"  # this project's checkpoint metadata (written by save, read by load_policy)


@dataclass
class ActOutput:
    slice_tokens: torch.Tensor  # [B, 56] indices into the 256-entry action slice
    log_probs: torch.Tensor  # [B, 56] log-probs of those tokens at the sampling temperature
    actions: np.ndarray  # [B, chunk, action_dim] un-normalised actions


class OpenVLAStarPolicy:
    """OpenVLA* behind `srpo_online_sim.protocols.Policy`: camera frames + instructions -> 56-token chunks."""

    def __init__(self, model: OpenVLAStar, tokenizer, stats: ActionStats, append_token_id: int | None = None):
        self.model = model
        self.tokenizer = tokenizer  # a transformers tokenizer that adds BOS
        self.stats = stats  # un-normalisation statistics of the checkpoint's dataset
        self.append_token_id = append_token_id  # OpenVLA appends Llama's empty token 29871 after "Out:"
        self.action_tokenizer = ActionTokenizer(model.config.vocab_size, model.config.n_bins)
        self.load_report = None  # set by loading.load_policy: what the loader mapped
        self.autocast = False  # bf16 autocast of forward passes on CUDA (siiRL's rollout and actor use it)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def chunk(self) -> int:
        return self.model.config.chunk

    @property
    def action_dim(self) -> int:
        return self.model.config.action_dim

    def save(self, folder, write: bool = True) -> None:
        """Weights (safetensors), tokenizer and an OWN_CONFIG file that `loading.load_policy` reads back. Sharded
        weights are gathered first, on every rank (a collective); only ranks with `write` write."""
        from safetensors.torch import save_file

        folder = Path(folder)
        state = {k: (v.full_tensor() if hasattr(v, "full_tensor") else v).detach().cpu().contiguous()
                 for k, v in self.model.state_dict().items()}
        if not write:
            return
        folder.mkdir(parents=True, exist_ok=True)
        save_file(state, str(folder / "model.safetensors"))
        self.tokenizer.save_pretrained(str(folder))
        meta = {
            "config": asdict(self.model.config),
            "action_stats": {"q01": self.stats.q01.tolist(), "q99": self.stats.q99.tolist(),
                             "mask": self.stats.mask.tolist()},
            "append_token_id": self.append_token_id,
        }
        (folder / OWN_CONFIG).write_text(json.dumps(meta, indent=1))

    def load_weights(self, folder) -> None:
        """Load the weights `save` wrote into this policy's model (same structure)."""
        from safetensors.torch import load_file

        state = load_file(str(Path(folder) / "model.safetensors"), device=str(self.device))
        from srpo_online_sim.sharding import is_sharded

        if is_sharded(self.model):  # each rank keeps its shard of the full tensors
            from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

            set_model_state_dict(self.model, state, options=StateDictOptions(full_state_dict=True))
        else:
            self.model.load_state_dict(state)

    def prepare(self, images: list[np.ndarray], instructions: list[str]) -> dict[str, torch.Tensor]:
        """uint8 HxWx3 images and task instructions -> model inputs (left-padded prompts)."""
        cfg = self.model.config
        seen = np.stack([preprocess_image(im, cfg.image_size) for im in images])
        x = torch.from_numpy(seen).permute(0, 3, 1, 2).float().div(255.0)
        pixel = [(x - torch.tensor(m)[:, None, None]) / torch.tensor(s)[:, None, None]
                 for m, s, _ in zip(cfg.image_mean, cfg.image_std, cfg.vision)]
        ids = [self.tokenizer(PROMPT.format(instruction=t.lower())).input_ids for t in instructions]
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

    def autocast_context(self):
        """torch.autocast(cuda, bfloat16) when enabled and on a GPU (siiRL: embodied_rollout.py, embodied_actor.py)."""
        if self.autocast and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def logits(self, inputs: dict[str, torch.Tensor], model: OpenVLAStar | None = None) -> torch.Tensor:
        """[B, chunk * action_dim, n_bins] action logits (under `model`, e.g. a frozen copy, default the policy's)."""
        with self.autocast_context():
            return (model or self.model).action_logits(inputs["pixel_values"], inputs["input_ids"],
                                                       inputs["attention_mask"])

    @torch.no_grad()
    def act(self, inputs: dict[str, torch.Tensor], temperature: float, generator=None) -> ActOutput:
        """One forward pass -> a whole chunk. temperature 0 = greedy (log-probs then at temperature 1)."""
        logits = self.logits(inputs)
        tokens = sample_action_tokens(logits, temperature, generator)
        log_probs = action_log_probs(logits, tokens, temperature or 1.0)
        return ActOutput(tokens, log_probs, self.detokenize(tokens))

    def log_probs(self, inputs: dict[str, torch.Tensor], slice_tokens: torch.Tensor, temperature: float,
                  model: OpenVLAStar | None = None):
        """Differentiable log-probs of given action tokens (for the policy-gradient update); `model` (e.g. a frozen
        reference copy) replaces the policy's own."""
        return action_log_probs(self.logits(inputs, model), slice_tokens, temperature)

    def detokenize(self, slice_tokens: torch.Tensor) -> np.ndarray:
        cfg = self.model.config
        token_ids = self.action_tokenizer.slice_to_token_ids(slice_tokens).cpu().numpy()
        normalised = self.action_tokenizer.decode(token_ids).reshape(-1, cfg.chunk, cfg.action_dim)
        return unnormalize(normalised, self.stats)
