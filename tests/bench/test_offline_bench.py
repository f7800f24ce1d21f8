"""A reduced `srpo bench offline` end to end: record, score (SRPO, oracle, success), train every method,
deploy on shared initial states, report every section with finite numbers; a rerun resumes."""

import json
import math
import re

import numpy as np
import pytest

from srpo.errors import UserFacingError
from srpo.store import EpisodeStore
from srpo_offline.bench_report import SECTIONS
from srpo_offline.offline_bench import METHODS, OfflineBenchConfig, parse_method, run_offline_bench

METHOD_SPECS = ("uniform", "filtered", "awr_srpo", "awr_oracle", "awr_success", "awr_srpo@paper",
                "awr_srpo:learned@shaped", "awr_srpo:state")  # the default encoder (pixel: no V-JEPA 2 weights here), the fitted ones


def test_method_specs():
    assert parse_method("awr_srpo@paper", "to_go") == (METHODS["awr_srpo"], "paper")
    assert parse_method("awr_oracle", "gae") == (METHODS["awr_oracle"], "gae")
    assert parse_method("filtered", "to_go") == (METHODS["filtered"], None)
    assert parse_method("awr_success", "to_go") == (METHODS["awr_success"], "final")  # a label has no increments
    method, estimator = parse_method("awr_srpo:state@paper", "gae")
    assert (method.reward, method.encoder, estimator) == ("srpo-state", "state", "paper")
    for bad in ("nope", "uniform@paper", "awr_srpo@bogus", "awr_srpo:nope", "filtered:state"):
        with pytest.raises(UserFacingError):
            parse_method(bad, "to_go")


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "offline"
    # a clean expert and an operator that always lets go too early: both labels occur in 8 episodes
    cfg = OfflineBenchConfig(out=str(out), task="lift", seeds=(0,), episodes=8, operator="expert:0.5,early_release:0.5",
                             expert_noise=0.3, methods=METHOD_SPECS, train_steps=20, batch_size=16, eval_episodes=2,
                             clean_tasks=("lift",), clean_episodes=4, stride=4, fit_steps=20, encoder="auto", estimator="gae")
    return cfg, run_offline_bench(cfg)


def test_report_has_every_section_with_finite_numbers(bench):
    cfg, report = bench
    text = report.read_text()
    for section in SECTIONS:
        assert f"## {section}" in text
    assert not re.search(r"\b(nan|inf)\b", text.lower())
    summary = json.loads((report.parent / "summary.json").read_text())
    for spec in METHOD_SPECS:
        pooled = summary["pooled"][spec]
        assert pooled["episodes"] == 2 and 0 <= pooled["successes"] <= 2
        assert pooled["ci95"][0] <= pooled["rate"] <= pooled["ci95"][1]
    for name, c in summary["comparisons"].items():
        assert math.isfinite(c["difference"]) and 0 <= c["mcnemar_p"] <= 1, name
        assert c["ci95"][0] <= c["difference"] <= c["ci95"][1]
    assert set(summary["checks"].values()) <= {"holds", "not established", "fails"}
    assert summary["headline"].startswith("inconclusive") or " beat " in summary["headline"]
    assert {r["encoder"] for r in summary["fidelity"]} == {"pixel", "learned", "state"}  # side by side
    assert "state (control: privileged state)" in text
    for fidelity in summary["fidelity"]:
        assert -1 <= fidelity["spearman"]["success"]["mean"] <= 1
        assert 0 <= fidelity["abs_error"]["success"]["mean"] <= 1
    bar = summary["clean_bar"][0]
    assert bar["task"] == "lift" and 0 < bar["expert_rate"] <= 1 and 0 <= bar["bc_rate"] <= 1
    for png in ("success_by_method.png", "progress_vs_oracle.png"):
        assert (report.parent / png).stat().st_size > 1000


def test_every_method_trained_on_the_same_store_with_its_own_weights(bench):
    cfg, report = bench
    store = EpisodeStore.open(report.parent / "seed0" / "store.zarr", mode="r")
    assert store.num_episodes == 8
    assert {e.meta["operator"] for e in store.episodes()} == {"expert", "early_release"}
    runs = set(store.derived_runs())
    assert {"srpo", "oracle", "srpo_gae", "oracle_gae", "success_final", "srpo_paper"} <= runs
    success, _ = store.read_derived("success_final")
    for e in store.episodes():  # the trajectory-level reward: the label at every step, successes weighted up
        assert set(success["progress"][e.start:e.end].tolist()) == {float(e.success is True)}
        assert (success["weight"][e.start:e.end] > 1).all() == (e.success is True)
    logs = {spec: json.loads((report.parent / "seed0" / spec.replace("@", "-") / "log.json").read_text())["config"]
            for spec in METHOD_SPECS}
    assert logs["filtered"]["success_only"] and not logs["uniform"]["success_only"]
    assert logs["awr_srpo@paper"]["reward_run"] == "srpo_paper"
    assert logs["awr_srpo:learned@shaped"]["reward_run"] == "srpo-learned_shaped"
    shaped, _ = store.read_derived("srpo-learned_shaped")
    done = [e.end - 1 for e in store.episodes() if e.success is True]  # the trajectory reward 1.0 ends a success
    assert (shaped["weight"][done] > np.median(shaped["weight"])).all()
    assert logs["awr_oracle"]["reward_run"] == "oracle_gae"
    assert all(c["environment_state_keys"] == ["object0_pos", "object0_quat"] and not c["images"]
               for c in logs.values())


def test_fitted_encoders_saw_only_the_seeds_training_episodes(bench):
    """The leakage guard: each fitted encoder was fitted on this seed's recorded store, on exactly its episodes
    (the hash of their frames / state and labels); evaluation rollouts are never stored there."""
    from srpo_offline.encoders.fitting import FitConfig, data_hash, read_fit_data

    cfg, report = bench
    path = report.parent / "seed0" / "store.zarr"
    store = EpisodeStore.open(path, mode="r")
    assert store.num_episodes == cfg.episodes  # nothing from deployment was appended
    for run, encoder in (("srpo-learned", "learned"), ("srpo-state", "state")):
        prov = store.read_derived(run)[1]["provenance"]
        fit = prov["fit"]
        assert prov["encoder"] == encoder and fit["store"] == str(path)
        assert fit["episodes"] == list(range(cfg.episodes))
        seen = read_fit_data(FitConfig(store=str(path), encoder=encoder, camera=fit["settings"]["camera"]))
        assert fit["data_hash"] == data_hash(seen)
    assert "fit" not in store.read_derived("srpo")[1]["provenance"]  # pixel is not fitted


def test_a_rerun_resumes_without_training_again(bench):
    cfg, report = bench
    lines = (report.parent / "results.jsonl").read_text().splitlines()
    run_offline_bench(cfg)
    assert (report.parent / "results.jsonl").read_text().splitlines() == lines


def test_workers_below_one_say_what_to_pass(tmp_path):
    with pytest.raises(UserFacingError, match="--workers 0: give 1"):
        run_offline_bench(OfflineBenchConfig(out=str(tmp_path / "b"), workers=0))
    assert not (tmp_path / "b").exists()  # refused before any work
