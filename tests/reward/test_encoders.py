"""Encoders: tiny random models of the real transformers classes, loaded through from_pretrained."""

import numpy as np
import pytest

from srpo.errors import UserFacingError
from srpo_offline.encoders import DEFAULT_MODELS, build_encoder, sample_frame_indices
from tests.reward.synthetic import moving_video


def test_frame_sampling_linspace_and_loop_padding():
    np.testing.assert_array_equal(sample_frame_indices(10, 4), [0, 3, 6, 9])
    np.testing.assert_array_equal(sample_frame_indices(3, 7), [0, 1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(sample_frame_indices(1, 3), [0, 0, 0])
    with pytest.raises(UserFacingError):
        sample_frame_indices(0, 4)


def test_vjepa2_tiny_model_batched_and_deterministic(tiny_vjepa2):
    enc = build_encoder("vjepa2", model=tiny_vjepa2, batch_size=2)
    assert enc.name == "vjepa2" and enc.model_id == tiny_vjepa2 and enc.num_frames == 8
    videos = [moving_video(t, 0.0, 1.0, size=40) for t in (3, 8, 20)]  # short (looped), exact, long
    e = enc.encode(videos)
    assert e.shape == (3, 32) and e.dtype == np.float32 and np.isfinite(e).all()
    one = build_encoder("vjepa2", model=tiny_vjepa2, batch_size=1).encode(videos[2:])
    np.testing.assert_allclose(one[0], e[2], rtol=1e-4, atol=1e-5)  # batching does not change results
    # a looped 1-frame video equals the static 8-frame video of that frame
    still = np.repeat(videos[0][:1], 8, axis=0)
    np.testing.assert_allclose(enc.encode([videos[0][:1]]), enc.encode([still]), atol=1e-6)
    assert not np.allclose(e[0], e[2])


def test_vjepa2_missing_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserFacingError, match="hf download facebook/vjepa2-vitl-fpc64-256"):
        build_encoder("vjepa2")
    with pytest.raises(UserFacingError, match="--model"):
        build_encoder("vjepa2", model=str(tmp_path / "nowhere"))


def test_image_encoder_tiny_clip_pools_frames(tiny_clip):
    enc = build_encoder("image", model=tiny_clip, num_frames=4)
    videos = [moving_video(12, 0.0, 1.0), moving_video(2, 0.5, 0.5)]
    e = enc.encode(videos)
    assert e.shape == (2, 12) and np.isfinite(e).all()  # CLIP projection_dim
    # frame features averaged over the 4 sampled frames
    frames = videos[0][sample_frame_indices(12, 4)]
    import torch

    with torch.inference_mode():
        per_frame = enc.frame_features(frames).numpy()
    np.testing.assert_allclose(e[0], per_frame.mean(0), rtol=1e-4, atol=1e-6)
    assert DEFAULT_MODELS["image"].startswith("laion/CLIP-ViT-H-14")


def test_pixel_encoder_last_frame():
    enc = build_encoder("pixel", size=8)
    v = np.zeros((5, 16, 16, 3), np.uint8)
    v[-1] = 255
    e = enc.encode([v, v[:2]])
    np.testing.assert_allclose(e[0], 1.0)
    np.testing.assert_allclose(e[1], 0.0)
    assert e.shape == (2, 192) and enc.model_id == "pixel-last-frame-8"


def test_bad_videos_and_names():
    enc = build_encoder("pixel")
    with pytest.raises(UserFacingError, match="LIST"):
        enc.encode(np.zeros((4, 8, 8, 3), np.uint8))
    with pytest.raises(UserFacingError, match="uint8"):
        enc.encode([np.zeros((4, 8, 8, 3), np.float32)])
    with pytest.raises(UserFacingError, match="unknown encoder"):
        build_encoder("imagebind")


def test_image_encoder_plain_backbone_uses_pooled_output(tmp_path):
    import torch
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    Dinov2Model(Dinov2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                             image_size=32, patch_size=8)).save_pretrained(tmp_path)
    BitImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    enc = build_encoder("image", model=str(tmp_path), num_frames=2)
    e = enc.encode([moving_video(6, 0.0, 0.3), moving_video(6, 0.7, 1.0)])
    assert e.shape == (2, 16) and np.isfinite(e).all() and not np.allclose(e[0], e[1])


def test_one_chooser_picks_encoder_and_camera_for_every_caller(tiny_vjepa2, monkeypatch):
    from srpo_offline import encoders

    assert encoders.choose_encoder("pixel") == ("pixel", "wrist", "chosen with --encoder pixel")
    assert encoders.choose_encoder("vjepa2", camera="camera1").camera == "camera1"  # an explicit camera passes
    assert encoders.choose_encoder("auto", model=tiny_vjepa2)[:2] == ("vjepa2", "front")  # weights present
    monkeypatch.setattr(encoders, "vjepa2_available", lambda model=None: False)
    name, camera, why = encoders.choose_encoder("auto")
    assert (name, camera) == (encoders.FALLBACK, encoders.ENCODERS[name].camera) and "not on this machine" in why
    assert encoders.choose_encoder("learned")[1] == "front"
    assert [encoders.store_camera(c) for c in ("front", "wrist", "camera3")] == ["camera0", "camera1", "camera3"]
    with pytest.raises(UserFacingError, match="unknown encoder 'nope'"):
        encoders.choose_encoder("nope")
