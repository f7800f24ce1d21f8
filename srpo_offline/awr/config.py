"""What an AWR (or uniform-weight SFT) training run does, and what it returns. `TrainConfig` is both the
Python API's config and the options of `srpo train awr` (one default, one place)."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

from srpo.configs import POSITIONAL
from srpo.policy_io import STATE_KEYS, PolicyIO

# hub checkpoints users fine-tune from (the default --pretrained per policy type)
DEFAULT_PRETRAINED = {"pi0": "lerobot/pi0_base", "pi0_fast": "lerobot/pi0fast-base"}
WEIGHTINGS = ("awr", "uniform")


def option_strings(options) -> tuple[str, ...]:
    """LeRobot config overrides as KEY=VALUE strings (values JSON); a dict is accepted and converted."""
    if isinstance(options, dict):
        return tuple(f"{k}={json.dumps(v)}" for k, v in options.items())
    return tuple(options)


@dataclass(frozen=True)
class TrainConfig:
    """Train a LeRobot policy on an episode store by advantage-weighted regression: each sample (the
    observation at step t and the action chunk starting at t) is weighted by w = min(exp(A_t / beta), w_max)
    as stored by the reward run, and each batch minimises sum(w * loss) / sum(w). --weighting uniform trains
    the same policy on the same data with equal weights (the SFT baseline). Checkpoints are LeRobot
    checkpoints (OUT/checkpoints/last/pretrained_model) that LeRobot's factory and `srpo robot deploy` load."""

    store: str = field(default="", metadata=POSITIONAL)  # episode store (Zarr directory) to train on
    out: str = ""  # output directory: checkpoints/, log.json, metrics.jsonl, tensorboard/
    policy: str = "pi0"  # LeRobot policy type: pi0, pi0fast, act, diffusion, smolvla, ...
    pretrained: str | None = None  # hub id or local checkpoint to fine-tune; None: DEFAULT_PRETRAINED[policy], if any
    from_scratch: bool = False  # random initialisation, ignore --pretrained
    reward_run: str | None = None  # derived reward run printed by `srpo reward compute` (needed for awr weighting)
    weighting: str = "awr"  # awr: loss = sum(w l) / sum(w); uniform: plain fine-tuning (the SFT baseline)
    success_only: bool = False  # train (and validate) on the episodes labelled successful only: filtered BC
    beta: float | None = None  # AWR temperature; None keeps the reward run's stored weights (given: recomputed)
    w_max: float | None = None  # AWR weight clip; None keeps the reward run's (given: weights are recomputed)
    chunk_weight: str = "start"  # start: a chunk takes its first step's weight; mean: exp(mean A over the chunk)
    steps: int = 1000  # optimiser updates (total, counting those before a resume)
    batch_size: int = 8  # samples per update (per process under accelerate)
    lr: float | None = None  # peak learning rate; None keeps the policy's LeRobot preset
    val_fraction: float = 0.1  # fraction of episodes held out for the validation loss
    val_every: int = 100  # validate every this many steps (and at the end)
    val_batches: int = 20  # at most this many held-out batches per validation
    save_every: int = 500  # checkpoint every this many steps (and at the end)
    log_every: int = 10  # log the training loss every this many steps
    resume: bool = False  # continue the run in --out from checkpoints/last (optimizer, scheduler, step, RNG)
    seed: int = 0  # seeds the split, the data order and the model's random init
    num_workers: int | None = None  # DataLoader workers reading the store; None: 0 on CPU, 4 on GPU
    device: str = "auto"  # auto (cuda if available), cuda or cpu
    state_keys: tuple[str, ...] = STATE_KEYS  # store keys concatenated into observation.state
    environment_state_keys: tuple[str, ...] = ()  # store keys into observation.environment_state, e.g. object0_pos target0_pos (sim-only state)
    images: bool = True  # feed the store's cameras to the policy; false: a state-only policy (needs environment state keys)
    policy_options: tuple[str, ...] = ()  # LeRobot config overrides KEY=VALUE, e.g. chunk_size=10 (a dict from Python)
    tokenizer: str | None = None  # local text tokenizer directory instead of the checkpoint's hub tokenizer
    progress: bool = True  # show the tqdm progress bar

    CLI_ALIASES: ClassVar[dict[str, str]] = {"policy-option": "policy_options"}

    def __post_init__(self):
        object.__setattr__(self, "policy_options", option_strings(self.policy_options))

    @property
    def io(self) -> PolicyIO:
        return PolicyIO(tuple(self.state_keys), tuple(self.environment_state_keys), self.images)

    def to_json(self) -> dict:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


@dataclass
class TrainResult:
    """What a run produced."""

    out: Path  # the output directory
    checkpoint: Path  # the last checkpoint's pretrained_model/ (load with srpo.policy_loading.load_policy)
    train_loss: list[tuple[int, float]]  # (step, training loss) every log_every steps
    val_loss: list[tuple[int, float]]  # (step, held-out loss, unweighted mean per sample)
    val_weighted_loss: list[tuple[int, float]]  # (step, held-out loss weighted by AWR weights; uniform: same)
    weight_stats: dict  # effective sample size, clipped fraction, ... over the training steps
    step_seconds: float  # mean wall time of one update (data excluded)
    log: Path  # the JSON log
