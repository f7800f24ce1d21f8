"""A small MLP policy over simulator state, with OpenVLA*'s action head: chunks of actions, each dimension
discretised into 256 bins, one categorical per (step of the chunk, dimension), sampled at a temperature.

Input features (`state_features`): the TCP position, gripper width, the cube's position and orientation and the
pad's position (privileged simulator state), the cube-to-TCP and pad-to-cube offsets, and a one-hot task id
(the instruction's index among the world's instructions). Action bins: centres on linspace(-1, 1, n_bins)
scaled per dimension to `action_low .. action_high`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from srpo_online_sim.openvla.model import action_log_probs, sample_action_tokens
from srpo_online_sim.xarm_sim import MAX_STEP, POLICY_ACTION_DIM

POSITION_SCALE = 10.0  # metres -> decimetres, so position features are O(1)
CONFIG_FILE = "mlp_policy.json"
WEIGHTS_FILE = "model.pt"


@dataclass(frozen=True)
class MLPPolicyConfig:
    """Shape of the MLP policy and its discretised action head."""

    n_tasks: int = 2  # tasks of the world (one-hot input)
    hidden: int = 256  # width of each hidden layer
    layers: int = 2  # hidden layers
    chunk: int = 4  # actions per decision (executed open-loop, as OpenVLA*'s 8)
    action_dim: int = POLICY_ACTION_DIM  # dimensions per action
    n_bins: int = 256  # bins per action dimension (OpenVLA*'s 256)
    action_low: tuple[float, ...] = (-MAX_STEP, -MAX_STEP, -MAX_STEP, 0.0)  # lowest bin centre per dimension
    action_high: tuple[float, ...] = (MAX_STEP, MAX_STEP, MAX_STEP, 1.0)  # highest bin centre per dimension

    @property
    def n_features(self) -> int:
        return 3 + 1 + 3 + 4 + 3 + 3 + 3 + self.n_tasks


def state_features(obs: dict, task: int, n_tasks: int) -> np.ndarray:
    """One observation dict of the sim arm -> the MLP's input vector."""
    eef = np.asarray(obs["robot0_eef_pos"], dtype=np.float64)
    cube = np.asarray(obs["object0_pos"], dtype=np.float64)
    pad = np.asarray(obs["target0_pos"], dtype=np.float64)
    width = np.asarray(obs["robot0_gripper_width"], dtype=np.float64).reshape(1)
    onehot = np.zeros(n_tasks)
    onehot[task] = 1.0
    return np.concatenate([eef * POSITION_SCALE, width * POSITION_SCALE * 2, cube * POSITION_SCALE,
                           np.asarray(obs["object0_quat"], dtype=np.float64), pad * POSITION_SCALE,
                           (cube - eef) * POSITION_SCALE * 3, (pad - cube) * POSITION_SCALE, onehot])


class MLPActionModel(nn.Module):
    """features [B, F] -> logits [B, chunk * action_dim, n_bins]."""

    def __init__(self, config: MLPPolicyConfig):
        super().__init__()
        self.config = config
        dims = [config.n_features] + [config.hidden] * config.layers
        body = []
        for a, b in zip(dims[:-1], dims[1:]):
            body += [nn.Linear(a, b), nn.Tanh()]
        self.body = nn.Sequential(*body)
        self.head = nn.Linear(dims[-1], config.chunk * config.action_dim * config.n_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        return self.head(self.body(x)).view(-1, c.chunk * c.action_dim, c.n_bins)


class MLPPolicy:
    """`srpo_online_sim.protocols.Policy` over sim-state observations (dicts) and the world's instructions."""

    def __init__(self, config: MLPPolicyConfig, instructions: list[str], seed: int = 0, device: str = "cpu"):
        if len(instructions) != config.n_tasks:
            raise ValueError(f"{len(instructions)} instructions for an MLP with {config.n_tasks} tasks")
        torch.manual_seed(seed)
        self.config = config
        self.instructions = list(instructions)
        self.model = MLPActionModel(config).to(device)
        self.chunk, self.action_dim = config.chunk, config.action_dim
        low, high = np.asarray(config.action_low), np.asarray(config.action_high)
        self.centres = low[:, None] + (high - low)[:, None] * (np.linspace(-1, 1, config.n_bins)[None] + 1) / 2

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def features(self, observations: list[dict], instructions: list[str]) -> np.ndarray:
        return np.stack([state_features(o, self.instructions.index(t), self.config.n_tasks)
                         for o, t in zip(observations, instructions)])

    def prepare(self, observations: list[dict], instructions: list[str]) -> dict[str, torch.Tensor]:
        x = torch.as_tensor(self.features(observations, instructions), dtype=torch.float32, device=self.device)
        return {"x": x}

    def tokens_of(self, actions: np.ndarray) -> np.ndarray:
        """[..., chunk, dim] actions -> nearest bin indices [..., chunk * dim] (for behaviour cloning)."""
        a = np.asarray(actions, dtype=np.float64)
        idx = np.abs(a[..., None] - self.centres).argmin(-1)
        return idx.reshape(*a.shape[:-2], -1)

    def detokenize(self, tokens: torch.Tensor) -> np.ndarray:
        t = tokens.cpu().numpy().reshape(-1, self.chunk, self.action_dim)
        return self.centres[np.arange(self.action_dim), t]

    @torch.no_grad()
    def act(self, inputs: dict[str, torch.Tensor], temperature: float, generator=None) -> SimpleNamespace:
        logits = self.model(inputs["x"])
        tokens = sample_action_tokens(logits, temperature, generator)
        log_probs = action_log_probs(logits, tokens, temperature or 1.0)
        return SimpleNamespace(slice_tokens=tokens, log_probs=log_probs, actions=self.detokenize(tokens))

    def logits(self, inputs: dict[str, torch.Tensor], model: nn.Module | None = None) -> torch.Tensor:
        """[B, chunk * action_dim, n_bins] raw logits (under `model`, default the policy's own)."""
        return (model or self.model)(inputs["x"])

    def log_probs(self, inputs: dict[str, torch.Tensor], slice_tokens: torch.Tensor, temperature: float,
                  model: nn.Module | None = None) -> torch.Tensor:
        return action_log_probs(self.logits(inputs, model), slice_tokens, temperature)

    def save(self, folder) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.model.state_dict(), folder / WEIGHTS_FILE)
        (folder / CONFIG_FILE).write_text(json.dumps({"config": asdict(self.config),
                                                      "instructions": self.instructions}, indent=1))

    def load_weights(self, folder) -> None:
        self.model.load_state_dict(torch.load(Path(folder) / WEIGHTS_FILE, map_location=self.device))

    @classmethod
    def load(cls, folder, device: str = "cpu") -> MLPPolicy:
        meta = json.loads((Path(folder) / CONFIG_FILE).read_text())
        cfg = meta["config"]
        config = MLPPolicyConfig(**{**cfg, "action_low": tuple(cfg["action_low"]),
                                    "action_high": tuple(cfg["action_high"])})
        policy = cls(config, meta["instructions"], device=device)
        policy.load_weights(folder)
        return policy
