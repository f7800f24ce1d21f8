"""The Progress Reward Benchmark as one call: `run_reward_bench(BenchConfig(store=..., encoders=(...)))`
computes per-step progress with each encoder (and/or reads stored reward runs), scores SC, Mono, MMD, JS and
SMD per task and averaged (paper appendix A, `srpo_offline.benchmark`), and writes report.json and the
progress-curve plots. `srpo reward bench` calls it.
"""

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from srpo.configs import POSITIONAL
from srpo.errors import UserFacingError
from srpo_offline.reward_run import EncodeOptions, make_encoder, references_summary, store_progress


@dataclass(frozen=True)
class BenchConfig(EncodeOptions):
    """Compute per-step progress with each --encoder (and/or read stored --run results), report SC, Mono, MMD,
    JS and SMD per task and averaged (paper appendix A) as JSON, and plot the progress curves of successes
    and failures per task, encoders side by side."""

    store: str = field(default="", metadata=POSITIONAL)  # episode store directory
    encoders: tuple[str, ...] = ()  # encoders to compare (repeat --encoder, or --encoder a b)
    runs: tuple[str, ...] = ()  # stored derived reward runs to include (repeat --run)
    models: tuple[str, ...] = ()  # model per encoder: ENCODER=ID, or a bare ID when one model encoder is compared
    out: str | None = None  # report directory; None: outputs/reward_bench/<store name>

    CLI_ALIASES: ClassVar[dict[str, str]] = {"encoder": "encoders", "run": "runs", "model": "models"}


@dataclass(frozen=True, eq=False)
class BenchReport:
    """What `run_reward_bench` wrote."""

    doc: dict  # the report.json content: settings, per-source metrics per task and averaged
    out: Path  # the report directory
    plots: list[Path]  # progress-curve PNGs, one per task


def parse_models(models: tuple[str, ...], encoders: tuple[str, ...]) -> dict[str, str]:
    from srpo_offline.encoders import ENCODERS

    out = {}
    for m in models:
        name, sep, value = m.partition("=")
        if sep and name in ENCODERS:
            out[name] = value
        else:
            candidates = [e for e in encoders if ENCODERS.get(e) and ENCODERS[e].default_model]
            if len(candidates) != 1:
                raise UserFacingError(f"--model {m}: say which encoder it is for, e.g. --model vjepa2={m}")
            out[candidates[0]] = m
    return out


def run_reward_bench(cfg: BenchConfig) -> BenchReport:
    """Score each encoder and stored run on cfg.store with the benchmark metrics; write report.json and plots."""
    import numpy as np

    from srpo.store import EpisodeStore
    from srpo_offline.benchmark import progress_metrics
    from srpo_offline.encoders import choose_encoder, store_camera
    from srpo_offline.plots import plot_progress_curves

    if not cfg.encoders and not cfg.runs:
        raise UserFacingError("name at least one --encoder (e.g. --encoder vjepa2 --encoder pixel) or --run")
    if not cfg.store:
        raise UserFacingError("name the episode store to benchmark on (STORE)")
    store = EpisodeStore.open(cfg.store, mode="r")
    episodes = store.episodes()
    labels, tasks = [e.success for e in episodes], [e.task for e in episodes]
    models = parse_models(cfg.models, cfg.encoders)
    curves, report = {}, {}
    for name in cfg.encoders:
        choice = choose_encoder(name, models.get(name), cfg.camera)
        options = replace(cfg, camera=store_camera(choice.camera))
        encoder = make_encoder(options, name, models.get(name), store)
        result, config, _ = store_progress(store, options, encoder)
        curves[name] = result.progress
        report[name] = {"source": "computed", "model": encoder.model_id, "camera": options.camera, "stride": config.stride,
                        "normalise": config.normalise, "references": references_summary(result),
                        "metrics": progress_metrics(result.progress, labels, tasks)}
    for run in cfg.runs:
        arrays, attrs = store.read_derived(run)
        per_episode = np.split(arrays["progress"].astype(np.float64), store.episode_ends[:-1])
        curves[run] = per_episode
        report[run] = {"source": f"derived/{run}", "provenance": attrs.get("provenance", {}),
                       "metrics": progress_metrics(per_episode, labels, tasks)}
    out = Path(cfg.out or Path("outputs") / "reward_bench" / Path(cfg.store).name)
    out.mkdir(parents=True, exist_ok=True)
    pngs = plot_progress_curves(curves, labels, tasks, out)
    doc = {"dataset": str(cfg.store), "camera": cfg.camera, "episodes": len(episodes),
           "successes": sum(s is True for s in labels), "failures": sum(s is False for s in labels),
           "results": report, "plots": [p.name for p in pngs]}
    (out / "report.json").write_text(json.dumps(doc, indent=2))
    return BenchReport(doc=doc, out=out, plots=pngs)
