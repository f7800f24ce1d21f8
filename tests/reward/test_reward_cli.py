"""`srpo reward compute` and `srpo reward bench` end to end on a small store."""

import json

import numpy as np
import pytest

from srpo.cli import main
from srpo.store import EpisodeStore


@pytest.fixture
def store(make_store):
    s = make_store(lengths=(12, 15, 9, 10), successes=(True, False, True, None), tasks=["a", "a", "a", "b"])
    return s.path


def test_compute_stores_runs_with_provenance_and_keeps_reruns_apart(store, tiny_vjepa2, capsys):
    assert main(["reward", "compute", str(store), "--encoder", "vjepa2", "--model", tiny_vjepa2,
                 "--stride", "3", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "run name: srpo_vjepa2" in out
    s = EpisodeStore.open(store)
    arrays, attrs = s.read_derived("srpo_vjepa2")
    assert set(arrays) >= {"progress", "increment", "advantage", "weight"}
    assert all(a.shape == (46,) and a.dtype == np.float32 for a in arrays.values())
    prov = attrs["provenance"]
    assert prov["encoder"] == "vjepa2" and prov["model"] == tiny_vjepa2 and prov["stride"] == 3
    assert prov["unlabelled"] == [3] and prov["unreferenced"] == [3] and prov["version"] == 1
    assert prov["references"]["a"]["episodes"] == [0, 2]
    p = arrays["progress"]
    assert np.all((p[:36] >= 0) & (p[:36] <= 1)) and np.isnan(p[36:]).all()  # task b has no success
    assert np.all(arrays["weight"][36:] == 1.0) and np.all(arrays["weight"] <= 20.0)
    assert np.all(arrays["increment"][[0, 12, 27]] == 0.0)  # D(i, 0) = 0 at each episode start
    # advantages are standardised over the scored steps
    a = arrays["advantage"][:36]
    assert abs(a.mean()) < 1e-5 and abs(a.std() - 1.0) < 1e-4
    # same name again: refused, with the way out
    assert main(["reward", "compute", str(store), "--encoder", "vjepa2", "--model", tiny_vjepa2]) == 2
    assert "--run-name" in capsys.readouterr().err
    assert main(["reward", "compute", str(store), "--encoder", "pixel", "--run-name", "px", "--beta", "0.5"]) == 0
    s = EpisodeStore.open(store)
    assert s.derived_runs() == ["px", "srpo_vjepa2"]
    assert s.read_derived("px")[1]["provenance"]["beta"] == 0.5
    assert s.read_derived("srpo_vjepa2")[1]["provenance"]["beta"] == 1.0


def test_bench_writes_report_and_plots(store, tiny_vjepa2, tmp_path, capsys):
    assert main(["reward", "compute", str(store), "--encoder", "pixel"]) == 0
    out = tmp_path / "bench"
    assert main(["reward", "bench", str(store), "--encoder", "vjepa2", "--model", tiny_vjepa2, "--encoder",
                 "pixel", "--run", "srpo_pixel", "--stride", "4", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["results"]) == {"vjepa2", "pixel", "srpo_pixel"}
    for r in report["results"].values():
        assert set(r["metrics"]["mean"]) == {"SC", "Mono", "MMD", "JS", "SMD"}
        assert r["metrics"]["per_task"]["a"]["n_success"] == 2
    assert len(list(out.glob("progress_*.png"))) == 2
    assert "SC" in capsys.readouterr().out


def test_bad_input_messages(store, make_store, capsys):
    assert main(["reward", "compute", str(store), "--encoder", "pixel", "--camera", "camera7"]) == 2
    assert "choose --camera" in capsys.readouterr().err
    unlabelled = make_store(lengths=(5, 6), successes=(None, False), name="u.zarr")
    assert main(["reward", "compute", str(unlabelled.path), "--encoder", "pixel"]) == 2
    assert "no episode labelled successful" in capsys.readouterr().err
    assert main(["reward", "bench", str(store)]) == 2
