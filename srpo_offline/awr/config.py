"""What an AWR (or uniform-weight SFT) training run does, and what it returns."""

from dataclasses import asdict, dataclass, field
from pathlib import Path

# hub checkpoints users fine-tune from (the CLI's default --pretrained per policy type)
DEFAULT_PRETRAINED = {"pi0": "lerobot/pi0_base", "pi0_fast": "lerobot/pi0fast-base"}


@dataclass(frozen=True)
class TrainConfig:
    """One training run: data, policy, weighting and optimisation."""

    store: str | Path  # episode store (srpo.store) to train on
    out: str | Path  # output directory: checkpoints/, log.json, tensorboard/
    policy: str = "pi0"  # LeRobot policy type: pi0, pi0_fast (alias pi0fast), act, diffusion, ...
    pretrained: str | None = None  # hub id or local checkpoint to fine-tune; None trains from scratch
    reward_run: str | None = None  # derived/<run> written by `srpo reward compute` (needed for weighting="awr")
    weighting: str = "awr"  # "awr": loss = sum(w l) / sum(w); "uniform": plain fine-tuning (the SFT baseline)
    beta: float | None = None  # AWR temperature; None keeps the reward run's stored weights (see docs/train.md)
    w_max: float | None = None  # AWR weight clip; None keeps the reward run's (or 20 when recomputing)
    chunk_weight: str = "start"  # "start": a chunk takes its first step's weight; "mean": exp(mean A over chunk)
    steps: int = 1000  # optimiser updates (total, counting those before a resume)
    batch_size: int = 8  # samples per update (per process under accelerate)
    lr: float | None = None  # peak learning rate; None keeps the policy's LeRobot preset
    val_fraction: float = 0.1  # fraction of episodes held out for the validation loss
    val_every: int = 100  # validate every this many steps (and at the end)
    val_batches: int = 20  # at most this many held-out batches per validation
    save_every: int = 500  # checkpoint every this many steps (and at the end)
    log_every: int = 10  # log the training loss every this many steps
    resume: bool = False  # continue from out/checkpoints/last (optimizer, scheduler, step, RNG)
    seed: int = 0  # seeds the split, the data order and the model's random init
    num_workers: int | None = None  # DataLoader workers reading the store; None: 0 on CPU, 4 on GPU
    device: str = "auto"  # "auto" (cuda if available), "cuda", "cpu"
    policy_options: dict = field(default_factory=dict)  # LeRobot config overrides, e.g. {"chunk_size": 10}
    tokenizer: str | None = None  # text tokenizer override (a local dir) for checkpoints with a tokenizer step
    progress: bool = True  # tqdm progress bar

    def to_json(self) -> dict:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


@dataclass
class TrainResult:
    """What a run produced."""

    out: Path  # the output directory
    checkpoint: Path  # the last checkpoint's pretrained_model/ (load with LeRobot's factory)
    train_loss: list[tuple[int, float]]  # (step, training loss) every log_every steps
    val_loss: list[tuple[int, float]]  # (step, held-out loss, unweighted mean per sample)
    val_weighted_loss: list[tuple[int, float]]  # (step, held-out loss weighted by AWR weights; uniform: same)
    weight_stats: dict  # effective sample size, clipped fraction, ... over the training steps
    step_seconds: float  # mean wall time of one update (data excluded)
    log: Path  # the JSON log
