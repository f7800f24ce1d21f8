"""Offline advantage-weighted regression (paper appendix G.1) of LeRobot policies on an episode store.

`train_awr` is loaded on first use, so that reading the config (the CLI's options) does not import torch.
"""

from srpo_offline.awr.config import DEFAULT_PRETRAINED, TrainConfig, TrainResult

__all__ = ["DEFAULT_PRETRAINED", "TrainConfig", "TrainResult", "train_awr"]


def __getattr__(name: str):
    if name == "train_awr":
        from srpo_offline.awr.trainer import train_awr

        return train_awr
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
