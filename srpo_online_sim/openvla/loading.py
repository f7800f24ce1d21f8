"""Build OpenVLA* from a published checkpoint, from this project's checkpoints, or tiny and random for tests.

Published checkpoints (Sylvest/OpenVLA-AC-PD-1traj-libero-*) are HF-format OpenVLA folders: config.json
(timm_model_ids, image_sizes, text_config, norm_stats), safetensors shards, a Llama tokenizer and
dataset_statistics.json. Only their weights and statistics are read; their Python (remote code) is not run.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from srpo.errors import UserFacingError
from srpo_online_sim.openvla.action_tokenizer import ActionStats
from srpo_online_sim.openvla.model import OpenVLAStar, OpenVLAStarConfig, VisionSpec
from srpo_online_sim.openvla.policy import OpenVLAStarPolicy

SUITE_CHECKPOINTS = {
    "spatial": "Sylvest/OpenVLA-AC-PD-1traj-libero-spatial",
    "object": "Sylvest/OpenVLA-AC-PD-1traj-libero-object",
    "goal": "Sylvest/OpenVLA-AC-PD-1traj-libero-goal",
    "10": "Sylvest/OpenVLA-AC-PD-1traj-libero-long",
}
OWN_CONFIG = "srpo_openvla_star.json"  # written by save_policy
LLAMA_EMPTY_TOKEN = 29871  # OpenVLA appends it after "Out:" for Llama 2 tokenizers


def resolve_checkpoint(policy: str) -> Path:
    """A local folder as is; a hub id through the local hub cache (downloaded when the hub is reachable)."""
    path = Path(policy).expanduser()
    if path.is_dir():
        return path
    if path.exists() or policy.count("/") != 1:
        raise UserFacingError(f"policy {policy!r} is neither a checkpoint folder nor a hub id like owner/name")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(policy, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"]))
    except Exception as err:  # noqa: BLE001 - offline, gated or missing: one message that says what to do
        raise UserFacingError(
            f"cannot fetch {policy} from the hub ({type(err).__name__}); download it where the hub is reachable "
            f"(hf download {policy} --local-dir DIR) and pass --policy DIR"
        ) from err


def _load_state(model: torch.nn.Module, folder: Path) -> None:
    from safetensors.torch import load_file

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise UserFacingError(f"no *.safetensors weights in {folder}")
    state = {}
    for f in files:
        state.update(load_file(str(f)))
    missing, unexpected = model.load_state_dict(state, strict=False)
    # timm heads unused with num_classes=0 (e.g. SigLIP's attention pool) may be absent from either side
    missing = [k for k in missing if ".head" not in k and "attn_pool" not in k]
    unexpected = [k for k in unexpected if ".head" not in k and "attn_pool" not in k]
    if missing or unexpected:
        raise UserFacingError(
            f"{folder} does not match the OpenVLA* structure: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )


def _rebuild_rotary(model: OpenVLAStar, device: str) -> None:
    """Rotary frequencies are non-persistent buffers: not in the weights, garbage after meta-device init."""
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    llm = model.language_model.model
    llm.rotary_emb = LlamaRotaryEmbedding(config=model.language_model.config, device=device)


def _pick_stats(norm_stats: dict, unnorm_key: str | None) -> ActionStats:
    if unnorm_key is None:
        if len(norm_stats) != 1:
            raise UserFacingError(f"checkpoint has statistics for {sorted(norm_stats)}: pass --unnorm-key")
        unnorm_key = next(iter(norm_stats))
    if unnorm_key not in norm_stats:
        raise UserFacingError(f"--unnorm-key {unnorm_key!r} not in {sorted(norm_stats)}")
    return ActionStats.from_dict(norm_stats[unnorm_key]["action"])


def _published_config(hf: dict, vocab_size: int) -> OpenVLAStarConfig:
    names = hf.get("timm_model_ids", ["vit_large_patch14_reg4_dinov2.lvd142m", "vit_so400m_patch14_siglip_224"])
    if not hf.get("use_fused_vision_backbone", len(names) > 1):
        names = names[:1]
    return OpenVLAStarConfig(
        vision=tuple(VisionSpec(n) for n in names),
        image_size=int(hf.get("image_sizes", [224])[0]),
        text_config=hf["text_config"],
        vocab_size=vocab_size,
        n_bins=int(hf.get("n_action_bins", 256)),
    )


def load_policy(
    policy: str, unnorm_key: str | None = None, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> OpenVLAStarPolicy:
    from transformers import AutoTokenizer

    folder = resolve_checkpoint(policy)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    own = folder / OWN_CONFIG
    if own.exists():
        meta = json.loads(own.read_text())
        cfg = meta["config"]
        config = OpenVLAStarConfig(**{**cfg, "vision": tuple(VisionSpec(**v) for v in cfg["vision"])})
        stats = ActionStats.from_dict(meta["action_stats"])
        append = meta.get("append_token_id")
    else:
        hf = json.loads((folder / "config.json").read_text())
        norm_stats = hf.get("norm_stats")
        if norm_stats is None and (folder / "dataset_statistics.json").exists():
            norm_stats = json.loads((folder / "dataset_statistics.json").read_text())
        if not norm_stats:
            raise UserFacingError(f"{folder} has no action statistics (config.json norm_stats / dataset_statistics.json)")
        config = _published_config(hf, tokenizer.vocab_size)
        stats = _pick_stats(norm_stats, unnorm_key)
        append = LLAMA_EMPTY_TOKEN
    with torch.device("meta"):
        model = OpenVLAStar(config)
    model = model.to_empty(device=device)
    _load_state(model, folder)
    _rebuild_rotary(model, device)
    return OpenVLAStarPolicy(model.to(dtype), tokenizer, stats, append_token_id=append)


def save_policy(policy: OpenVLAStarPolicy, folder: Path) -> None:
    """Weights (safetensors), tokenizer and an OWN_CONFIG file that `load_policy` reads back."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in policy.model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    policy.tokenizer.save_pretrained(str(folder))
    stats = policy.stats
    meta = {
        "config": asdict(policy.model.config),
        "action_stats": {"q01": stats.q01.tolist(), "q99": stats.q99.tolist(), "mask": stats.mask.tolist()},
        "append_token_id": policy.append_token_id,
    }
    (folder / OWN_CONFIG).write_text(json.dumps(meta, indent=1))


def tiny_tokenizer(vocab_size: int = 512):
    """A small word-level tokenizer: specials, lower-case words, then the 256 action tokens at the end."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = (
        "in : what action should the robot take to ? out pick up place put open close turn on off push it "
        "and a of in on into top bottom drawer black bowl plate ramekin cabinet stove between next from "
        "table center cookie box wooden front back left right middle"
    ).split()
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "<pad>": 3}
    for w in dict.fromkeys(words):
        vocab.setdefault(w, len(vocab))
    n_filler = vocab_size - 256 - len(vocab)
    for i in range(n_filler):
        vocab[f"<extra_{i}>"] = len(vocab)
    for i in range(256):
        vocab[f"<act_{i}>"] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )


def tiny_config(vocab_size: int = 512) -> OpenVLAStarConfig:
    """Same structure as OpenVLA* (fused DINOv2-reg + SigLIP-style ViTs, 3-layer projector, Llama), tiny sizes."""
    dino = VisionSpec(None, {"patch_size": 8, "embed_dim": 32, "depth": 3, "num_heads": 2,
                             "reg_tokens": 4, "no_embed_class": True, "init_values": 1.0})
    siglip = VisionSpec(None, {"patch_size": 8, "embed_dim": 48, "depth": 3, "num_heads": 2,
                               "class_token": False, "global_pool": "avg"})
    text = {"vocab_size": vocab_size + 64, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 256,
            "pad_token_id": 3, "bos_token_id": 1, "eos_token_id": 2}
    return OpenVLAStarConfig(vision=(dino, siglip), image_size=32, text_config=text, vocab_size=vocab_size)


def tiny_policy(seed: int = 0) -> OpenVLAStarPolicy:
    """A random OpenVLA* small enough for CPU tests, with LIBERO-like action statistics."""
    torch.manual_seed(seed)
    model = OpenVLAStar(tiny_config())
    stats = ActionStats.from_dict({"q01": [-0.75, -0.75, -0.9, -0.1, -0.15, -0.2, 0.0],
                                   "q99": [0.9, 0.85, 0.94, 0.15, 0.2, 0.3, 1.0],
                                   "mask": [True] * 6 + [False]})
    return OpenVLAStarPolicy(model, tiny_tokenizer(), stats)
