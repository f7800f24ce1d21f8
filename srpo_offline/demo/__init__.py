"""`srpo demo`: the whole offline SRPO loop on the simulated xArm 7, composed from the other subcommands.

    record (scripted noisy expert: successes and failures, labelled by the sim's success predicate)
      -> score (world-progress R, increments D, advantages A, AWR weights w; `srpo reward compute`)
      -> train the same small LeRobot policy twice on the same data: AWR-weighted and uniform (`srpo train awr`)
      -> deploy both in the simulator (`srpo robot deploy`), for each seed
      -> report (outputs/demo/report.md): progress curves, advantages, training curves, success rates + CIs
"""

import argparse
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

# A policy small enough to train in about a minute on 2 CPU cores (LeRobot ACT, no pretrained backbone).
SMALL_ACT = {
    "chunk_size": 10,
    "n_action_steps": 10,
    "dim_model": 64,
    "dim_feedforward": 128,
    "n_heads": 4,
    "n_encoder_layers": 1,
    "n_decoder_layers": 1,
    "use_vae": False,
    "pretrained_backbone_weights": None,
}


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs; every field has a CLI option of the same name."""

    out: str = "outputs/demo"  # run directory: store, checkpoints, report
    task: str = "lift"  # simulated xArm task
    episodes: int = 40  # recorded episodes (scripted noisy expert)
    max_steps: int = 120  # control ticks per episode at most
    expert_noise: float = 1.0  # expert's noise scale: ~half of the episodes fail at 1.0
    encoder: str = "auto"  # progress encoder: auto (vjepa2 when its weights are local, else pixel), vjepa2, image, pixel
    model: str | None = None  # encoder weights: hub id or local directory
    reward_camera: str = "auto"  # camera whose video is scored: auto = camera0 (front) for vjepa2/image, camera1 (wrist) for pixel
    stride: int = 2  # encode every stride-th prefix (interpolate between)
    beta: float = 1.0  # AWR temperature
    w_max: float = 20.0  # AWR weight clip
    policy: str = "act"  # LeRobot policy type trained (act by default: small and fast on CPU)
    train_steps: int = 300  # optimiser updates per training run (~0.2 s each for the small ACT on 2 CPU cores)
    batch_size: int = 8  # samples per update
    lr: float = 1e-4  # peak learning rate (ACT's preset 1e-5 is for fine-tuning; the demo trains from scratch)
    seeds: tuple[int, ...] = (0, 1, 2)  # training + evaluation seeds; each trains AWR and uniform
    eval_episodes: int = 20  # deployment episodes per trained policy
    device: str = "cpu"  # torch device for training and deployment
    policy_options: dict = field(default_factory=lambda: dict(SMALL_ACT))  # LeRobot config overrides


def vjepa2_available(model: str | None) -> bool:
    """True when V-JEPA 2 weights are on this machine (a local directory, or the hub cache)."""
    from huggingface_hub import try_to_load_from_cache

    from srpo_offline.encoders import DEFAULT_MODELS

    model = model or DEFAULT_MODELS["vjepa2"]
    if Path(model).is_dir():
        return (Path(model) / "config.json").is_file()
    return isinstance(try_to_load_from_cache(model, "config.json"), str)


def choose_encoder(config: DemoConfig) -> tuple[str, str, str]:
    """(encoder, camera, why) — says plainly when the world model is replaced by a baseline.

    The pixel baseline scores the wrist camera: in the front view the arm's pose and the cube's place dominate
    pixel distances, so starts look closer to the successes' mean than successful endings do (flat progress);
    the wrist view, where the grasped cube fills the image, does track progress (measured: docs/reward.md).
    """
    if config.encoder != "auto":
        encoder, why = config.encoder, f"chosen with --encoder {config.encoder}"
    elif vjepa2_available(config.model):
        encoder, why = "vjepa2", "V-JEPA 2 weights found locally"
    else:
        encoder, why = "pixel", (
            "V-JEPA 2 weights are not on this machine (download facebook/vjepa2-vitl-fpc64-256 or pass --model "
            "PATH), so the pixel-level baseline encoder is used on the wrist camera: progress is less faithful "
            "than the paper's world model")
    camera = config.reward_camera
    if camera == "auto":
        camera = "camera1" if encoder == "pixel" else "camera0"
    return encoder, camera, why


def run_demo(config: DemoConfig) -> Path:
    """Run every stage; returns the path of the report."""
    import numpy as np

    from srpo.cli import main as srpo_main
    from srpo.robot.runner import DeployConfig, RecordConfig, deploy_policy, record_episodes
    from srpo.store import EpisodeStore
    from srpo_offline.awr import TrainConfig, train_awr
    from srpo_offline.demo.report import DemoReport, PolicyResult, write_report

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2))
    seconds: dict[str, float] = {}

    def stage(name: str):
        print(f"\n=== {name} ===", flush=True)
        return time.perf_counter()

    t = stage("record: scripted noisy expert on the simulated xArm")
    store_path = out / "store.zarr"
    if store_path.exists():
        import shutil

        print(f"replacing the previous demo recording {store_path}", flush=True)
        shutil.rmtree(store_path)
    record_episodes(RecordConfig(backend="sim", task=config.task, episodes=config.episodes, out=str(store_path),
                                 max_steps=config.max_steps, expert_noise=config.expert_noise, seed=1000))
    seconds["record"] = time.perf_counter() - t
    store = EpisodeStore.open(store_path)
    episodes = store.episodes()
    n_success = sum(e.success is True for e in episodes)
    print(f"{len(episodes)} episodes, {n_success} successful", flush=True)

    t = stage("score: world-progress rewards, advantages, AWR weights")
    encoder, camera, encoder_note = choose_encoder(config)
    print(f"encoder: {encoder} on {camera} ({encoder_note})", flush=True)
    run_name = f"srpo_{encoder}"
    args = ["reward", "compute", str(store_path), "--encoder", encoder, "--stride", str(config.stride),
            "--beta", str(config.beta), "--w-max", str(config.w_max), "--run-name", run_name, "--device",
            config.device, "--camera", camera]
    if config.model:
        args += ["--model", config.model]
    if srpo_main(args) != 0:
        raise RuntimeError("srpo reward compute failed")
    seconds["score"] = time.perf_counter() - t
    derived, _ = EpisodeStore.open(store_path).read_derived(run_name)
    curves = [(derived["progress"][e.start : e.end], e.success is True) for e in episodes]

    report = DemoReport(task=config.task, encoder=encoder, encoder_note=encoder_note, policy_type=config.policy,
                        n_episodes=len(episodes), n_success=n_success, progress_curves=curves,
                        advantages=derived["advantage"], weights=derived["weight"], stage_seconds=seconds)
    base_train = TrainConfig(store=store_path, out=out, policy=config.policy, reward_run=run_name,
                             steps=config.train_steps, batch_size=config.batch_size, lr=config.lr,
                             device=config.device,
                             policy_options=dict(config.policy_options), val_every=max(config.train_steps // 4, 1),
                             save_every=config.train_steps, progress=True)
    for seed in config.seeds:
        for weighting in ("awr", "uniform"):
            t = stage(f"train {weighting}, seed {seed}")
            result = train_awr(replace(base_train, weighting=weighting, seed=seed,
                                       out=out / f"{weighting}_seed{seed}"))
            seconds[f"train {weighting} s{seed}"] = time.perf_counter() - t

            t = stage(f"deploy {weighting}, seed {seed}")
            deployed = deploy_policy(DeployConfig(backend="sim", task=config.task, policy=str(result.checkpoint),
                                                  episodes=config.eval_episodes, max_steps=config.max_steps,
                                                  seed=seed, device=config.device))
            seconds[f"deploy {weighting} s{seed}"] = time.perf_counter() - t
            outcomes = [r.success is True for r in deployed.episodes]
            report.results.append(PolicyResult(weighting=weighting, seed=seed, successes=int(np.sum(outcomes)),
                                               episodes=len(outcomes),
                                               train_losses=[loss for _, loss in result.train_loss],
                                               val_losses=[loss for _, loss in result.val_loss]))
            print(f"{weighting} seed {seed}: {sum(outcomes)}/{len(outcomes)} successes", flush=True)

    path = write_report(report, out)
    print(f"\nreport: {path}", flush=True)
    return path


def _cmd_demo(args) -> int:
    config = DemoConfig(out=args.out, task=args.task, episodes=args.episodes, max_steps=args.max_steps,
                        expert_noise=args.expert_noise, encoder=args.encoder, model=args.model,
                        reward_camera=args.reward_camera, stride=args.stride,
                        beta=args.beta, w_max=args.w_max, policy=args.policy, train_steps=args.train_steps,
                        batch_size=args.batch_size, lr=args.lr, seeds=tuple(args.seeds), eval_episodes=args.eval_episodes,
                        device=args.device,
                        policy_options=dict(SMALL_ACT) if args.policy == "act" else {})
    run_demo(config)
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    d = DemoConfig()
    parser.description = (__doc__ or "").strip()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--out", default=d.out, help="run directory (store, checkpoints, report.md)")
    parser.add_argument("--task", default=d.task, help="simulated xArm task (see `srpo robot record --help`)")
    parser.add_argument("--episodes", type=int, default=d.episodes, help="episodes to record")
    parser.add_argument("--max-steps", type=int, default=d.max_steps, help="control ticks per episode at most")
    parser.add_argument("--expert-noise", type=float, default=d.expert_noise,
                        help="scripted expert noise (0 = clean; ~1 gives a mix of successes and failures)")
    parser.add_argument("--encoder", default=d.encoder, choices=("auto", "vjepa2", "image", "pixel"),
                        help="progress encoder; auto uses V-JEPA 2 when its weights are local, else pixel")
    parser.add_argument("--model", default=d.model, help="encoder weights: hub id or local directory")
    parser.add_argument("--reward-camera", default=d.reward_camera,
                        help="camera scored by the encoder: auto (front for vjepa2/image, wrist for pixel), camera0, camera1")
    parser.add_argument("--stride", type=int, default=d.stride, help="encode every K-th prefix")
    parser.add_argument("--beta", type=float, default=d.beta, help="AWR temperature")
    parser.add_argument("--w-max", type=float, default=d.w_max, help="AWR weight clip")
    parser.add_argument("--policy", default=d.policy, help="LeRobot policy type to train (act, pi0, pi0fast, ...)")
    parser.add_argument("--train-steps", type=int, default=d.train_steps, help="updates per training run")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help="samples per update")
    parser.add_argument("--lr", type=float, default=d.lr, help="peak learning rate")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(d.seeds), help="seeds (each trains both)")
    parser.add_argument("--eval-episodes", type=int, default=d.eval_episodes, help="deployment episodes each")
    parser.add_argument("--device", default=d.device, help="torch device")
    parser.set_defaults(func=_cmd_demo)
