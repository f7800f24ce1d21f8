"""OpenVLA* against the authors' released code: published checkpoint layout, decoding, image preprocessing and
the input sequence. Expected numbers come from the reference formulas written out here, not from our functions.

References: moojink/openvla-oft prismatic/extern/hf/{modeling,configuration}_prismatic.py,
experiments/robot/openvla_utils.py; sii-research/siiRL siirl/engine/rollout/embodied_rollout.py.
"""

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from srpo.errors import UserFacingError
from srpo_online_sim.openvla.loading import load_policy, tiny_tokenizer

# ---------------------------------------------------------------- a published-format checkpoint, tiny
# Architectures registered with timm under their own names, so config.json can name them in `timm_model_ids`
# exactly as the published checkpoints name vit_large_patch14_reg4_dinov2 / vit_so400m_patch14_siglip_224
# (same flags: DINOv2 with 4 registers, no pos-embed for the class token, LayerScale; SigLIP without a class
# token and with the attention-pool head), only smaller.
DINO = {"patch_size": 8, "embed_dim": 32, "depth": 3, "num_heads": 2, "init_values": 1e-5, "reg_tokens": 4,
        "no_embed_class": True}
SIGLIP = {"patch_size": 8, "embed_dim": 48, "depth": 2, "num_heads": 2, "class_token": False, "global_pool": "map"}
IMAGE = 32
LLM = {"hidden": 64, "inter": 128, "layers": 2, "heads": 4, "vocab": 512 + 64}


def _register():
    from timm.models import register_model
    from timm.models.vision_transformer import VisionTransformer

    def entry(arch):
        def build(pretrained=False, pretrained_cfg=None, pretrained_cfg_overlay=None, cache_dir=None, **kwargs):
            return VisionTransformer(**{**arch, **kwargs})
        return build

    for name, arch in (("srpo_fixture_dinov2_reg4", DINO), ("srpo_fixture_siglip", SIGLIP)):
        fn = entry(arch)
        fn.__name__ = name
        try:
            register_model(fn)
        except Exception:  # noqa: BLE001 - already registered by an earlier import
            pass


_register()


def _vit_tensors(prefix: str, arch: dict, rng) -> dict[str, np.ndarray]:
    """timm VisionTransformer state-dict names and shapes, with HF's `lsN.scale_factor` for LayerScale."""
    d, p, n = arch["embed_dim"], arch["patch_size"], (IMAGE // arch["patch_size"]) ** 2
    t = {"pos_embed": (1, n, d), "patch_embed.proj.weight": (d, 3, p, p), "patch_embed.proj.bias": (d,),
         "norm.weight": (d,), "norm.bias": (d,)}
    if arch.get("class_token", True):
        t["cls_token"] = (1, 1, d)
    if arch.get("reg_tokens"):
        t["reg_token"] = (1, arch["reg_tokens"], d)
    for i in range(arch["depth"]):
        b = f"blocks.{i}."
        t.update({b + "norm1.weight": (d,), b + "norm1.bias": (d,), b + "attn.qkv.weight": (3 * d, d),
                  b + "attn.qkv.bias": (3 * d,), b + "attn.proj.weight": (d, d), b + "attn.proj.bias": (d,),
                  b + "norm2.weight": (d,), b + "norm2.bias": (d,), b + "mlp.fc1.weight": (4 * d, d),
                  b + "mlp.fc1.bias": (4 * d,), b + "mlp.fc2.weight": (d, 4 * d), b + "mlp.fc2.bias": (d,)})
        if arch.get("init_values"):
            t.update({b + "ls1.scale_factor": (d,), b + "ls2.scale_factor": (d,)})
    if arch.get("global_pool") == "map":
        a = "attn_pool."
        t.update({a + "latent": (1, 1, d), a + "q.weight": (d, d), a + "q.bias": (d,), a + "kv.weight": (2 * d, d),
                  a + "kv.bias": (2 * d,), a + "proj.weight": (d, d), a + "proj.bias": (d,), a + "norm.weight": (d,),
                  a + "norm.bias": (d,), a + "mlp.fc1.weight": (4 * d, d), a + "mlp.fc1.bias": (4 * d,),
                  a + "mlp.fc2.weight": (d, 4 * d), a + "mlp.fc2.bias": (d,)})
    return {prefix + k: rng.normal(0, 0.05, s).astype(np.float32) for k, s in t.items()}


def published_state(rng) -> dict[str, np.ndarray]:
    """The HF OpenVLA(-OFT) module tree: vision_backbone.{featurizer,fused_featurizer}, projector.fc1..3
    (fused GELU MLP: vision -> 4 vision -> llm -> llm), language_model (LlamaForCausalLM)."""
    h, v = LLM["hidden"], DINO["embed_dim"] + SIGLIP["embed_dim"]
    state = {**_vit_tensors("vision_backbone.featurizer.", DINO, rng),
             **_vit_tensors("vision_backbone.fused_featurizer.", SIGLIP, rng)}
    proj = {"fc1.weight": (4 * v, v), "fc1.bias": (4 * v,), "fc2.weight": (h, 4 * v), "fc2.bias": (h,),
            "fc3.weight": (h, h), "fc3.bias": (h,)}
    llm = {"model.embed_tokens.weight": (LLM["vocab"], h), "model.norm.weight": (h,), "lm_head.weight": (LLM["vocab"], h)}
    for i in range(LLM["layers"]):
        b = f"model.layers.{i}."
        llm.update({b + f"self_attn.{x}_proj.weight": (h, h) for x in "qkvo"})
        llm.update({b + "mlp.gate_proj.weight": (LLM["inter"], h), b + "mlp.up_proj.weight": (LLM["inter"], h),
                    b + "mlp.down_proj.weight": (h, LLM["inter"]), b + "input_layernorm.weight": (h,),
                    b + "post_attention_layernorm.weight": (h,)})
    state.update({"projector." + k: rng.normal(0, 0.05, s).astype(np.float32) for k, s in proj.items()})
    state.update({"language_model." + k: rng.normal(0, 0.05, s).astype(np.float32) for k, s in llm.items()})
    return state


def action_stats(shift: float) -> dict:
    return {"action": {"q01": [-0.7 + shift] * 6 + [0.0], "q99": [0.9 + shift] * 6 + [1.0],
                       "mask": [True] * 6 + [False]}}


def write_published(folder, state: dict[str, np.ndarray]) -> None:
    """config.json (OpenVLAConfig fields), two safetensors shards + index, tokenizer, dataset_statistics.json."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    keys = sorted(state)
    shards = {"model-00001-of-00002.safetensors": keys[::2], "model-00002-of-00002.safetensors": keys[1::2]}
    for name, ks in shards.items():
        save_file({k: state[k] for k in ks}, str(folder / name))
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": {k: n for n, ks in shards.items() for k in ks}}))
    config = {
        "architectures": ["OpenVLAForActionPrediction"], "model_type": "openvla",
        "auto_map": {"AutoConfig": "configuration_prismatic.OpenVLAConfig",  # the published remote code
                     "AutoModelForVision2Seq": "modeling_prismatic.OpenVLAForActionPrediction"},
        "vision_backbone_id": "dinosiglip-vit-so-224px", "llm_backbone_id": "llama2-7b-pure",
        "arch_specifier": "no-align+fused-gelu-mlp", "use_fused_vision_backbone": True,
        "timm_model_ids": ["srpo_fixture_dinov2_reg4", "srpo_fixture_siglip"],
        "timm_override_act_layers": [None, None], "image_sizes": [IMAGE, IMAGE],
        "image_resize_strategy": "resize-naive", "llm_max_length": 2048, "pad_token_id": 3,
        "pad_to_multiple_of": 64, "n_action_bins": 256, "output_projector_states": False,
        "text_config": {"model_type": "llama", "vocab_size": LLM["vocab"], "hidden_size": LLM["hidden"],
                        "intermediate_size": LLM["inter"], "num_hidden_layers": LLM["layers"],
                        "num_attention_heads": LLM["heads"], "pad_token_id": 3, "torch_dtype": "bfloat16"},
        # stale statistics in config.json: dataset_statistics.json must win
        "norm_stats": {"libero_spatial_no_noops": action_stats(5.0), "libero_goal_no_noops": action_stats(6.0)},
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "dataset_statistics.json").write_text(json.dumps(
        {"libero_spatial_no_noops": action_stats(0.0), "libero_goal_no_noops": action_stats(0.05)}))
    tiny_tokenizer().save_pretrained(str(folder))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    state = published_state(np.random.default_rng(0))
    folder = tmp_path_factory.mktemp("published") / "OpenVLA-AC-PD-tiny"
    write_published(folder, state)
    return folder, state


def test_published_layout_loads_with_every_tensor_mapped(published):
    folder, state = published
    policy = load_policy(str(folder), unnorm_key="libero_spatial")
    report = policy.load_report
    assert report.layout == "published" and report.tensors == len(state) and report.ignored == ()
    assert report.renamed == 2 * DINO["depth"]  # ls1 + ls2 per DINOv2 block
    assert "renamed 6 lsN.scale_factor -> lsN.gamma" in str(report)
    loaded = policy.model.state_dict()
    for key, value in state.items():
        ours = key.replace(".ls1.scale_factor", ".ls1.gamma").replace(".ls2.scale_factor", ".ls2.gamma")
        np.testing.assert_array_equal(loaded[ours].numpy(), value)
    # the action vocabulary is text vocab - pad_to_multiple_of; dataset_statistics.json wins over config.json,
    # and "libero_spatial" falls back to "libero_spatial_no_noops"
    assert policy.model.config.vocab_size == 512 and report.unnorm_key == "libero_spatial_no_noops"
    assert report.stats_source == "dataset_statistics.json"
    np.testing.assert_allclose(policy.stats.q01, [-0.7] * 6 + [0.0])
    np.testing.assert_allclose(policy.stats.q99, [0.9] * 6 + [1.0])
    goal = load_policy(str(folder), unnorm_key="libero_goal_no_noops")
    np.testing.assert_allclose(goal.stats.q01[:6], -0.65)
    rng = np.random.default_rng(1)
    inputs = policy.prepare([rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)], ["open the top drawer"])
    out = policy.act(inputs, temperature=0)
    assert out.actions.shape == (1, 8, 7) and np.isfinite(out.actions).all()


def test_published_checkpoint_loads_without_the_remote_code_prompt(published, monkeypatch):
    """config.json's auto_map names the checkpoint's remote code; transformers asks "Do you wish to run the custom
    code? [y/N]" (and waits 15 s in a terminal) unless told not to run it. The loader must never ask."""
    import builtins

    import transformers.dynamic_module_utils as dynamic

    folder, _ = published
    asked = []
    monkeypatch.setattr(dynamic, "TIME_OUT_REMOTE_CODE", 15)  # a terminal's default (CI may set 0)
    monkeypatch.setattr(builtins, "input", lambda prompt="": asked.append(prompt) or "n")
    policy = load_policy(str(folder), unnorm_key="libero_spatial")
    assert asked == [] and policy.load_report.layout == "published"


def test_published_layout_mismatch_and_missing_statistics_say_what_to_do(published, tmp_path):
    folder, state = published
    broken = dict(state)
    broken.pop("language_model.model.norm.weight")
    write_published(tmp_path / "broken", broken)
    with pytest.raises(UserFacingError, match="1 missing"):
        load_policy(str(tmp_path / "broken"), unnorm_key="libero_spatial")
    with pytest.raises(UserFacingError, match="libero_object"):
        load_policy(str(folder), unnorm_key="libero_object")
    with pytest.raises(UserFacingError, match="pass --unnorm-key"):
        load_policy(str(folder))


# ---------------------------------------------------------------- decoding
def test_decoding_uses_bin_midpoints_and_the_reference_index():
    from srpo_online_sim.openvla.action_tokenizer import ActionTokenizer
    from srpo_online_sim.openvla.loading import tiny_policy

    edges = np.linspace(-1, 1, 256)
    centres = (edges[:-1] + edges[1:]) / 2  # OFT: bin_centers
    vocab = 32000
    ids = np.array([31999, 31998, 31872, 31745, 31744, 32010, 31000])
    index = np.clip(vocab - ids - 1, 0, 254)  # OFT/siiRL: clip(vocab_size - id - 1, 0, 254)
    assert index.tolist() == [0, 1, 127, 254, 254, 0, 254]
    np.testing.assert_allclose(ActionTokenizer(vocab).decode(ids), centres[index])
    np.testing.assert_allclose(centres[[0, 127, 254]], [-1 + 1 / 255, 0.0, 1 - 1 / 255], atol=1e-15)
    # through the policy (tiny vocabulary 512: slice index s is id 256 + s) and q01/q99 un-normalisation
    policy = tiny_policy()
    slice_tokens = torch.tensor([[0, 1, 128, 255, 254, 3, 200] * 8])
    got = policy.detokenize(slice_tokens)[0, 0]
    idx = np.clip(512 - (256 + np.array([0, 1, 128, 255, 254, 3, 200])) - 1, 0, 254)
    a = centres[idx]
    q01, q99 = policy.stats.q01, policy.stats.q99
    expected = np.where(policy.stats.mask, 0.5 * (a + 1) * (q99 - q01 + 1e-8) + q01, a)  # OFT keeps the 1e-8
    np.testing.assert_allclose(got, expected)


# ---------------------------------------------------------------- image preprocessing
def _tf_crop_and_resize_pixel(img: np.ndarray, i: int, j: int, area: float = 0.9) -> np.ndarray:
    """tf.image.crop_and_resize (bilinear) at output pixel (i, j) for OFT's centred box of side sqrt(area)."""
    h, w = img.shape[:2]
    side = np.sqrt(area)
    y1 = x1 = (1 - side) / 2
    y2 = x2 = y1 + side
    in_y = y1 * (h - 1) + i * (y2 - y1) * (h - 1) / (h - 1)
    in_x = x1 * (w - 1) + j * (x2 - x1) * (w - 1) / (w - 1)
    top, bottom, left, right = int(np.floor(in_y)), int(np.ceil(in_y)), int(np.floor(in_x)), int(np.ceil(in_x))
    ly, lx = in_y - top, in_x - left
    t = img[top, left] + (img[top, right] - img[top, left]) * lx
    b = img[bottom, left] + (img[bottom, right] - img[bottom, left]) * lx
    return t + (b - t) * ly


def _tf_lanczos3_resize(img: np.ndarray, out: int) -> np.ndarray:
    """tf.image.resize(method="lanczos3", antialias=True) of a uint8 HxWxC image to out x out (float), written out
    from TF's scale_and_translate_op.cc (ComputeSpansCore) and sampling_kernels.h (LanczosKernelFunc), one output
    sample at a time: scale = out/in, sample position (x + 0.5) / scale, the kernel stretched by 1/scale when
    shrinking, span [ceil(s - r - 0.5), floor(s + r - 0.5)] clamped to the image, weights normalised to sum 1."""

    def kernel(x):
        x = abs(x)
        if x > 3:
            return 0.0
        if x <= 1e-3:
            return 1.0
        return 3 * np.sin(np.pi * x) * np.sin(np.pi * x / 3) / (np.pi * np.pi * x * x)

    def resample(lines: np.ndarray) -> np.ndarray:  # along axis 0
        n = lines.shape[0]
        scale = out / n
        stretch = max(1 / scale, 1.0)
        result = np.zeros((out, *lines.shape[1:]))
        for x in range(out):
            s = (x + 0.5) / scale
            first = min(max(int(np.ceil(s - 3 * stretch - 0.5)), 0), n - 1)
            last = min(max(int(np.floor(s + 3 * stretch - 0.5)), 0), n - 1)
            w = np.array([kernel((k + 0.5 - s) / stretch) for k in range(first, last + 1)])
            result[x] = np.tensordot(w / w.sum(), lines[first : last + 1], axes=1)
        return result

    return resample(resample(img.astype(np.float64)).swapaxes(0, 1)).swapaxes(0, 1)


def _scene(size: int = 256) -> np.ndarray:
    """A frame with what LIBERO frames have: smooth shading, hard object edges, fine texture."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.stack([200 * yy + 30, 120 + 80 * np.sin(6 * xx), 60 + 100 * xx * yy], -1)
    img[60:140, 90:170] = [180, 40, 40]  # a red box
    img[170:230, 20:120] = [30, 30, 160] + rng.normal(0, 25, (60, 100, 3))  # a textured blue mat
    return np.clip(img, 0, 255).astype(np.uint8)


def test_lanczos3_resize_matches_tensorflows_kernel():
    from srpo_online_sim.openvla.images import resize_lanczos3

    for frame in (_scene(), np.random.default_rng(3).integers(0, 256, (256, 256, 3), dtype=np.uint8)):
        reference = np.clip(np.round(_tf_lanczos3_resize(frame, 224)), 0, 255)  # OFT rounds and clips
        ours = resize_lanczos3(frame, 224).astype(np.float64)
        diff = np.abs(ours - reference)
        assert diff.mean() < 0.01 and diff.max() <= 1  # float32 vs float64 rounding only
        pil = np.asarray(Image.fromarray(frame).resize((224, 224), Image.Resampling.LANCZOS), dtype=np.float64)
        assert np.abs(pil - reference).mean() > diff.mean()  # PIL's LANCZOS (uint8 between passes) is further off
    # same size: the identity (the kernel is 1 at 0 and 0 at the other integers)
    frame = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.abs(resize_lanczos3(frame, 64).astype(int) - frame).max() <= 1


def test_jpeg_round_trip_uses_tf_encode_jpegs_defaults():
    """tf.image.encode_jpeg defaults: quality 95 (libjpeg's jpeg_set_quality: tables scaled by 200 - 2 q percent,
    rounded, at least 1) and chroma_downsampling=True (4:2:0)."""
    from PIL import JpegImagePlugin

    from srpo_online_sim.openvla.images import encode_jpeg, jpeg_round_trip

    frame = _scene()
    jpeg = Image.open(io.BytesIO(encode_jpeg(frame)))
    luminance = [16, 11, 10, 16, 24, 40, 51, 61]  # the first row of the JPEG standard's tables (Annex K)
    chrominance = [17, 18, 24, 47, 99, 99, 99, 99]
    scale = 200 - 2 * 95
    assert jpeg.quantization[0][:8] == [max(1, (q * scale + 50) // 100) for q in luminance]
    assert jpeg.quantization[1][:8] == [max(1, (q * scale + 50) // 100) for q in chrominance]
    assert JpegImagePlugin.get_sampling(jpeg) == 2  # 4:2:0
    decoded = jpeg_round_trip(frame)
    error = np.abs(decoded.astype(int) - frame).mean()
    assert decoded.shape == frame.shape and 0.3 < error < 5  # lossy, but quality 95


def test_image_preprocessing_is_jpeg_then_lanczos3_then_centre_crop_of_090_area():
    from srpo_online_sim.openvla.images import jpeg_round_trip
    from srpo_online_sim.openvla.loading import tiny_policy

    policy = tiny_policy()
    size = policy.model.config.image_size
    frame = _scene()
    pixel = policy.prepare([frame], ["open the top drawer"])["pixel_values"][0]
    resized = np.clip(np.round(_tf_lanczos3_resize(jpeg_round_trip(frame), size)), 0, 255) / 255.0
    for i, j in [(0, 0), (0, size - 1), (size // 2, size // 2 - 3), (size - 1, size - 1), (7, 20)]:
        v = np.clip(_tf_crop_and_resize_pixel(resized, i, j), 0, 1)
        seen = np.floor(v * 255.5) / 255.0  # tf.image.convert_image_dtype(float -> uint8), then /255
        dino = (seen - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
        siglip = (seen - 0.5) / 0.5
        np.testing.assert_allclose(pixel[:, i, j].numpy(), np.r_[dino, siglip], atol=1.5 / 255 / 0.224)
    # the crop really zooms: the corner pixel is not the resized image's corner
    assert np.abs(pixel[3:, 0, 0].numpy() - (resized[0, 0] - 0.5) / 0.5).max() > 1e-3


# ---------------------------------------------------------------- the input sequence
def test_input_sequence_prompt_empty_token_placeholders_stop_and_bidirectional_attention():
    from srpo_online_sim.openvla.loading import tiny_policy

    policy = tiny_policy()
    tok = policy.tokenizer
    policy.append_token_id = tok.convert_tokens_to_ids("<extra_0>")  # stands in for Llama's 29871 here
    prompt = "In: What action should the robot take to open the top drawer?\nOut:"
    ids = tok(prompt).input_ids + [policy.append_token_id]
    assert ids[0] == tok.bos_token_id
    seen = {}

    def capture(module, args, kwargs):
        seen.update(kwargs)

    hook = policy.model.language_model.register_forward_pre_hook(capture, with_kwargs=True)
    try:
        image = np.random.default_rng(4).integers(0, 256, (256, 256, 3), dtype=np.uint8)
        inputs = policy.prepare([image], ["Open the top drawer"])
        logits = policy.logits(inputs)
    finally:
        hook.remove()
    assert inputs["input_ids"][0].tolist() == ids
    emb = policy.model.language_model.get_input_embeddings().weight.detach()
    x = seen["inputs_embeds"][0].detach()
    n_patches = (32 // 8) ** 2  # the fused backbones concatenate features per patch
    L = len(ids)
    assert x.shape[0] == 1 + n_patches + (L - 1) + 56 + 1
    torch.testing.assert_close(x[0], emb[ids[0]])  # BOS, then the image patches
    torch.testing.assert_close(x[1 + n_patches : n_patches + L], emb[ids[1:]])  # prompt + empty token
    assert torch.count_nonzero(x[n_patches + L : n_patches + L + 56]) == 0  # 56 zero placeholders
    torch.testing.assert_close(x[-1], emb[tok.eos_token_id])  # </s> (OFT's STOP_INDEX 2)
    assert tok.eos_token_id == 2
    # attention: no position is hidden from any other (one row, no padding) -> bidirectional
    assert torch.count_nonzero(seen["attention_mask"]) == 0
    assert seen["position_ids"][0].tolist() == list(range(x.shape[0]))
    # the action logits sit at NUM_PATCHES + NUM_PROMPT_TOKENS + j (OFT; NUM_PROMPT_TOKENS = L - 1)
    full = policy.model.language_model(inputs_embeds=seen["inputs_embeds"], attention_mask=seen["attention_mask"],
                                       position_ids=seen["position_ids"]).logits
    start = n_patches + L - 1
    torch.testing.assert_close(logits[0], full[0, start : start + 56, 256:512].float())
    # bidirectional in fact: changing the LAST (stop) embedding changes the first action's logits
    changed = seen["inputs_embeds"].clone()
    changed[0, -1] += 1.0
    moved = policy.model.language_model(inputs_embeds=changed, attention_mask=seen["attention_mask"],
                                        position_ids=seen["position_ids"]).logits
    assert (moved[0, start] - full[0, start]).abs().max() > 1e-4
