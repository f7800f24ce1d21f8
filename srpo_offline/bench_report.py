"""The offline benchmark's report (OUT/report.md, OUT/summary.json, OUT/*.png) from its finished cells.

Sections: setup and data, success rates (per seed and pooled, 95 % Wilson intervals), paired comparisons
against uniform BC (and AWR-SRPO against filtered BC), the sanity conditions, reward fidelity of SRPO
progress against the oracle, the clean-data bar, and wall times. Every verdict is one plain sentence from
`srpo_offline.bench_stats.verdict`, which says "inconclusive" when the data do not separate two methods.
"""

import json
from pathlib import Path

import numpy as np

from srpo_offline.bench_stats import paired_comparison, rate, verdict

SECTIONS = ("Setup", "Success rates", "Paired comparisons", "Sanity checks", "Reward fidelity", "Clean-data bar",
            "Wall times")
LABELS = {"uniform": "uniform BC", "filtered": "filtered BC", "awr_srpo": "AWR-SRPO", "awr_oracle": "AWR-oracle",
          "awr_success": "AWR-success"}


CONTROL = "state"  # the encoder on privileged state: a control, named as such wherever it is reported


def encoder_label(encoder: str) -> str:
    return f"{encoder} (control: privileged state)" if encoder == CONTROL else encoder


def label(spec: str) -> str:
    head, _, estimator = spec.partition("@")
    name, _, encoder = head.partition(":")
    return (LABELS.get(name, name) + (f" [{encoder_label(encoder)}]" if encoder else "")
            + (f" ({estimator})" if estimator else ""))


def progress_runs(store) -> list[str]:
    """The store's SRPO progress runs: srpo (--encoder) and srpo-<encoder> (awr_srpo:ENCODER), not re-estimates."""
    return [r for r in store.derived_runs() if r == "srpo" or (r.startswith("srpo-") and "_" not in r)]


def outcomes_by_seed(cells, method: str) -> dict[int, list[bool]]:
    return {c.seed: list(c.outcomes) for c in cells if c.method == method}


def sanity(comparison: dict | None) -> str:
    """holds (significant and positive), not established (positive, not significant), fails, or not run."""
    if comparison is None:
        return "not run"
    if comparison["mcnemar_p"] < 0.05 and comparison["ci95"][0] > 0:
        return "holds"
    return "not established" if comparison["difference"] > 0 else "fails"


def fidelity_rows(out: Path, seeds) -> list[dict]:
    """Every SRPO progress run against oracle progress on each seed's store (`srpo_offline.fidelity.reward_fidelity`)."""
    from srpo.store import EpisodeStore
    from srpo_offline.fidelity import reward_fidelity

    rows = []
    for seed in seeds:
        path = out / f"seed{seed}" / "store.zarr"
        if path.exists():
            store = EpisodeStore.open(path, mode="r")
            for run in progress_runs(store):
                encoder = store.read_derived(run)[1].get("provenance", {}).get("encoder", "?")
                f = reward_fidelity(store, run, "oracle")
                rows.append({"seed": seed, "run": run, "encoder": encoder,
                             **{k: f[k] for k in ("spearman", "abs_error", "approach", "metrics")}})
    return rows


def _mean_of(rows, *path) -> float:
    values = []
    for r in rows:
        v = r
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        if v is not None:
            values.append(v)
    return float(np.mean(values)) if values else float("nan")


def _plot_success(summary: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    methods = list(summary["pooled"])
    rates = [summary["pooled"][m]["rate"] for m in methods]
    lo = [r - summary["pooled"][m]["ci95"][0] for m, r in zip(methods, rates)]
    hi = [summary["pooled"][m]["ci95"][1] - r for m, r in zip(methods, rates)]
    fig, ax = plt.subplots(figsize=(1.4 * len(methods) + 2, 3.5))
    ax.bar(range(len(methods)), rates, yerr=[lo, hi], capsize=4, color="#7a9cc6")
    for i, m in enumerate(methods):
        per_seed = [v["rate"] for v in summary["per_seed"][m].values()]
        ax.scatter([i] * len(per_seed), per_seed, color="k", s=10, zorder=3)
    ax.set_xticks(range(len(methods)), [label(m) for m in methods], rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate (pooled, 95 % CI; dots: seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_progress(out: Path, seed: int, path: Path, per_group: int = 4) -> None:
    """SRPO progress (dashed) against oracle progress (solid) for a few successes and failures of one seed."""
    import matplotlib.pyplot as plt

    from srpo.store import EpisodeStore

    store = EpisodeStore.open(out / f"seed{seed}" / "store.zarr", mode="r")
    ours, _ = store.read_derived("srpo")
    oracle, _ = store.read_derived("oracle")
    episodes = store.episodes()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for ax, want, title in ((axes[0], True, "successful episodes"), (axes[1], False, "failed episodes")):
        chosen = [e for e in episodes if e.success is want][:per_group]
        for k, e in enumerate(chosen):
            colour = f"C{k}"
            ax.plot(oracle["progress"][e.start:e.end], color=colour, lw=1.5)
            ax.plot(ours["progress"][e.start:e.end], color=colour, lw=1.2, ls="--")
        ax.set_title(f"{title} (solid: oracle, dashed: SRPO)")
        ax.set_xlabel("step")
    axes[0].set_ylabel("progress R")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def analyse(cells, methods) -> dict:
    """Per-seed and pooled rates, and paired comparisons, from the finished cells."""
    per_seed = {m: {s: rate(o) for s, o in sorted(outcomes_by_seed(cells, m).items())} for m in methods}
    pooled = {m: rate([x for o in outcomes_by_seed(cells, m).values() for x in o]) for m in methods}
    pairs = [(m, "uniform") for m in methods if m != "uniform"]
    if "awr_oracle" in methods and "filtered" in methods:
        pairs.append(("awr_oracle", "filtered"))  # can dense progress beat the label here at all?
    for m in methods:
        if m.startswith("awr_srpo"):
            pairs += [(m, b) for b in ("filtered", "awr_success", "awr_oracle") if b in methods]
    comparisons = {f"{a} vs {b}": paired_comparison(outcomes_by_seed(cells, a), outcomes_by_seed(cells, b))
                   for a, b in pairs if b in methods}
    return {"per_seed": per_seed, "pooled": pooled, "comparisons": comparisons}


def write_offline_report(cfg, out: Path, cells, bar: list[dict]) -> Path:
    from srpo.store import EpisodeStore

    methods, seeds = list(cfg.methods), list(cfg.seeds)
    summary = analyse(cells, methods)
    comparisons = summary["comparisons"]
    base = "uniform" if "uniform" in methods else None
    checks = {"(a) filtered BC beats uniform BC": sanity(comparisons.get("filtered vs uniform")),
              "(b) AWR-oracle beats uniform BC": sanity(comparisons.get("awr_oracle vs uniform"))}
    fidelity = fidelity_rows(out, seeds)
    summary.update(checks=checks, fidelity=fidelity, clean_bar=bar, config=json.loads((out / "config.json").read_text()))

    lines = ["# Offline benchmark: does progress-weighted regression beat imitation of everything?", "", "## Setup", ""]
    first = out / f"seed{seeds[0]}" / "store.zarr"
    if first.exists():
        prov = EpisodeStore.open(first, mode="r").root["derived"]["srpo"].attrs.get("provenance", {})
        lines.append(f"- task `{cfg.task}`, {cfg.episodes} recorded episodes per seed, operators `{cfg.operator}`, "
                     f"noise {cfg.expert_noise}; seeds {seeds}")
        lines.append(f"- SRPO progress: encoder `{prov.get('encoder')}` ({prov.get('model')}) on `{prov.get('camera')}`, "
                     f"stride {prov.get('stride')}; AWR beta {cfg.beta}, w_max {cfg.w_max}, default estimator "
                     f"`{cfg.estimator}`")
    lines.append(f"- policy: LeRobot plugin `chunk_mlp` on robot + privileged object state, {cfg.train_steps} steps, "
                 f"batch {cfg.batch_size}; {cfg.eval_episodes} evaluation episodes per policy, the same initial "
                 "states for every method of a seed")
    for seed in seeds:
        store = out / f"seed{seed}" / "store.zarr"
        if store.exists():
            eps = EpisodeStore.open(store, mode="r").episodes()
            ops: dict[str, list[int]] = {}
            for e in eps:
                ops.setdefault(e.meta.get("operator", "?"), [0, 0])[0 if e.success else 1] += 1
            text = ", ".join(f"{k} {v[0]}/{v[0] + v[1]}" for k, v in sorted(ops.items()))
            lines.append(f"- seed {seed} data: {sum(e.success is True for e in eps)}/{len(eps)} successful ({text})")

    lines += ["", "## Success rates", "", "| method | " + " | ".join(f"seed {s}" for s in seeds) + " | pooled (95 % CI) |",
              "|---|" + "---|" * (len(seeds) + 1)]
    for m in methods:
        row = [f"{summary['per_seed'][m][s]['rate']:.2f}" if s in summary["per_seed"][m] else "–" for s in seeds]
        p = summary["pooled"][m]
        lines.append(f"| {label(m)} | " + " | ".join(row) +
                     f" | {p['successes']}/{p['episodes']} = {p['rate']:.2f} ({p['ci95'][0]:.2f}–{p['ci95'][1]:.2f}) |")
    if cfg.plots and any(summary["pooled"][m]["episodes"] for m in methods):
        _plot_success(summary, out / "success_by_method.png")
        lines += ["", "![success by method](success_by_method.png)"]

    lines += ["", "## Paired comparisons", "",
              "Same initial states per seed: McNemar's exact test on discordant episodes, a paired bootstrap 95 % "
              "interval of the difference, and a sign test over seeds.", "",
              "| comparison | difference | 95 % CI | McNemar p | seeds won / lost | verdict |", "|---|---|---|---|---|---|"]
    for key, c in comparisons.items():
        a, b = key.split(" vs ")
        lines.append(f"| {label(a)} − {label(b)} | {100 * c['difference']:+.0f} pts | {100 * c['ci95'][0]:+.0f} to "
                     f"{100 * c['ci95'][1]:+.0f} | {c['mcnemar_p']:.3g} | {c['seed_wins']} / {c['seed_losses']} | "
                     f"{verdict(label(a), label(b), c)} |")
    headline = comparisons.get("awr_srpo vs uniform")
    if headline is not None:
        summary["headline"] = verdict("AWR-SRPO", "uniform BC", headline)
        lines += ["", f"**Headline:** {summary['headline']}"]

    lines += ["", "## Sanity checks", ""]
    lines += [f"- {name}: **{state}**" for name, state in checks.items()]
    if base is not None and checks["(b) AWR-oracle beats uniform BC"] == "holds" and headline is not None \
            and sanity(headline) != "holds":
        lines.append("- (b) holds and AWR-SRPO does not beat uniform BC: the gap belongs to the reward (see the "
                     "fidelity section).")

    lines += ["", "## Reward fidelity", "",
              "SRPO progress against oracle progress per episode: Spearman correlation (successes / failures), "
              "mean |R − R_oracle|, and the share of the episode's rise that happens in the approach phase "
              "(oracle: 1/3 on lift, 1/4 on place).", "",
              "| seed | encoder | Spearman (succ.) | Spearman (fail.) | abs. error | approach share SRPO | approach share oracle | "
              "SC SRPO / oracle | Mono SRPO / oracle | SMD SRPO / oracle |", "|---|---|---|---|---|---|---|---|---|---|"]

    def fmt(v) -> str:
        return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.2f}"

    for r in fidelity:
        m = {k: v["mean"] for k, v in r["metrics"].items()}
        approach = r["approach"] or {}
        lines.append(f"| {r['seed']} | {encoder_label(r['encoder'])} | {fmt(r['spearman']['success']['mean'])} | {fmt(r['spearman']['failure']['mean'])} | "
                     f"{fmt(r['abs_error']['success']['mean'])} / {fmt(r['abs_error']['failure']['mean'])} | "
                     f"{fmt(approach.get('run_share', {}).get('success', {}).get('mean'))} | "
                     f"{fmt(approach.get('oracle_share', {}).get('success', {}).get('mean'))} | "
                     f"{fmt(m['run'].get('SC'))} / {fmt(m['oracle'].get('SC'))} | "
                     f"{fmt(m['run'].get('Mono'))} / {fmt(m['oracle'].get('Mono'))} | "
                     f"{fmt(m['run'].get('SMD'))} / {fmt(m['oracle'].get('SMD'))} |")
    if fidelity:
        main = [r for r in fidelity if r["run"] == "srpo"]
        summary["fidelity_mean"] = {"spearman_success": _mean_of(main, "spearman", "success", "mean"),
                                    "spearman_failure": _mean_of(main, "spearman", "failure", "mean")}
    if cfg.plots and fidelity:
        _plot_progress(out, fidelity[0]["seed"], out / "progress_vs_oracle.png")
        lines += ["", "![SRPO progress against oracle progress](progress_vs_oracle.png)"]

    lines += ["", "## Clean-data bar", "", "Uniform BC on clean expert data against the expert's own success rate "
              "(bar: ≥ 80 %)."]
    if bar:
        lines += ["", "| task | expert | uniform BC | ratio | bar |", "|---|---|---|---|---|"]
        lines += [f"| {r['task']} | {r['expert_rate']:.2f} | {r['bc_rate']:.2f} | {r['ratio']:.2f} | "
                  f"{'passed' if r['passed'] else 'FAILED'} |" for r in bar]
    else:
        lines += ["", "Not run in this benchmark (no `--clean-tasks`)."]

    lines += ["", "## Wall times", "", "| method | train s (mean) | eval s (mean) | ESS fraction (mean) |", "|---|---|---|---|"]
    for m in methods:
        mine = [c for c in cells if c.method == m]
        if mine:
            lines.append(f"| {label(m)} | {np.mean([c.train_seconds for c in mine]):.0f} | "
                         f"{np.mean([c.eval_seconds for c in mine]):.0f} | {np.mean([c.ess_fraction for c in mine]):.2f} |")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    return path
