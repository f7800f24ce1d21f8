"""Tiny random policies for tests and CPU benchmarks: ACT options, π0 / π0-FAST bases and small local tokenizers.

LeRobot 0.6 fixes the π-family sizes in code: `get_gemma_config` knows only gemma_300m / gemma_2b and the
SigLIP tower is PaliGemma's default so400m. `tiny_pi_sizes()` swaps those two size tables for small ones
while it is active (building or loading a tiny checkpoint); everything else, including the whole training
path, is LeRobot's and ours unchanged. A tiny base is saved like `lerobot/pi0_base` (config.json,
model.safetensors, processor files) and trained with `--pretrained DIR`, exactly as a hub base would be.
Loading a tiny checkpoint elsewhere needs the same context (its config names the real variants).
"""

import contextlib
from pathlib import Path

# a LeRobot ACT small enough for a CPU update in milliseconds (no pretrained backbone: nothing to download)
TINY_ACT = {"chunk_size": 4, "n_action_steps": 4, "dim_model": 32, "dim_feedforward": 64, "n_heads": 2,
            "n_encoder_layers": 1, "n_decoder_layers": 1, "latent_dim": 8, "pretrained_backbone_weights": None,
            "vision_backbone": "resnet18"}
TEXT_VOCAB = 257152  # PaliGemma's vocabulary size, which LeRobot hard-codes in the model: every id decodes
TEXT_MERGES = 512  # learnt BPE entries; the rest are reserved <unused*> ids as in PaliGemma
FAST_VOCAB = 256  # FAST action BPE vocabulary (the real one has 2048)
HUB_TEXT_TOKENIZER = "google/paligemma-3b-pt-224"  # the id LeRobot's π0 processor factory hard-codes
# tiny backbone sizes: LeRobot's attention reshape assumes 8 heads
TINY_VLM = dict(width=32, depth=1, mlp_dim=64, num_heads=8, num_kv_heads=1, head_dim=8)
TINY_EXPERT = dict(width=16, depth=1, mlp_dim=32, num_heads=8, num_kv_heads=1, head_dim=8)
TINY_VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
VISION_GRID = 4  # image patches per side: patch_size = image_size // 4 (16 image tokens)


def _corpus() -> list[str]:
    words = "pick place put the a cube plate apple pear towel wipe board into on Task State Action".split()
    lines = [" ".join(words[i:] + words[:i]) for i in range(len(words))]
    lines += [" ".join(str(n) for n in range(k, 256, 7)) + ";\n" for k in range(7)]
    return lines + ["Task: pick the cube, State: 1 2 3;\nAction: |"] * 4


def build_text_tokenizer(out_dir: str | Path, vocab_size: int = TEXT_VOCAB) -> Path:
    """A byte-level BPE tokenizer with PaliGemma's special tokens, saved for AutoTokenizer.

    Like PaliGemma's, its top ids are reserved `<unused*>` tokens: π0-FAST maps action tokens onto the top
    of the text vocabulary (id = vocab_size - 1 - 128 - t).
    """
    import json

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    trainer = trainers.BpeTrainer(vocab_size=TEXT_MERGES, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_corpus(), trainer)
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    for i in range(vocab_size - len(vocab)):
        vocab[f"<unused{i}>"] = len(vocab)
    tok = Tokenizer.from_str(json.dumps(spec))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>",
                                   pad_token="<pad>", unk_token="<unk>")
    out_dir = Path(out_dir)
    fast.save_pretrained(out_dir)
    return out_dir


@contextlib.contextmanager
def tiny_pi_sizes():
    """Within this context, LeRobot builds π0 / π0-FAST with tiny Gemma and SigLIP sizes."""
    from lerobot.policies.pi0 import modeling_pi0
    from lerobot.policies.pi0_fast import modeling_pi0_fast

    saved = []
    for module in (modeling_pi0, modeling_pi0_fast):
        base = module.PaliGemmaForConditionalGenerationWithPiGemma

        class TinyVision(base):
            def __init__(self, config):
                for key, value in TINY_VISION.items():
                    setattr(config.vision_config, key, value)
                config.vision_config.patch_size = config.vision_config.image_size // VISION_GRID
                config.vision_config.projection_dim = config.text_config.hidden_size
                super().__init__(config)

        def tiny_gemma(variant, _module=module):
            return _module.GemmaConfig(**(TINY_VLM if variant == "gemma_2b" else TINY_EXPERT))

        saved.append((module, module.get_gemma_config, base))
        module.get_gemma_config = tiny_gemma
        module.PaliGemmaForConditionalGenerationWithPiGemma = TinyVision
    try:
        yield
    finally:
        for module, gemma, base in saved:
            module.get_gemma_config = gemma
            module.PaliGemmaForConditionalGenerationWithPiGemma = base


@contextlib.contextmanager
def _hub_tokenizer_as(local_dir: Path):
    """LeRobot's π0 processor factory loads the PaliGemma tokenizer by hub id; resolve that id locally."""
    from lerobot.processor import tokenizer_processor

    auto = tokenizer_processor.AutoTokenizer
    original = auto.from_pretrained

    def from_pretrained(name, *args, **kwargs):
        return original(str(local_dir) if name == HUB_TEXT_TOKENIZER else name, *args, **kwargs)

    auto.from_pretrained = from_pretrained
    try:
        yield
    finally:
        auto.from_pretrained = original


def build_tiny_base(kind: str, store, out_dir: str | Path, chunk_size: int = 4) -> Path:
    """Save a tiny random π0 ("pi0") or π0-FAST ("pi0_fast") base checkpoint for `store`'s features, with
    local tokenizers under out_dir/tokenizers; returns the checkpoint dir (use it as --pretrained)."""
    import numpy as np
    import torch

    from srpo.policy_loading import make_processors
    from srpo_offline.awr.data import compute_stats
    from srpo_offline.awr.policy import make_config, make_policy_for_store

    out_dir = Path(out_dir)
    text_dir = build_text_tokenizer(out_dir / "tokenizers" / "text")
    # LeRobot's π0-FAST keeps SigLIP at 224 px whatever image_resolution says, so its images stay 224
    size = 32 if kind == "pi0" else 224
    options = dict(chunk_size=chunk_size, n_action_steps=chunk_size, image_resolution=(size, size),
                   max_state_dim=16, max_action_dim=8)
    if kind == "pi0":
        options.update(tokenizer_max_length=16, num_inference_steps=2)
    else:
        from srpo_offline.awr.fast_tokenizer import build_fast_tokenizer

        fast_dir = build_fast_tokenizer(out_dir / "tokenizers" / "fast", vocab_size=FAST_VOCAB)
        # a random model emits no "Action: " prefix; LeRobot's check for it would stop select_action
        options.update(tokenizer_max_length=48, max_action_tokens=48, max_decoding_steps=16,
                       validate_action_token_prefix=False,
                       text_tokenizer_name=str(text_dir), action_tokenizer_name=str(fast_dir))
    torch.manual_seed(0)
    with tiny_pi_sizes(), _hub_tokenizer_as(text_dir):
        cfg = make_config(kind, None, options, "cpu")
        stats = compute_stats(store, np.arange(store.num_steps))
        policy = make_policy_for_store(cfg, store, stats)
        pre, post = make_processors(policy.config, stats)
    for step in pre.steps:
        if getattr(step, "tokenizer_name", None) == HUB_TEXT_TOKENIZER:
            step.tokenizer_name = str(text_dir)  # the saved base loads the local tokenizer by path
    model_dir = out_dir / "model"
    policy.save_pretrained(model_dir)
    pre.save_pretrained(model_dir)
    post.save_pretrained(model_dir)
    return model_dir
