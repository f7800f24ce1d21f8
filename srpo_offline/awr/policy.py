"""Build a LeRobot policy for the store (config, features, compatibility checks) with LeRobot's own factory."""

import dataclasses
import json
from pathlib import Path

from srpo.errors import UserFacingError
from srpo.policy_io import ACTION, STATE, PolicyIO, lerobot_features
from srpo.store import EpisodeStore
from srpo_offline.awr.data import StoreMeta, state_dim

ALIASES = {"pi0fast": "pi0_fast", "pi0-fast": "pi0_fast"}  # CLI spellings of LeRobot type names


def policy_type(name: str) -> str:
    import lerobot.policies.factory  # noqa: F401  (registers every policy config class)
    from lerobot.configs import PreTrainedConfig

    from srpo.policies import register

    register()

    name = ALIASES.get(name, name)
    known = sorted(PreTrainedConfig.get_known_choices())
    if name not in known:
        raise UserFacingError(f"unknown policy {name!r}; use pi0, pi0fast or another LeRobot policy type: "
                              f"{', '.join(known)}")
    return name


def _coerce(value: str):
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def parse_options(pairs) -> dict:
    """("chunk_size=10", "use_vae=false") -> {"chunk_size": 10, "use_vae": False} (values parsed as JSON)."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise UserFacingError(f"policy option {pair!r} must look like KEY=VALUE, e.g. chunk_size=10")
        key, value = pair.split("=", 1)
        out[key.strip()] = _coerce(value)
    return out


def make_config(kind: str, pretrained: str | None, options: dict, device: str):
    """The policy's LeRobot config: from `pretrained` (a hub id or a local checkpoint) or fresh defaults."""
    from lerobot.configs import PreTrainedConfig
    from lerobot.policies.factory import make_policy_config

    kind = policy_type(kind)
    if pretrained:
        try:
            cfg = PreTrainedConfig.from_pretrained(pretrained)
        except Exception as err:  # hub or file errors: say what was tried
            raise UserFacingError(f"cannot load a LeRobot policy config from {pretrained!r}: {err}") from err
        if cfg.type != kind:
            raise UserFacingError(f"{pretrained} holds a {cfg.type!r} policy, not {kind!r}; pass --policy {cfg.type}")
        cfg.pretrained_path = Path(pretrained) if Path(pretrained).exists() else pretrained
        for key, value in options.items():
            if not hasattr(cfg, key):
                raise UserFacingError(f"{kind} has no option {key!r}")
            setattr(cfg, key, value)
    else:
        try:
            cfg = make_policy_config(kind, **options)
        except TypeError as err:
            raise UserFacingError(f"bad --policy-option for {kind}: {err}") from err
    cfg.device = device
    return cfg


def check_compatible(cfg, store: EpisodeStore, io: PolicyIO = PolicyIO()) -> None:
    """Clear errors when a pretrained policy's action/state sizes cannot take this store's."""
    action_dim, s_dim = store.config.action_dim, state_dim(store, io)
    max_action = getattr(cfg, "max_action_dim", None)
    max_state = getattr(cfg, "max_state_dim", None)
    if max_action is not None:  # π-family: vectors are zero-padded up to max_*_dim
        if action_dim > max_action:
            raise UserFacingError(f"the store's actions have {action_dim} dims but {cfg.type} takes at most "
                                  f"{max_action} (max_action_dim)")
        if max_state is not None and s_dim > max_state:
            raise UserFacingError(f"the store's state has {s_dim} dims but {cfg.type} takes at most {max_state}")
        return
    if cfg.pretrained_path and ACTION in cfg.output_features:
        expected = cfg.output_features[ACTION].shape[0]
        if expected != action_dim:
            raise UserFacingError(
                f"{cfg.pretrained_path} predicts {expected}-dim actions but the store records {action_dim}-dim "
                "actions; train from scratch (no --pretrained) or record with the matching action space.")
    if cfg.pretrained_path and STATE in cfg.input_features:
        expected = cfg.input_features[STATE].shape[0]
        if expected != s_dim:
            raise UserFacingError(f"{cfg.pretrained_path} expects a {expected}-dim state; the store has {s_dim}.")


def make_policy_for_store(cfg, store: EpisodeStore, stats: dict, io: PolicyIO = PolicyIO()):
    """LeRobot's make_policy with the store's features (π-family checkpoints take any camera set)."""
    from lerobot.policies.factory import make_policy

    check_compatible(cfg, store, io)
    if cfg.pretrained_path and getattr(cfg, "max_action_dim", None) is not None:
        cfg.input_features = {}  # π-family: re-derive cameras/state from this store
    try:
        return make_policy(cfg, ds_meta=StoreMeta(features=lerobot_features(store, io=io), stats=stats))
    except ValueError as err:  # the policy's validate_features refusing these inputs (LeRobot raises ValueError)
        raise UserFacingError(f"{cfg.type} cannot train on {store.path} as configured: {err}") from err


def with_lr(cfg, lr: float | None):
    """Optimizer and scheduler presets of the policy (LeRobot's), with the peak learning rate overridden."""
    if lr is not None and hasattr(cfg, "optimizer_lr"):
        cfg.optimizer_lr = lr
    opt = cfg.get_optimizer_preset()
    if lr is not None and opt.lr != lr:
        opt = dataclasses.replace(opt, lr=lr)
    return opt, cfg.get_scheduler_preset()
