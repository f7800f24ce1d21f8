"""`chunk_mlp`: state (and environment state) -> MLP -> a chunk of normalised actions, trained with L1 as ACT is.

`forward(batch, reduction="none")` gives per-sample losses (the mean over that sample's valid chunk steps)
and `loss_counts` the valid steps per sample, so AWR's count-weighted mean with equal weights is exactly the
batch mean that `reduction="mean"` returns (`srpo_offline.awr.losses`).
"""

from collections import deque

import torch
import torch.nn.functional as F
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_STATE
from torch import Tensor, nn

from srpo.policies.chunk_mlp.configuration_chunk_mlp import ChunkMLPConfig


class ChunkMLPPolicy(PreTrainedPolicy):
    config_class = ChunkMLPConfig
    name = "chunk_mlp"

    def __init__(self, config: ChunkMLPConfig, **kwargs):
        super().__init__(config)
        config.validate_features()
        self.config = config
        self.inputs = [k for k in (OBS_STATE, OBS_ENV_STATE) if k in config.input_features]
        width = sum(config.input_features[k].shape[0] for k in self.inputs)
        self.action_dim = config.action_feature.shape[0]
        layers: list[nn.Module] = []
        for _ in range(config.n_layers):
            layers += [nn.Linear(width, config.hidden_dim), nn.GELU(), nn.Dropout(config.dropout)]
            width = config.hidden_dim
        layers.append(nn.Linear(width, config.chunk_size * self.action_dim))
        self.net = nn.Sequential(*layers)
        self.reset()

    def get_optim_params(self):
        return self.parameters()

    def reset(self):
        self._queue: deque[Tensor] = deque([], maxlen=self.config.n_action_steps)

    def _chunk(self, batch: dict[str, Tensor]) -> Tensor:
        x = torch.cat([batch[k].flatten(1) for k in self.inputs], dim=-1)
        return self.net(x).view(x.shape[0], self.config.chunk_size, self.action_dim)

    @torch.no_grad()
    def predict_action_chunk(self, batch: dict[str, Tensor], **kwargs) -> Tensor:
        self.eval()
        return self._chunk(batch)

    @torch.no_grad()
    def select_action(self, batch: dict[str, Tensor], **kwargs) -> Tensor:
        if not self._queue:
            self._queue.extend(self.predict_action_chunk(batch)[:, : self.config.n_action_steps].transpose(0, 1))
        return self._queue.popleft()

    def loss_counts(self, batch: dict[str, Tensor]) -> Tensor:
        """Valid (unpadded) chunk steps per sample: what the batch-mean loss counts."""
        return (~batch["action_is_pad"]).float().sum(1)

    def forward(self, batch: dict[str, Tensor], reduction: str = "mean") -> tuple[Tensor, dict]:
        valid = (~batch["action_is_pad"]).unsqueeze(-1).float()
        err = F.l1_loss(self._chunk(batch), batch[ACTION], reduction="none") * valid
        if reduction == "none":
            loss = err.sum((1, 2)) / (valid.sum((1, 2)) * self.action_dim).clamp_min(1)
            return loss, {"l1_loss": loss.mean().item()}
        loss = err.sum() / (valid.sum() * self.action_dim).clamp_min(1)
        return loss, {"l1_loss": loss.item()}
