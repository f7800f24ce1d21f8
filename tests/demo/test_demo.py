"""A reduced `srpo demo` end to end: record, score, train twice, deploy, report."""

import math
import re

from srpo.store import EpisodeStore
from srpo_offline.demo import DemoConfig, run_demo
from srpo_offline.demo.report import SECTIONS


def test_reduced_demo_runs_end_to_end_and_reports_every_section(tmp_path):
    config = DemoConfig(out=str(tmp_path / "demo"), episodes=6, max_steps=60, train_steps=3, batch_size=4,
                        seeds=(0,), eval_episodes=2, stride=4)
    report = run_demo(config)
    text = report.read_text()
    for section in SECTIONS:
        assert f"## {section}" in text
    assert not re.search(r"\b(nan|inf)\b", text.lower())
    # both policies were trained and deployed, each on the configured number of episodes
    rows = re.findall(r"^\| (awr|uniform) \| 0 \| (\d+) \| (\d+) \| ([0-9.]+) \| \[([0-9.]+), ([0-9.]+)\] \| ([0-9.]+) \|$",
                      text, flags=re.M)
    assert sorted(r[0] for r in rows) == ["awr", "uniform"]
    for _, successes, episodes, rate, lo, hi, loss in rows:
        assert int(episodes) == 2 and 0 <= int(successes) <= 2
        assert float(lo) <= float(rate) <= float(hi) and math.isfinite(float(loss))
    # the scores are stored in the episode store next to the untouched recording
    store = EpisodeStore.open(tmp_path / "demo" / "store.zarr")
    assert store.num_episodes == 6 and store.derived_runs() == ["srpo_pixel"]
    derived, attrs = store.read_derived("srpo_pixel")
    assert len(derived["weight"]) == store.num_steps and attrs["provenance"]["encoder"] == "pixel"
    assert "pixel-level baseline" in text  # the report says plainly that V-JEPA 2 was not available
    for png in ("progress_curves", "advantages", "training_curves", "success_rates"):
        assert (tmp_path / "demo" / f"{png}.png").stat().st_size > 1000
