"""Checkpoints in LeRobot's layout: out/checkpoints/<step>/{pretrained_model, training_state}, plus `last`.

pretrained_model/ is what `policy.save_pretrained` and the processors' `save_pretrained` write (config.json,
model.safetensors, policy_preprocessor.json, policy_postprocessor.json and their state files), so LeRobot's
factory loads it; training_state/ is LeRobot's own optimizer/scheduler/RNG/step state. Our run config goes
beside them as srpo_train_config.json.
"""

import json
from pathlib import Path

from srpo.errors import UserFacingError
from srpo.policy_io import PolicyIO, write_io

RUN_CONFIG = "srpo_train_config.json"


def checkpoints_dir(out: Path) -> Path:
    return Path(out) / "checkpoints"


def last_checkpoint(out: Path) -> Path:
    last = checkpoints_dir(out) / "last"
    if not last.exists():
        raise UserFacingError(f"nothing to resume in {out}: no checkpoints/last. Drop --resume to start a run.")
    return last.resolve()


def save(out: Path, step: int, total_steps: int, policy, optimizer, scheduler, preprocessor, postprocessor,
         run_config: dict, batch_size: int, num_processes: int, io: PolicyIO = PolicyIO()) -> Path:
    """Write a checkpoint for `step` and point checkpoints/last at it; returns its pretrained_model dir."""
    from lerobot.common.train_utils import (
        get_step_checkpoint_dir,
        save_training_state,
        update_last_checkpoint,
    )
    from lerobot.utils.constants import PRETRAINED_MODEL_DIR

    ckpt = get_step_checkpoint_dir(Path(out), total_steps, step)
    model_dir = ckpt / PRETRAINED_MODEL_DIR
    policy.save_pretrained(model_dir)
    preprocessor.save_pretrained(model_dir)
    postprocessor.save_pretrained(model_dir)
    write_io(model_dir, io.state_keys, io.environment_state_keys)  # the state layout the policy runner reads back
    (model_dir / RUN_CONFIG).write_text(json.dumps(run_config, indent=2))
    save_training_state(ckpt, step, optimizer, scheduler, num_processes=num_processes, batch_size=batch_size)
    update_last_checkpoint(ckpt)
    return model_dir


def load_state(ckpt: Path, optimizer, scheduler) -> int:
    """Restore optimizer, scheduler and RNG state; returns the step the checkpoint was taken at."""
    from lerobot.common.train_utils import load_training_state

    step, _, _ = load_training_state(ckpt, optimizer, scheduler)
    return step
