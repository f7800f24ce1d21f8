"""Tiny random models of the real transformers classes, saved once per session and loaded via from_pretrained."""

import pytest


def tiny_vjepa2_config(frames: int = 8, crop: int = 32):
    from transformers import VJEPA2Config

    return VJEPA2Config(crop_size=crop, frames_per_clip=frames, tubelet_size=2, patch_size=8, hidden_size=32,
                        num_attention_heads=2, num_hidden_layers=2, mlp_ratio=2.0, pred_hidden_size=32,
                        pred_num_attention_heads=2, pred_num_hidden_layers=1, num_pooler_layers=1)


@pytest.fixture(scope="session")
def tiny_vjepa2(tmp_path_factory) -> str:
    """Directory of a random VJEPA2Model + VJEPA2VideoProcessor (32 px, 8 frames)."""
    import torch
    from transformers import VJEPA2Model, VJEPA2VideoProcessor

    path = tmp_path_factory.mktemp("tiny_vjepa2")
    torch.manual_seed(0)
    VJEPA2Model(tiny_vjepa2_config()).save_pretrained(path)
    VJEPA2VideoProcessor(crop_size=32).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> str:
    """Directory of a random CLIPModel + CLIPImageProcessor (32 px)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    path = tmp_path_factory.mktemp("tiny_clip")
    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                         vocab_size=64, max_position_embeddings=16),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=12,
    )
    CLIPModel(cfg).save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)
    return str(path)
