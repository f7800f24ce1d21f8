"""`srpo demo` is the offline benchmark, reduced: through the CLI, it ends by saying who won, or that the
evidence is inconclusive."""

import json

from srpo.cli import main
from srpo_offline.demo import DemoConfig


def test_demo_defaults_are_the_reduced_benchmark():
    cfg = DemoConfig()
    assert cfg.methods == ("uniform", "filtered", "awr_srpo", "awr_oracle") and len(cfg.seeds) == 3
    assert cfg.clean_tasks == () and cfg.out == "outputs/demo"
    assert (cfg.task, cfg.encoder, cfg.estimator, cfg.workers) == ("place", "learned", "shaped", 2)


def test_demo_through_the_cli_states_a_verdict(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--task", "lift", "--seeds", "0", "1", "--workers", "2", "--episodes", "6", "--operator",
                 "expert:0.5,early_release:0.5", "--expert-noise", "0.3", "--methods", "uniform", "awr_srpo",
                 "--train-steps", "10", "--batch-size", "8", "--eval-episodes", "2", "--stride", "4", "--fit-steps", "20"])
    assert code == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert f"headline: {summary['headline']}" in printed
    assert summary["headline"].startswith("inconclusive") or " beat " in summary["headline"]
    assert (out / "report.md").is_file() and "clean_bar" in summary and summary["clean_bar"] == []
    cells = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted((c["seed"], c["method"]) for c in cells) == [(s, m) for s in (0, 1) for m in ("awr_srpo", "uniform")]
    assert summary["pooled"]["uniform"]["episodes"] == 4  # both seeds' processes reached the report
