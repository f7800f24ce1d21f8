"""Build OpenVLA* from a published checkpoint, from this project's checkpoints, or tiny and random for tests.

Published checkpoints (Sylvest/OpenVLA-AC-PD-1traj-libero-*) are HF-format OpenVLA-OFT folders: config.json
(timm_model_ids, image_sizes, use_fused_vision_backbone, text_config, pad_to_multiple_of, n_action_bins,
norm_stats), safetensors shards, a Llama tokenizer and dataset_statistics.json. Only their weights and statistics
are read; their Python (remote code) is not run. What the reference code does and we mirror
(moojink/openvla-oft prismatic/extern/hf/modeling_prismatic.py; siiRL siirl/models/embodied/openvla_oft/ and
siirl/engine/rollout/embodied_rollout.py):
- timm's DINOv2 LayerScale ``lsN.gamma`` is saved as ``lsN.scale_factor`` (HF would rename params called gamma);
  we map it back;
- the action vocabulary is ``text_config.vocab_size - pad_to_multiple_of`` (32064 - 64 = 32000);
- ``dataset_statistics.json`` replaces config.json's norm_stats (OFT's load_vla / _load_dataset_stats), and an
  unnorm key ``<suite>`` falls back to ``<suite>_no_noops`` (siiRL's embodied_preprocess).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, fields
from pathlib import Path

import torch

from srpo.errors import UserFacingError
from srpo_online_sim.openvla.action_tokenizer import ActionStats
from srpo_online_sim.openvla.model import OpenVLAStar, OpenVLAStarConfig, VisionSpec
from srpo_online_sim.openvla.policy import OWN_CONFIG, OpenVLAStarPolicy

SUITE_CHECKPOINTS = {
    "spatial": "Sylvest/OpenVLA-AC-PD-1traj-libero-spatial",
    "object": "Sylvest/OpenVLA-AC-PD-1traj-libero-object",
    "goal": "Sylvest/OpenVLA-AC-PD-1traj-libero-goal",
    "10": "Sylvest/OpenVLA-AC-PD-1traj-libero-long",
}


def default_policy(suite: str) -> str:
    """The published OpenVLA* checkpoint of a LIBERO suite (there is none for LIBERO-90)."""
    if suite not in SUITE_CHECKPOINTS:
        raise UserFacingError(f"no published OpenVLA* checkpoint for libero_{suite}: pass --policy")
    return SUITE_CHECKPOINTS[suite]


LLAMA_EMPTY_TOKEN = 29871  # OpenVLA appends it after "Out:" for Llama 2 tokenizers
HF_LAYER_SCALE = re.compile(r"\.ls(\d+)\.scale_factor$")  # HF-format name of timm's LayerScale `lsN.gamma`

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadReport:
    """What `load_policy` mapped, for the log and for tests."""

    folder: str  # the checkpoint folder read
    layout: str  # "published" (HF OpenVLA-OFT) or "own" (saved by OpenVLAStarPolicy.save)
    tensors: int  # tensors loaded
    renamed: int  # HF `lsN.scale_factor` -> timm `lsN.gamma`
    ignored: tuple[str, ...]  # checkpoint tensors of heads the model does not use (SigLIP attention pool)
    stats_source: str  # which file the action statistics came from
    unnorm_key: str  # the statistics key used
    vocab_size: int  # the action vocabulary (ids [vocab - 256, vocab) are actions)

    def __str__(self) -> str:
        return (f"loaded {self.tensors} tensors from {self.folder} ({self.layout} layout; renamed {self.renamed} "
                f"lsN.scale_factor -> lsN.gamma; ignored {len(self.ignored)} unused head tensors); action statistics "
                f"{self.unnorm_key!r} from {self.stats_source}; action vocabulary {self.vocab_size}")


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


def _unused_head(key: str) -> bool:
    """timm heads unused with num_classes=0 (e.g. SigLIP's attention pool) may be absent from either side."""
    return ".head" in key or "attn_pool" in key


def _load_state(model: torch.nn.Module, folder: Path) -> tuple[int, int, tuple[str, ...]]:
    """Load every safetensors shard; returns (tensors loaded, LayerScale names mapped, unused keys ignored)."""
    from safetensors.torch import load_file

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise UserFacingError(f"no *.safetensors weights in {folder}")
    state, renamed = {}, 0
    for f in files:
        for key, value in load_file(str(f)).items():
            mapped = HF_LAYER_SCALE.sub(r".ls\1.gamma", key)
            renamed += mapped != key
            state[mapped] = value
    missing, unexpected = model.load_state_dict(state, strict=False)
    ignored = tuple(k for k in unexpected if _unused_head(k))
    missing = [k for k in missing if not _unused_head(k)]
    unexpected = [k for k in unexpected if not _unused_head(k)]
    if missing or unexpected:
        raise UserFacingError(
            f"{folder} does not match the OpenVLA* structure: {len(missing)} missing {missing[:5]}, "
            f"{len(unexpected)} unexpected {unexpected[:5]}"
        )
    return len(state) - len(ignored), renamed, ignored


def _rebuild_rotary(model: OpenVLAStar, device: str) -> None:
    """Rotary frequencies are non-persistent buffers: not in the weights, garbage after meta-device init."""
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    llm = model.language_model.model
    llm.rotary_emb = LlamaRotaryEmbedding(config=model.language_model.config, device=device)


def _pick_stats(norm_stats: dict, unnorm_key: str | None) -> tuple[str, ActionStats]:
    if unnorm_key is None:
        if len(norm_stats) != 1:
            raise UserFacingError(f"checkpoint has statistics for {sorted(norm_stats)}: pass --unnorm-key")
        unnorm_key = next(iter(norm_stats))
    if unnorm_key not in norm_stats and f"{unnorm_key}_no_noops" in norm_stats:
        unnorm_key = f"{unnorm_key}_no_noops"  # siiRL embodied_rollout.py: libero_spatial -> libero_spatial_no_noops
    if unnorm_key not in norm_stats:
        raise UserFacingError(f"--unnorm-key {unnorm_key!r} not in {sorted(norm_stats)}")
    return unnorm_key, ActionStats.from_dict(norm_stats[unnorm_key]["action"])


def _published_stats(hf: dict, folder: Path) -> tuple[dict, str]:
    """dataset_statistics.json when present (it wins, as in OFT), else config.json's norm_stats."""
    path = folder / "dataset_statistics.json"
    if path.exists():
        return json.loads(path.read_text()), path.name
    if hf.get("norm_stats"):
        return hf["norm_stats"], "config.json norm_stats"
    raise UserFacingError(f"{folder} has no action statistics (dataset_statistics.json / config.json norm_stats)")


def _published_config(hf: dict, tokenizer) -> OpenVLAStarConfig:
    names = hf.get("timm_model_ids", ["vit_large_patch14_reg4_dinov2.lvd142m", "vit_so400m_patch14_siglip_224"])
    if not hf.get("use_fused_vision_backbone", len(names) > 1):
        names = names[:1]
    acts = hf.get("timm_override_act_layers") or [None] * len(names)
    text = hf["text_config"]
    pad = hf.get("pad_to_multiple_of")
    # OFT: self.vocab_size = text_config.vocab_size - pad_to_multiple_of (the embedding is padded to 32064)
    vocab_size = int(text["vocab_size"]) - int(pad) if pad else tokenizer.vocab_size
    return OpenVLAStarConfig(
        vision=tuple(VisionSpec(n, {"act_layer": a} if a else {}) for n, a in zip(names, acts)),
        image_size=int(hf.get("image_sizes", [224])[0]),
        text_config=text,
        vocab_size=vocab_size,
        n_bins=int(hf.get("n_action_bins", 256)),
    )


def _empty_token(tokenizer) -> int | None:
    """Llama 2's "▁" (id 29871), which OpenVLA appends after "Out:"; None for tokenizers without it."""
    if tokenizer.vocab_size > LLAMA_EMPTY_TOKEN and tokenizer.convert_ids_to_tokens(LLAMA_EMPTY_TOKEN) == "▁":
        return LLAMA_EMPTY_TOKEN
    return None


def _own_config(cfg: dict) -> OpenVLAStarConfig:
    known = {f.name for f in fields(OpenVLAStarConfig)}  # older files may carry retired fields
    cfg = {k: v for k, v in cfg.items() if k in known}
    return OpenVLAStarConfig(**{**cfg, "vision": tuple(VisionSpec(**v) for v in cfg["vision"])})


def load_policy(
    policy: str, unnorm_key: str | None = None, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> OpenVLAStarPolicy:
    """A published (HF OpenVLA-OFT) or own checkpoint as a policy; `policy.load_report` says what was mapped."""
    from transformers import AutoTokenizer

    folder = resolve_checkpoint(policy)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    own = folder / OWN_CONFIG
    if own.exists():
        meta = json.loads(own.read_text())
        config = _own_config(meta["config"])
        stats = ActionStats.from_dict(meta["action_stats"])
        append = meta.get("append_token_id")
        layout, key, source = "own", "(own)", OWN_CONFIG
    else:
        hf = json.loads((folder / "config.json").read_text())
        norm_stats, source = _published_stats(hf, folder)
        config = _published_config(hf, tokenizer)
        key, stats = _pick_stats(norm_stats, unnorm_key)
        append = _empty_token(tokenizer)
        layout = "published"
    with torch.device("meta"):
        model = OpenVLAStar(config)
    model = model.to_empty(device=device)
    tensors, renamed, ignored = _load_state(model, folder)
    _rebuild_rotary(model, device)
    result = OpenVLAStarPolicy(model.to(dtype), tokenizer, stats, append_token_id=append)
    result.load_report = LoadReport(str(folder), layout, tensors, renamed, ignored, source, key, config.vocab_size)
    log.info("%s", result.load_report)
    return result


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
