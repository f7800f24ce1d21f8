"""`srpo libero train|eval`: online SRPO on LIBERO with OpenVLA*, and the standard evaluation protocol.

The commands' configs are the Python API's: `TrainConfig` (srpo_online_sim.trainer; `--preset srpo|siirl`) and
`EvalConfig` (srpo_online_sim.evaluate); the algorithm's options are `--algo.<field>`. Old flags still work:
--output, --variant.
"""

from __future__ import annotations

from srpo_online_sim.evaluate import EvalConfig
from srpo_online_sim.trainer import TrainConfig


def train(cfg: TrainConfig) -> int:
    """online SRPO (or GRPO with --algo.alpha 0) on LIBERO rollouts; --preset siirl for the authors' settings"""
    from srpo_online_sim.trainer import Trainer

    trainer = Trainer(cfg)
    if cfg.resume and trainer.resume():
        print(f"resumed at step {trainer.step}")
    trainer.train()
    print(f"done: checkpoints and metrics.jsonl in {cfg.output_dir}")
    return 0


def evaluate(cfg: EvalConfig) -> int:
    """standard protocol: tasks x 50 official initial states, greedy"""
    from srpo_online_sim.evaluate import evaluate as run
    from srpo_online_sim.evaluate import markdown_table

    report = run(cfg)
    print(markdown_table(report))
    print(f"results.json, results.md, results.png in {cfg.output_dir}")
    return 0


COMMANDS = {"train": train, "eval": evaluate}
