"""`srpo train ...`: offline advantage-weighted regression of LeRobot policies (paper appendix G.1).

Thin over `srpo_offline.awr.train_awr`; its `TrainConfig` is the command's options. torch and LeRobot are
imported when the command runs.
"""

from srpo_offline.awr.config import TrainConfig


def awr(cfg: TrainConfig) -> int:
    """AWR (or uniform SFT) training of pi0 / pi0-FAST / any LeRobot policy"""
    from srpo_offline.awr import train_awr

    result = train_awr(cfg)
    last_val = f", held-out loss {result.val_loss[-1][1]:.4f}" if result.val_loss else ""
    print(f"checkpoint: {result.checkpoint}{last_val}")
    print(f"log: {result.log}; weights: ESS fraction {result.weight_stats['ess_fraction']:.3f}, "
          f"clipped {result.weight_stats['clipped_fraction']:.3f}")
    return 0


COMMANDS = {"awr": awr}
