"""Processors of `chunk_mlp`: LeRobot's default pipeline (batching, device, normalisation), as ACT uses."""

from lerobot.processor import make_default_pre_post_processors

from srpo.policies.chunk_mlp.configuration_chunk_mlp import ChunkMLPConfig


def make_chunk_mlp_pre_post_processors(config: ChunkMLPConfig, dataset_stats=None):
    return make_default_pre_post_processors(config, dataset_stats, normalizer_device=config.device)
