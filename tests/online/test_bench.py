"""`srpo bench online --preset reduced`: every (reward, seed) run, the report and its plots, at CI size."""

import json

import pytest

from srpo.cli import main


@pytest.mark.timeout(600)
def test_reduced_bench_writes_a_consistent_report(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "online", "--preset", "reduced", "--output-dir", str(out)]) == 0
    assert "report.md" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    runs, summary = report["runs"], report["summary"]
    assert sorted((r["reward"], r["seed"]) for r in runs) == [(w, s) for w in ("grpo", "oracle", "srpo")
                                                                 for s in (0, 1)]
    budget = report["config"]["env_steps"]
    for r in runs:
        steps = [m["env_steps"] for m in r["train"]]
        assert steps[-1] >= budget and all(s < budget for s in steps[:-1])  # trained until the budget was spent
        for m in r["train"]:
            if r["reward"] == "grpo":  # binary rewards: signal only in groups with mixed outcomes
                assert m["signal_fraction"] == m["signal_fraction_binary"]
            if r["reward"] == "srpo":  # shaping can only add signal to the same trajectories
                assert m["signal_fraction"] >= m["signal_fraction_binary"]
            if r["reward"] == "oracle" and "oracle_spearman_failures" in m:
                assert m["oracle_spearman_failures"] == pytest.approx(1.0)
    # every reward of a seed starts from the same cached BC policy: identical greedy warm-start evaluation
    for seed in (0, 1):
        starts = {r["eval"][0]["success_rate"] for r in runs if r["seed"] == seed}
        assert len(starts) == 1
    assert set(summary) == {"grpo", "srpo", "oracle"} and summary["oracle"]["signal_fraction"] > 0
    table = (out / "report.md").read_text()
    assert all(f"| {w} |" in table for w in ("grpo", "srpo", "oracle"))
    for name in ("curves_env_steps.png", "curves_updates.png"):
        assert (out / name).stat().st_size > 5000
