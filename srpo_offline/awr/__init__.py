"""Offline advantage-weighted regression (paper appendix G.1) of LeRobot policies on an episode store."""

from srpo_offline.awr.config import DEFAULT_PRETRAINED, TrainConfig, TrainResult
from srpo_offline.awr.trainer import train_awr

__all__ = ["DEFAULT_PRETRAINED", "TrainConfig", "TrainResult", "train_awr"]
