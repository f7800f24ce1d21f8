"""`srpo reward ...`: per-step world-progress rewards, advantages and AWR weights; the reward benchmark.

Imports stay light at module level (torch and transformers load inside the commands).
"""

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from srpo.errors import UserFacingError

REWARD_VERSION = 1  # bump when the computation of stored progress/advantages/weights changes
ENCODERS = ("vjepa2", "image", "pixel")


class StoreVideos:
    """The episodes of one camera of a store as a lazily loaded sequence of uint8 T x H x W x 3 videos."""

    def __init__(self, store, camera: str):
        self.store = store
        self.key = f"{camera}_rgb"
        if self.key not in store.keys:
            cams = [c.name for c in store.config.cameras]
            raise UserFacingError(f"{store.path} has no camera {camera!r}; choose --camera from {', '.join(cams)}")

    def __len__(self) -> int:
        return self.store.num_episodes

    def __getitem__(self, i: int):
        return self.store.episode(i, keys=[self.key])[self.key]


def add_encoder_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="torch device for the encoder, e.g. cuda (fp16 on GPU)")
    p.add_argument("--batch-size", type=int, default=8, help="videos (prefixes) per encoder call")
    p.add_argument("--num-frames", type=int, default=None,
                   help="frames sampled per video (vjepa2: the checkpoint's 64; image: 8)")
    p.add_argument("--camera", default="camera0", help="which camera's video to encode")
    p.add_argument("--stride", type=int, default=1,
                   help="encode every K-th prefix and interpolate between (cost / K; see docs/reward.md)")
    p.add_argument("--normalise", choices=("task", "trajectory"), default="task",
                   help="task: progress comparable across a task's episodes (training); trajectory: min-max per "
                        "episode as in the paper's plots")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "compute", help="per-step progress, increments, advantages and AWR weights into the store",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Encode growing prefixes (frames 0..t) of every episode, measure their distance to the "
        "DBSCAN centres of the task's successful episodes, and store progress R, increments D, advantages A "
        "and AWR weights w = min(exp(A/beta), w_max) under derived/<run> with their provenance. Only episodes "
        "labelled successful are references; unlabelled episodes are scored and reported.",
    )
    p.add_argument("dataset", help="episode store directory")
    p.add_argument("--encoder", choices=ENCODERS, default="vjepa2", help="world model (vjepa2) or a baseline")
    p.add_argument("--model", default=None,
                   help="hub id or local directory (default facebook/vjepa2-vitl-fpc64-256 for vjepa2; "
                        "the authors used facebook/vjepa2-vitg-fpc64-384)")
    p.add_argument("--beta", type=float, default=1.0, help="AWR temperature")
    p.add_argument("--w-max", type=float, default=20.0, help="AWR weight clip")
    p.add_argument("--run-name", default=None, help="derived group name (default srpo_<encoder>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run of that name")
    add_encoder_options(p)
    p.set_defaults(func=cmd_compute)

    b = sub.add_parser(
        "bench", help="Progress Reward Benchmark (SC, Mono, MMD, JS, SMD) comparing encoders",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Compute per-step progress with each --encoder (and/or read stored --run results), report "
        "SC, Mono, MMD, JS and SMD per task and averaged (paper appendix A) as JSON, and plot the progress "
        "curves of successes and failures per task, encoders side by side.",
    )
    b.add_argument("dataset", help="episode store directory")
    b.add_argument("--encoder", action="append", choices=ENCODERS, default=[], help="repeat to compare")
    b.add_argument("--run", action="append", default=[], help="a stored derived run to include (repeatable)")
    b.add_argument("--model", action="append", default=[], metavar="[ENCODER=]ID_OR_PATH",
                   help="model for an encoder: ENCODER=ID, or a bare ID when one model encoder is compared")
    b.add_argument("--out", default=None, help="report directory (default outputs/reward_bench/<store name>)")
    add_encoder_options(b)
    b.set_defaults(func=cmd_bench)


def build_from_args(args, name: str, model: str | None):
    from srpo_offline.encoders import build_encoder

    kw = {}
    if name != "pixel":
        kw["batch_size"] = args.batch_size
        if args.num_frames:
            kw["num_frames"] = args.num_frames
    return build_encoder(name, model=model, device=args.device, **kw)


def run_progress(store, args, encoder, beta: float = 1.0, w_max: float = 20.0):
    from srpo_offline.progress import StepProgressConfig, step_progress

    episodes = store.episodes()
    if not episodes:
        raise UserFacingError(f"{store.path} holds no episodes; record some first")
    config = StepProgressConfig(stride=args.stride, beta=beta, w_max=w_max, normalise=args.normalise,
                                batch_size=args.batch_size)
    labels = [e.success for e in episodes]
    if not any(labels):
        raise UserFacingError(
            f"{store.path} has no episode labelled successful: progress needs successful references. "
            "Label episodes with `srpo data label` (or EpisodeStore.set_success) first."
        )
    result = step_progress(StoreVideos(store, args.camera), labels, [e.task for e in episodes], encoder, config)
    return result, config, labels, episodes


def references_summary(result) -> dict:
    return {t: {"episodes": r.episodes, "n_clusters": r.n_clusters, "n_noise": r.n_noise,
                "fell_back_to_mean": r.fell_back_to_mean, "d_start": r.d_start, "d_end": r.d_end}
            for t, r in result.references.items()}


def cmd_compute(args) -> int:
    import srpo
    from srpo.store import EpisodeStore

    store = EpisodeStore.open(args.dataset, mode="a")
    run = args.run_name or f"srpo_{args.encoder}"
    if run in store.derived_runs() and not args.overwrite:
        prov = store.root["derived"][run].attrs.get("provenance", {})
        raise UserFacingError(
            f"derived/{run} already exists in {args.dataset} (encoder {prov.get('encoder')}, stride "
            f"{prov.get('stride')}, beta {prov.get('beta')}); pass --run-name OTHER to keep both results, "
            "or --overwrite to replace it"
        )
    encoder = build_from_args(args, args.encoder, args.model)
    result, config, labels, _ = run_progress(store, args, encoder, args.beta, args.w_max)
    provenance = {
        "encoder": encoder.name, "model": encoder.model_id, "camera": args.camera,
        "stride": config.stride, "beta": config.beta, "w_max": config.w_max, "normalise": config.normalise,
        "cluster": asdict(config.cluster), "mu": result.mu, "sigma": result.sigma,
        "references": references_summary(result), "unlabelled": result.unlabelled,
        "unreferenced": result.unreferenced, "encoded_prefixes": result.encoded_prefixes,
        "version": REWARD_VERSION, "srpo_version": srpo.__version__,
    }
    arrays = {k: result.concat(k) for k in ("progress", "increment", "advantage", "weight", "distance")}
    store.write_derived(run, arrays, provenance, overwrite=args.overwrite)
    n = len(labels)
    print(f"scored {n} episodes ({sum(s is True for s in labels)} successful references, "
          f"{len(result.unlabelled)} unlabelled, {len(result.unreferenced)} without a task reference) "
          f"with {encoder.name} ({encoder.model_id}), {result.encoded_prefixes} prefixes encoded")
    for task, r in result.references.items():
        how = "mean (no DBSCAN cluster)" if r.fell_back_to_mean else f"{r.n_clusters} clusters, {r.n_noise} noise"
        print(f"  task {task!r}: {len(r.episodes)} references -> {how}")
    if result.unreferenced:
        print(f"  episodes without a labelled success in their task (progress NaN, weight 1): {result.unreferenced}")
    print(f"run name: {run}")
    print(f"train on it: srpo train ... --reward-run {run}")
    return 0


def parse_models(models: list[str], encoders: list[str]) -> dict[str, str]:
    out = {}
    for m in models:
        name, sep, value = m.partition("=")
        if sep and name in ENCODERS:
            out[name] = value
        else:
            candidates = [e for e in encoders if e != "pixel"]
            if len(candidates) != 1:
                raise UserFacingError(f"--model {m}: say which encoder it is for, e.g. --model vjepa2={m}")
            out[candidates[0]] = m
    return out


def cmd_bench(args) -> int:
    import numpy as np

    from srpo.store import EpisodeStore
    from srpo_offline.benchmark import progress_metrics
    from srpo_offline.plots import plot_progress_curves

    if not args.encoder and not args.run:
        raise UserFacingError("name at least one --encoder (e.g. --encoder vjepa2 --encoder pixel) or --run")
    store = EpisodeStore.open(args.dataset, mode="r")
    episodes = store.episodes()
    labels, tasks = [e.success for e in episodes], [e.task for e in episodes]
    models = parse_models(args.model, args.encoder)
    curves, report = {}, {}
    for name in args.encoder:
        encoder = build_from_args(args, name, models.get(name))
        result, config, _, _ = run_progress(store, args, encoder)
        curves[name] = result.progress
        report[name] = {"source": "computed", "model": encoder.model_id, "stride": config.stride,
                        "normalise": config.normalise, "references": references_summary(result),
                        "metrics": progress_metrics(result.progress, labels, tasks)}
    for run in args.run:
        arrays, attrs = store.read_derived(run)
        ends = store.episode_ends
        per_episode = np.split(arrays["progress"].astype(np.float64), ends[:-1])
        curves[run] = per_episode
        report[run] = {"source": f"derived/{run}", "provenance": attrs.get("provenance", {}),
                       "metrics": progress_metrics(per_episode, labels, tasks)}
    out = Path(args.out or Path("outputs") / "reward_bench" / Path(args.dataset).name)
    out.mkdir(parents=True, exist_ok=True)
    pngs = plot_progress_curves(curves, labels, tasks, out)
    doc = {"dataset": str(args.dataset), "camera": args.camera, "episodes": len(episodes),
           "successes": sum(s is True for s in labels), "failures": sum(s is False for s in labels),
           "results": report, "plots": [p.name for p in pngs]}
    (out / "report.json").write_text(json.dumps(doc, indent=2))
    print(f"{'':<24}" + "".join(f"{m:>10}" for m in ("SC", "Mono", "MMD", "JS", "SMD")))
    for name, r in report.items():
        mean = r["metrics"]["mean"]
        print(f"{name:<24}" + "".join(f"{'-' if mean[m] is None else format(mean[m], '.3f'):>10}"
                                      for m in ("SC", "Mono", "MMD", "JS", "SMD")))
    print(f"report: {out / 'report.json'}  plots: {len(pngs)} PNG in {out}")
    return 0
