"""`srpo demo`: the whole offline SRPO loop on the simulated xArm 7, composed from the stages' Python APIs.

    record (scripted noisy expert: successes and failures, labelled by the sim's success predicate;
            srpo.robot.runner.record_episodes)
      -> score (world-progress R, increments D, advantages A, AWR weights w; srpo_offline.reward_run.compute_reward_run)
      -> train the same small LeRobot policy twice on the same data: AWR-weighted and uniform (srpo_offline.awr.train_awr)
      -> deploy both in the simulator (srpo.robot.runner.deploy_policy), for each seed
      -> report (outputs/demo/report.md): progress curves, advantages, training curves, success rates + CIs
"""

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from srpo.errors import UserFacingError
from srpo_offline.advantages import DEFAULT_BETA, DEFAULT_W_MAX

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
    """The whole offline SRPO loop on the simulated xArm 7: record, score, train AWR and uniform, deploy, report
    (outputs/demo/report.md)."""

    out: str = "outputs/demo"  # run directory: store, checkpoints, report
    task: str = "lift"  # simulated xArm task
    episodes: int = 40  # recorded episodes (scripted noisy expert)
    max_steps: int = 120  # control ticks per episode at most
    expert_noise: float = 1.0  # expert's noise scale: ~half of the episodes fail at 1.0
    encoder: str = "auto"  # progress encoder: auto (vjepa2 when its weights are local, else pixel) or a name in srpo_offline.encoders.ENCODERS
    model: str | None = None  # encoder weights: hub id or local directory
    reward_camera: str = "auto"  # camera whose video is scored: auto = camera0 (front) for vjepa2/image, camera1 (wrist) for pixel
    stride: int = 2  # encode every stride-th prefix (interpolate between)
    beta: float = DEFAULT_BETA  # AWR temperature
    w_max: float = DEFAULT_W_MAX  # AWR weight clip
    policy: str = "act"  # LeRobot policy type trained (act by default: small and fast on CPU)
    train_steps: int = 300  # optimiser updates per training run (~0.2 s each for the small ACT on 2 CPU cores)
    batch_size: int = 8  # samples per update
    lr: float = 1e-4  # peak learning rate (ACT's preset 1e-5 is for fine-tuning; the demo trains from scratch)
    seeds: tuple[int, ...] = (0, 1, 2)  # training + evaluation seeds; each trains AWR and uniform
    eval_episodes: int = 20  # deployment episodes per trained policy
    device: str = "cpu"  # torch device for training and deployment
    policy_options: tuple[str, ...] | None = None  # LeRobot config overrides KEY=VALUE; None: SMALL_ACT for act, none otherwise


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
    from srpo_offline.encoders import ENCODERS

    if config.encoder not in ("auto", *ENCODERS):
        raise UserFacingError(f"unknown encoder {config.encoder!r}; use auto or one of {', '.join(ENCODERS)}")
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

    from srpo.robot.runner import DeployConfig, RecordConfig, deploy_policy, record_episodes
    from srpo.store import EpisodeStore
    from srpo_offline.awr import TrainConfig, train_awr
    from srpo_offline.demo.report import DemoReport, PolicyResult, write_report
    from srpo_offline.reward_run import RewardConfig, compute_reward_run, summary_lines

    encoder, camera, encoder_note = choose_encoder(config)  # a bad --encoder fails before anything runs
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
    print(f"encoder: {encoder} on {camera} ({encoder_note})", flush=True)
    scored = compute_reward_run(RewardConfig(store=str(store_path), encoder=encoder, model=config.model,
                                             stride=config.stride, beta=config.beta, w_max=config.w_max,
                                             device=config.device, camera=camera))
    print("\n".join(summary_lines(scored)), flush=True)
    run_name = scored.name
    seconds["score"] = time.perf_counter() - t
    derived, _ = EpisodeStore.open(store_path).read_derived(run_name)
    curves = [(derived["progress"][e.start : e.end], e.success is True) for e in episodes]

    report = DemoReport(task=config.task, encoder=encoder, encoder_note=encoder_note, policy_type=config.policy,
                        n_episodes=len(episodes), n_success=n_success, progress_curves=curves,
                        advantages=derived["advantage"], weights=derived["weight"], stage_seconds=seconds)
    if config.policy_options is not None:
        options = config.policy_options
    else:
        options = SMALL_ACT if config.policy == "act" else {}
    base_train = TrainConfig(store=str(store_path), out=str(out), policy=config.policy, reward_run=run_name,
                             from_scratch=True,
                             steps=config.train_steps, batch_size=config.batch_size, lr=config.lr,
                             device=config.device,
                             policy_options=options, val_every=max(config.train_steps // 4, 1),
                             save_every=config.train_steps, progress=True)
    for seed in config.seeds:
        for weighting in ("awr", "uniform"):
            t = stage(f"train {weighting}, seed {seed}")
            result = train_awr(replace(base_train, weighting=weighting, seed=seed,
                                       out=str(out / f"{weighting}_seed{seed}")))
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


def demo(config: DemoConfig) -> int:
    """the whole loop on the simulated xArm: record, score, train, deploy, report"""
    run_demo(config)
    return 0


COMMAND = demo
