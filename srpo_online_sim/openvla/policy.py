"""OpenVLA* as a policy: images + instructions -> sampled action chunks, their log-probs, and un-normalised actions.

Image preprocessing follows OpenVLA-OFT's LIBERO evaluation (moojink/openvla-oft experiments/robot/openvla_utils.py:
`resize_image_for_policy`, then `center_crop_image` / `crop_and_resize`, which `run_libero_eval.py` asserts for
models trained with image augmentation, as these were; siiRL's embodied_rollout.py crops the same way but
straight from the 256-px frame, without the lanczos step). The
agentview frame arrives already rotated by 180 degrees (envs.py, as OFT's `get_libero_image`). Differences
left: OFT round-trips the frame through JPEG before its TensorFlow lanczos3 resize; here PIL's LANCZOS
(also lanczos3, antialiased) resizes the raw frame.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srpo_online_sim.openvla.action_tokenizer import ActionStats, ActionTokenizer, unnormalize
from srpo_online_sim.openvla.model import OpenVLAStar, action_log_probs, sample_action_tokens

PROMPT = "In: What action should the robot take to {instruction}?\nOut:"
OWN_CONFIG = "srpo_openvla_star.json"  # this project's checkpoint metadata (written by save, read by load_policy)
CROP_AREA = 0.9  # OFT / siiRL center_crop_image: crop_scale 0.9 of the image area


def resize_lanczos(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 HxWx3 -> uint8 size x size (OFT's resize_image_for_policy: lanczos3, antialiased, rounded)."""
    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS))


def center_crop(image: np.ndarray, area: float = CROP_AREA) -> np.ndarray:
    """Crop the central `area` fraction and resize back, as tf.image.crop_and_resize does in OFT's crop_and_resize.

    Box side sqrt(area) (normalised), centred; output pixel i samples the input at
    y = y1 (H - 1) + i (y2 - y1)(H - 1) / (H - 1), bilinearly; then tf.image.convert_image_dtype back to uint8,
    i.e. floor(v * 255.5) of the [0, 1] value.
    """
    h, w = image.shape[:2]
    side = np.sqrt(area)
    off = (1.0 - side) / 2.0
    x = image.astype(np.float64) / 255.0
    ys = off * (h - 1) + np.arange(h) * side * (h - 1) / (h - 1)
    xs = off * (w - 1) + np.arange(w) * side * (w - 1) / (w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = x[y0][:, x0] * (1 - fx) + x[y0][:, x1] * fx
    bottom = x[y1][:, x0] * (1 - fx) + x[y1][:, x1] * fx
    out = np.clip(top * (1 - fy) + bottom * fy, 0.0, 1.0)
    return np.minimum(np.floor(out * 255.5), 255).astype(np.uint8)


def preprocess_image(image: np.ndarray, size: int) -> np.ndarray:
    """A rotated agentview frame (uint8 HxWx3) -> the uint8 size x size image the model sees."""
    return center_crop(resize_lanczos(np.ascontiguousarray(image), size))


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

    def save(self, folder) -> None:
        """Weights (safetensors), tokenizer and an OWN_CONFIG file that `loading.load_policy` reads back."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
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

        self.model.load_state_dict(load_file(str(Path(folder) / "model.safetensors"), device=str(self.device)))

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
