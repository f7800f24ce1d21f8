"""Config of `chunk_mlp`: a state-only policy small enough to learn the simulated xArm tasks on 2 CPU cores in
about a minute, for benchmarks that compare training methods rather than architectures (the offline bench).
It reads `observation.state` and, when present, `observation.environment_state` (the simulator's privileged
object pose: `srpo.policy_io`), and predicts `chunk_size` actions at once, as ACT does."""

from dataclasses import dataclass, field

from lerobot.configs import NormalizationMode, PreTrainedConfig
from lerobot.optim import AdamWConfig


@PreTrainedConfig.register_subclass("chunk_mlp")
@dataclass
class ChunkMLPConfig(PreTrainedConfig):
    n_obs_steps: int = 1  # observations per prediction (only 1 is supported)
    chunk_size: int = 10  # actions predicted per forward pass
    n_action_steps: int = 10  # actions executed from each predicted chunk before predicting again
    hidden_dim: int = 256  # width of every hidden layer
    n_layers: int = 3  # hidden layers
    dropout: float = 0.0  # dropout after every hidden layer
    normalization_mapping: dict[str, NormalizationMode] = field(  # inputs and actions: zero mean, unit std
        default_factory=lambda: {"STATE": NormalizationMode.MEAN_STD, "ENV": NormalizationMode.MEAN_STD,
                                 "ACTION": NormalizationMode.MEAN_STD})
    optimizer_lr: float = 1e-3  # AdamW peak learning rate (from scratch: a small MLP takes a large step)
    optimizer_weight_decay: float = 1e-4  # AdamW weight decay

    def __post_init__(self):
        super().__post_init__()
        if self.n_obs_steps != 1:
            raise ValueError(f"chunk_mlp takes one observation step, got n_obs_steps={self.n_obs_steps}")
        if not 1 <= self.n_action_steps <= self.chunk_size:
            raise ValueError(f"n_action_steps must be in [1, chunk_size={self.chunk_size}], got {self.n_action_steps}")

    def get_optimizer_preset(self) -> AdamWConfig:
        return AdamWConfig(lr=self.optimizer_lr, weight_decay=self.optimizer_weight_decay)

    def get_scheduler_preset(self) -> None:
        return None

    def validate_features(self) -> None:
        if self.image_features:
            raise ValueError("chunk_mlp reads only state: train it with images off (`srpo train awr --images false`, "
                             "TrainConfig(images=False))")
        if not self.robot_state_feature and not self.env_state_feature:
            raise ValueError("chunk_mlp needs observation.state or observation.environment_state among its inputs")

    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list:
        return list(range(self.chunk_size))

    @property
    def reward_delta_indices(self) -> None:
        return None
