"""`srpo bench online --preset reduced`: every (arm, seed) run, the report, its plots and diagnostics, at CI size."""

import dataclasses
import json
import math

import pytest

from srpo.cli import main
from srpo_online_sim.sim_bench import OnlineBenchConfig, finished_run

ARMS = ("grpo", "oracle", "shuffled", "srpo:learned")


def numbers(value):
    """Every number inside a nested summary row."""
    if isinstance(value, dict):
        for v in value.values():
            yield from numbers(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from numbers(v)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield value


@pytest.mark.timeout(600)
def test_reduced_bench_writes_a_consistent_report(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "online", "--preset", "reduced", "--output-dir", str(out)]) == 0
    assert "report.md" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    runs, summary = report["runs"], report["summary"]
    assert sorted((r["reward"], r["seed"]) for r in runs) == [(w, s) for w in ARMS for s in (0, 1)]
    assert len(list((out / "encoders").glob("learned-*.pt"))) == 2  # fitted once per seed on its demonstrations
    budget = report["config"]["env_steps"]
    for r in runs:
        steps = [m["env_steps"] for m in r["train"]]
        assert steps[-1] >= budget and all(s < budget for s in steps[:-1])  # trained until the budget was spent
        for m in r["train"]:
            if r["reward"] in ("grpo", "shuffled"):  # binary rewards: signal only in groups with mixed outcomes
                assert m["signal_fraction"] == m["signal_fraction_binary"]
            if r["reward"] == "srpo:learned":  # shaping can only add signal to the same trajectories
                assert m["signal_fraction"] >= m["signal_fraction_binary"]
            if r["reward"] == "oracle" and "oracle_spearman_failures" in m:
                assert m["oracle_spearman_failures"] == pytest.approx(1.0)
            for key in ("kl_full", "entropy_dim0", "entropy_dim3", "clip_fraction", "grad_norm", "tail_mass"):
                assert math.isfinite(m[key])  # the update's diagnostics, every update
            assert 0 < m["entropy_dim0"] <= math.log(16) + 1e-6 and m["kl_full"] >= 0
        # the headline evaluation: 4 states x 2 samples at the rollout temperature; greedy at the start and end
        assert all(0 <= e["success_rate"] <= 1 and "binary_signal_fraction" in e for e in r["eval"])
        assert "greedy_success" in r["eval"][0] and "greedy_success" in r["eval"][-1]
    for seed in (0, 1):  # every arm of a seed starts from the same cached BC policy and its one evaluation
        starts = {json.dumps(r["eval"][0], sort_keys=True) for r in runs if r["seed"] == seed}
        assert len(starts) == 1
    assert set(summary) == set(ARMS) and summary["oracle"]["signal_fraction"] > 0
    for arm in ("grpo", "oracle", "srpo:learned"):  # every arm against the control, paired by seed
        assert summary[arm]["minus_control"][0] == pytest.approx(
            summary[arm]["final"][0] - summary["shuffled"]["final"][0])
    for arm in ("oracle", "shuffled", "srpo:learned"):  # the gate's numbers: each arm against grpo, paired by seed
        assert summary[arm]["minus_grpo"][0] == pytest.approx(summary[arm]["final"][0] - summary["grpo"]["final"][0])
    assert "minus_grpo" not in summary["grpo"]
    for arm, row in summary.items():
        assert all(math.isfinite(x) for x in numbers(row)), arm
    table = (out / "report.md").read_text()
    assert all(f"| {w} |" in table for w in ARMS) and "Warm start (the regime)" in table
    assert "Update diagnostics" in table and "**The gate** (oracle − grpo" in table
    for name in ("curves_env_steps.png", "curves_updates.png", "curves_greedy.png", "diagnostics.png"):
        assert (out / name).stat().st_size > 5000

    # --resume reuses a finished run only under the same settings (another arm list or worker count is fine)
    config = OnlineBenchConfig.PRESETS["reduced"]
    run = next(r for r in runs if (r["reward"], r["seed"]) == ("oracle", 1))
    again = finished_run(out / "runs" / "oracle_seed1", dataclasses.replace(config, rewards="oracle", workers=1))
    assert again is not None and again["eval"] == run["eval"] and again["train"] == run["train"]
    assert finished_run(out / "runs" / "oracle_seed1", dataclasses.replace(config, env_steps=601)) is None
    assert finished_run(out / "runs" / "srpo-learned_seed1", dataclasses.replace(config, fit_steps=31)) is None


def test_help_prints_every_setting_with_its_comment(capsys):
    """Field comments are the --help text (draccus -> argparse, which formats `%`): a `%` in one broke the page."""
    from srpo.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["bench", "online", "--help"])
    assert exit_.value.code in (0, None)
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help text
    assert "--bc-epochs" in out and "once in 100 sampled rollouts" in out and "--demos-per-task" in out
