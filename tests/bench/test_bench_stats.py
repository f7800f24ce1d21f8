"""The offline benchmark's statistics: intervals, McNemar's exact test, the paired bootstrap, the verdict."""

import math

import pytest

from srpo_offline.bench_stats import binomial_two_sided, paired_comparison, rate, verdict, wilson_interval


def test_wilson_interval_matches_textbook_values():
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert rate([True, False, True, True]) == {"successes": 3, "episodes": 4, "rate": 0.75,
                                                "ci95": list(wilson_interval(3, 4))}


def test_exact_binomial_two_sided():
    assert binomial_two_sided(0, 0) == 1.0
    assert binomial_two_sided(5, 10) == 1.0
    assert binomial_two_sided(0, 5) == pytest.approx(2 / 32)  # both tails of a fair coin
    assert binomial_two_sided(1, 10) == pytest.approx(2 * 11 / 1024)
    assert binomial_two_sided(9, 10) == binomial_two_sided(1, 10)


def test_paired_comparison_counts_discordant_pairs_and_separates_a_real_gap():
    # seed 0: a wins 8 episodes b loses, loses none; seed 1: the same; concordant episodes carry no evidence
    a = {0: [True] * 10 + [False] * 10, 1: [True] * 10 + [False] * 10}
    b = {0: [True] * 2 + [False] * 18, 1: [True] * 2 + [False] * 18}
    c = paired_comparison(a, b, resamples=500)
    assert (c["a_only"], c["b_only"]) == (16, 0)
    assert c["difference"] == pytest.approx(0.4)
    assert c["mcnemar_p"] == pytest.approx(2 / 2**16)
    assert 0 < c["ci95"][0] < 0.4 < c["ci95"][1] < 0.7
    assert (c["seed_wins"], c["seed_losses"]) == (2, 0) and c["sign_p"] == pytest.approx(0.5)
    assert verdict("A", "B", c).startswith("A beat B by +40 points")
    back = paired_comparison(b, a, resamples=500)
    assert verdict("B", "A", back).startswith("A beat B by 40 points")


def test_identical_methods_are_inconclusive():
    a = {0: [True, False, True, False], 1: [False, False, True, True]}
    c = paired_comparison(a, dict(a), resamples=200)
    assert c["difference"] == 0 and c["mcnemar_p"] == 1.0 and c["ci95"] == [0.0, 0.0]
    assert verdict("A", "B", c).startswith("inconclusive")
    empty = paired_comparison({}, {}, resamples=10)
    assert math.isnan(empty["difference"]) and empty["mcnemar_p"] == 1.0
