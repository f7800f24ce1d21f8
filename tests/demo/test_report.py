import numpy as np
import pytest

from srpo_offline.demo.report import (
    SECTIONS,
    DemoReport,
    PolicyResult,
    two_proportion_p_value,
    wilson_interval,
    write_report,
)


def test_wilson_interval_matches_textbook_values():
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_two_proportion_test():
    assert two_proportion_p_value(10, 20, 10, 20) == pytest.approx(1.0)
    # 18/20 vs 6/20: z = 0.6 / sqrt(0.6*0.4*0.1) = 3.873 -> p = 1.07e-4
    assert two_proportion_p_value(18, 20, 6, 20) == pytest.approx(1.075e-4, rel=0.01)
    assert two_proportion_p_value(0, 5, 0, 5) == 1.0


def test_report_has_every_section_with_finite_numbers(tmp_path):
    rng = np.random.default_rng(0)
    report = DemoReport(task="lift", encoder="pixel", encoder_note="test", policy_type="act", n_episodes=4,
                        n_success=2, stage_seconds={"record": 1.5, "train": 2.0},
                        progress_curves=[(np.linspace(0, 1, 20), True), (np.full(15, 0.2), False)],
                        advantages=rng.normal(size=100), weights=np.exp(rng.normal(size=100)).clip(0, 20),
                        results=[PolicyResult("awr", 0, 7, 10, [1.0, 0.5]), PolicyResult("uniform", 0, 4, 10, [1.0, 0.6])])
    path = write_report(report, tmp_path)
    text = path.read_text()
    for section in SECTIONS:
        assert f"## {section}" in text
    for png in ("progress_curves", "advantages", "training_curves", "success_rates"):
        assert (tmp_path / f"{png}.png").stat().st_size > 1000
    assert "| **awr, pooled** | all | 7 | 10 | 0.70 |" in text
    assert "nan" not in text.lower()
