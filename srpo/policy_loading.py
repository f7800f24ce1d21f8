"""Load a LeRobot policy checkpoint with its processors: the one loader that deployment (`srpo robot deploy`,
the ROS policy node) and training (resume, fine-tuning from a checkpoint, tests) share.

Processors are restored with LeRobot's factory from the checkpoint's own files, with overrides for what
LeRobot does not save (the device, fresh normalisation stats when fine-tuning on another store, the
π0-FAST action-tokenizer step's text-tokenizer name).
"""

import json
from pathlib import Path

from srpo.errors import UserFacingError

PREPROCESSOR = "policy_preprocessor.json"
POSTPROCESSOR = "policy_postprocessor.json"


def _step_names(pretrained, filename: str) -> set[str]:
    path = Path(pretrained) / filename
    if not path.exists():
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(str(pretrained), filename))
    return {step.get("registry_name") for step in json.loads(path.read_text())["steps"]}


def has_processors(pretrained) -> bool:
    try:
        _step_names(pretrained, PREPROCESSOR)
        return True
    except Exception:  # missing file locally or on the hub: build fresh processors instead
        return False


def make_processors(cfg, stats: dict | None, source=None, tokenizer: str | None = None, fresh_stats: bool = True):
    """Pre/post-processors: loaded from `source` (a checkpoint with processor files) with these normalisation
    stats (fresh_stats) and the config's device, or built fresh by LeRobot's per-policy factory."""
    from lerobot.policies.factory import make_pre_post_processors

    if source is None or not has_processors(source):
        return make_pre_post_processors(cfg, dataset_stats=stats)
    features = {**cfg.input_features, **cfg.output_features}
    pre = {"device_processor": {"device": cfg.device},
           "normalizer_processor": {"features": features, "norm_map": cfg.normalization_mapping}}
    post = {"unnormalizer_processor": {"features": cfg.output_features, "norm_map": cfg.normalization_mapping}}
    if fresh_stats:
        pre["normalizer_processor"]["stats"] = stats
        post["unnormalizer_processor"]["stats"] = stats
    if tokenizer:
        pre["tokenizer_processor"] = {"tokenizer_name": tokenizer}
    text_tokenizer = tokenizer or getattr(cfg, "text_tokenizer_name", None)
    if text_tokenizer:  # LeRobot does not save this field of the FAST step; without it the hub id is used
        pre["action_tokenizer_processor"] = {"paligemma_tokenizer_name": text_tokenizer}
    names = _step_names(source, PREPROCESSOR)
    pre = {k: v for k, v in pre.items() if k in names}
    post = {k: v for k, v in post.items() if k in _step_names(source, POSTPROCESSOR)}
    return make_pre_post_processors(cfg, pretrained_path=str(source), preprocessor_overrides=pre,
                                    postprocessor_overrides=post)


def load_policy(model_dir: str | Path, device: str = "cpu"):
    """(policy, preprocessor, postprocessor) from a pretrained_model dir with LeRobot's factory.

    Same as LeRobot's own loading, plus one override: LeRobot does not save the π0-FAST action-tokenizer
    step's text-tokenizer name, so it is set from the policy config (else the hub id would be fetched).
    """
    from lerobot.configs import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class

    from srpo.policies import register

    register()
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise UserFacingError(f"{model_dir} is not a LeRobot policy checkpoint (no config.json); pass the "
                              "pretrained_model directory written by `srpo train` or policy.save_pretrained")
    if not (model_dir / PREPROCESSOR).is_file():  # else LeRobot would build processors without normalisation stats
        raise UserFacingError(f"{model_dir} lacks LeRobot's processor files ({PREPROCESSOR}); save them with "
                              "preprocessor.save_pretrained(dir) next to the policy")
    cfg = PreTrainedConfig.from_pretrained(model_dir)
    cfg.device = device
    policy = get_policy_class(cfg.type).from_pretrained(model_dir, config=cfg)
    policy.eval()
    pre, post = make_processors(policy.config, None, source=model_dir, fresh_stats=False)
    return policy, pre, post
