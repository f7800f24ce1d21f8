"""The training run: store -> LeRobot policy, trained with LeRobot's own update and an AWR SampleWeighter.

Everything model-side is LeRobot's: `make_policy`, `make_pre_post_processors`, the policy's optimizer and
scheduler presets, `lerobot_train.update_policy` (which computes loss = sum(w l) / sum(w) when given a
SampleWeighter), its checkpoint/training-state files, and accelerate for several GPUs (`accelerate launch`).
What is ours: reading the store (data.py), the weights (weighting.py), per-sample losses where LeRobot has
none (losses.py), the held-out split and the log.
"""

import logging
import time
from pathlib import Path

import numpy as np
import torch

from srpo.errors import UserFacingError
from srpo.policy_loading import make_processors
from srpo.run_log import RunLog
from srpo.store import EpisodeStore
from srpo_offline.awr import checkpoint
from srpo_offline.awr.config import DEFAULT_PRETRAINED, WEIGHTINGS, TrainConfig, TrainResult
from srpo_offline.awr.data import StoreChunkDataset, compute_stats, split_episodes
from srpo_offline.awr.losses import enable_per_sample_loss, loss_counts
from srpo_offline.awr.policy import make_config, make_policy_for_store, parse_options, policy_type, with_lr
from srpo_offline.awr.weighting import AWRWeighter, reward_run_weights, weight_summary

log = logging.getLogger(__name__)


def _device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserFacingError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    return name


def _validate(policy, preprocessor, loader, weights: torch.Tensor | None, max_batches: int) -> dict:
    """Held-out loss: LeRobot's mean (samples weighted by their loss-element counts) and the AWR-weighted one."""
    was_training = policy.training
    policy.eval()
    losses, w_all, n_all = [], [], []
    with torch.no_grad():
        for i, batch in enumerate(loader):
            if i >= max_batches:
                break
            batch = preprocessor(batch)
            per_sample, _ = policy.forward(batch, reduction="none")
            losses.append(per_sample.float().cpu())
            counts = loss_counts(policy, batch)
            n_all.append(counts.float().cpu() if counts is not None else torch.ones(len(per_sample)))
            if weights is not None:
                w_all.append(weights[batch["index"].to(weights.device).long()].cpu())
    policy.train(was_training)
    loss, n = torch.cat(losses), torch.cat(n_all)
    w = (torch.cat(w_all) if w_all else torch.ones_like(loss)) * n
    return {"loss": ((loss * n).sum() / n.sum().clamp_min(1e-12)).item(),
            "weighted_loss": ((loss * w).sum() / w.sum().clamp_min(1e-12)).item()}


def _loader(dataset, cfg: TrainConfig, shuffle: bool, seed: int, device: str):
    # on CPU, worker processes compete with the training step for the same cores (measured: slower)
    workers = cfg.num_workers if cfg.num_workers is not None else (0 if device == "cpu" else 4)
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=cfg.batch_size, shuffle=shuffle, generator=generator,
                                       num_workers=workers, drop_last=False, persistent_workers=workers > 0)


def train_awr(cfg: TrainConfig) -> TrainResult:
    """Train a LeRobot policy on an episode store with AWR (or uniform) weights; see docs/train.md."""
    from accelerate import Accelerator
    from lerobot.scripts.lerobot_train import update_policy
    from lerobot.utils.logging_utils import AverageMeter, MetricsTracker

    if not cfg.store or not cfg.out:
        raise UserFacingError("name the episode store (STORE) and the output directory (--out DIR)")
    if cfg.weighting not in WEIGHTINGS:
        raise UserFacingError(f"--weighting must be one of {', '.join(WEIGHTINGS)}, not {cfg.weighting!r}")
    if cfg.steps < 1 or cfg.batch_size < 1:
        raise UserFacingError("--steps and --batch-size must be positive")
    if not 0 <= cfg.val_fraction < 1:
        raise UserFacingError(f"--val-fraction must be in [0, 1), got {cfg.val_fraction}")
    kind = policy_type(cfg.policy)
    store = EpisodeStore.open(cfg.store, mode="r")
    out = Path(cfg.out)
    device = _device(cfg.device)
    if cfg.resume:
        ckpt = checkpoint.last_checkpoint(out)
        source, options = ckpt / "pretrained_model", {}
    else:
        if (out / "checkpoints").exists():
            raise UserFacingError(f"{out} already holds a training run; pass --resume or choose another --out")
        source = None if cfg.from_scratch else (cfg.pretrained or DEFAULT_PRETRAINED.get(kind))
        ckpt, options = None, parse_options(cfg.policy_options)
    torch.manual_seed(cfg.seed)
    policy_cfg = make_config(kind, source, options, device)
    if policy_cfg.observation_delta_indices not in (None, [0]):
        raise UserFacingError(f"{kind} with n_obs_steps > 1 needs observation history, which this trainer does "
                              "not read yet; set --policy-option n_obs_steps=1")
    horizon = len(policy_cfg.action_delta_indices or [0])

    io = cfg.io
    io.check(store)
    train_eps, val_eps = split_episodes(store, cfg.val_fraction, cfg.seed)
    if cfg.success_only:  # filtered BC: the successful episodes of the same split
        ok = {e.index for e in store.episodes() if e.success is True}
        train_eps, val_eps = [i for i in train_eps if i in ok], [i for i in val_eps if i in ok]
        if not train_eps:
            raise UserFacingError(f"{cfg.store} has no successful episode to train on (--success-only)")
    train_ds = StoreChunkDataset(store, train_eps, horizon, io)
    val_ds = StoreChunkDataset(store, val_eps, horizon, io) if val_eps else None
    train_steps = train_ds.global_indices()
    table, weight_source = (reward_run_weights(store, cfg.reward_run, horizon, cfg.beta, cfg.w_max, cfg.chunk_weight)
                            if cfg.weighting == "awr" else (None, {}))
    stats = compute_stats(store, train_steps, cfg.seed, io)

    policy = make_policy_for_store(policy_cfg, store, stats, io)
    loss_mode = enable_per_sample_loss(policy)
    preprocessor, postprocessor = make_processors(policy.config, stats, source=source, tokenizer=cfg.tokenizer,
                                                  fresh_stats=not cfg.resume)
    opt_cfg, sched_cfg = with_lr(policy.config, cfg.lr)
    optimizer = opt_cfg.build(policy.get_optim_params())
    scheduler = sched_cfg.build(optimizer, cfg.steps) if sched_cfg is not None else None
    step = checkpoint.load_state(ckpt, optimizer, scheduler) if ckpt is not None else 0

    accelerator = Accelerator(cpu=device == "cpu", step_scheduler_with_optimizer=False)
    train_loader = _loader(train_ds, cfg, shuffle=True, seed=cfg.seed + step, device=device)
    val_loader = _loader(val_ds, cfg, shuffle=False, seed=0, device=device) if val_ds is not None else None
    policy, optimizer, train_loader = accelerator.prepare(policy, optimizer, train_loader)
    unwrapped = accelerator.unwrap_model(policy)
    weighter = (AWRWeighter(table, train_steps, accelerator.device, counts=lambda b: loss_counts(unwrapped, b))
                if table is not None else None)
    weight_stats = weighter.get_stats() if weighter is not None else weight_summary(
        np.ones(len(train_steps)), np.zeros(len(train_steps), bool))

    out.mkdir(parents=True, exist_ok=True)
    run_json = {**cfg.to_json(), "policy": kind, "loss_mode": loss_mode, "weights": weight_source}
    logbook = RunLog(out, {"config": run_json, "weight_stats": weight_stats, "train_episodes": train_eps,
                           "val_episodes": val_eps}, cfg.resume, enabled=accelerator.is_main_process)
    log.info("training %s on %d steps (%d episodes), weighting=%s, ESS fraction %.3f", kind, len(train_ds),
             len(train_eps), cfg.weighting, weight_stats["ess_fraction"])
    meters = {k: AverageMeter(k, ":.3f") for k in ("loss", "grad_norm", "lr", "update_s")}
    metrics = MetricsTracker(cfg.batch_size, len(train_ds), max(len(train_eps), 1), meters, initial_step=step,
                             accelerator=accelerator)
    model_dir, update_times = source, []
    bar = logbook.progress(cfg.steps, step, f"{cfg.weighting} {kind}", enabled=cfg.progress)
    data_iter = iter(train_loader)
    policy.train()
    while step < cfg.steps:
        try:
            batch = next(data_iter)
        except StopIteration:
            data_iter = iter(train_loader)
            batch = next(data_iter)
        batch = preprocessor(batch)
        t0 = time.perf_counter()
        metrics, out_dict = update_policy(metrics, policy, batch, optimizer, opt_cfg.grad_clip_norm,
                                          accelerator, lr_scheduler=scheduler, sample_weighter=weighter)
        update_times.append(time.perf_counter() - t0)
        step += 1
        bar.update(1)
        if step % cfg.log_every == 0 or step == cfg.steps:
            values = {"loss": metrics.loss.val, "grad_norm": metrics.grad_norm.val, "lr": metrics.lr.val}
            values.update({k: float(v) for k, v in (out_dict or {}).items() if k.startswith("sample_weight_")})
            logbook.add("train", step, values)
        if val_loader is not None and (step % cfg.val_every == 0 or step == cfg.steps):
            logbook.add("val", step, _validate(unwrapped, preprocessor, val_loader,
                                               weighter.weights if weighter else None, cfg.val_batches))
        if accelerator.is_main_process and (step % cfg.save_every == 0 or step == cfg.steps):
            model_dir = checkpoint.save(out, step, cfg.steps, unwrapped, optimizer, scheduler, preprocessor,
                                        postprocessor, run_json, cfg.batch_size, accelerator.num_processes, io)
        logbook.flush()
    logbook.close()
    if ckpt is not None and model_dir == source:  # resumed at or past the requested steps: nothing new
        model_dir = ckpt / "pretrained_model"
    train_records, val_records = logbook.records("train"), logbook.records("val")
    return TrainResult(
        out=out, checkpoint=Path(model_dir), log=logbook.path, weight_stats=weight_stats,
        train_loss=[(r["step"], r["loss"]) for r in train_records],
        val_loss=[(r["step"], r["loss"]) for r in val_records],
        val_weighted_loss=[(r["step"], r["weighted_loss"]) for r in val_records],
        step_seconds=float(np.mean(update_times)) if update_times else float("nan"),
    )
