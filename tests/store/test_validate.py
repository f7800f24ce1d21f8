"""`validate_store` finds each kind of inconsistency, says where, and stays quiet on a clean store."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr

from srpo.store import EpisodeStore
from srpo.store.validate import repair_store, validate_store


@pytest.fixture(scope="module")
def clean_template(tmp_path_factory, record_random_store):
    """Episodes of 12, 15, 9 steps (ends 12, 27, 36), all labelled, camera timestamps monotonic."""
    path = tmp_path_factory.mktemp("validate") / "template.zarr"
    record_random_store(path, (12, 15, 9), (True, False, True), camera_offset=-0.01, flush_every=16)
    return path


@pytest.fixture
def clean(clean_template, tmp_path):
    """A fresh copy of the clean store, to corrupt."""
    return Path(shutil.copytree(clean_template, tmp_path / "store.zarr"))


def _codes(report, severity):
    return {(p.code, p.where) for p in report.problems if p.severity == severity}


def test_clean_store_has_no_problems(clean):
    report = validate_store(clean)
    assert report.ok and report.num_episodes == 3 and report.num_steps == 36
    assert [p.code for p in report.problems] == ["no_intrinsics", "no_intrinsics"]  # make_store sets none


def _g(path):
    return zarr.open_group(str(path), mode="r+", zarr_format=2)


def _replace(path, key, data):
    g = _g(path)
    del g[key]
    g.create_array(key, data=data, chunks=(1024, *data.shape[1:]))


CASES = {
    "short_array": (lambda p: _g(p)["data/action"].resize((30, 7)),
                    "error", "length_mismatch", "data/action", "30 rows but meta/episode_ends commits 36"),
    "uncommitted": (lambda p: _g(p)["data/camera0_rgb"].resize((38, 24, 32, 3)),
                    "error", "uncommitted_steps", "data/camera0_rgb", "2 rows after the last committed episode"),
    "dtype": (lambda p: _replace(p, "data/robot0_eef_pos", np.zeros((36, 3), np.float64)),
              "error", "bad_dtype", "data/robot0_eef_pos", "float64"),
    "shape": (lambda p: _replace(p, "data/action", np.zeros((36, 6), np.float32)),
              "error", "bad_shape", "data/action", "(6,)"),
    "nan_action": (lambda p: _g(p)["data/action"].__setitem__((13, 2), np.nan),
                   "error", "non_finite", "data/action", "episode 1 step 1"),
    "inf_state": (lambda p: _g(p)["data/robot0_joint_pos"].__setitem__((35, 0), np.inf),
                  "error", "non_finite", "data/robot0_joint_pos", "episode 2 step 8"),
    "unlabelled": (lambda p: _g(p)["meta/success"].__setitem__(1, -1),
                   "warning", "unlabelled", "meta/success", "1 complete episodes have no success label (1)"),
    "bad_label": (lambda p: _g(p)["meta/success"].__setitem__(2, 5),
                  "error", "bad_value", "meta/success", "episodes 2"),
    "ends_decrease": (lambda p: _g(p)["meta/episode_ends"].__setitem__(1, 10),
                      "error", "non_monotonic", "meta/episode_ends", "decreases at episodes 1"),
    "timestamp_repeats": (lambda p: _g(p)["data/timestamp"].__setitem__(14, _g(p)["data/timestamp"][13]),
                          "error", "non_monotonic", "data/timestamp", "episode 1 step 2"),
    "meta_short": (lambda p: _g(p)["meta/task_index"].resize((2,)),
                   "error", "meta_length", "meta/task_index", "episodes 2..2 have no task_index"),
    "meta_long": (lambda p: _g(p)["meta/status"].resize((4,)),
                  "warning", "meta_length", "meta/status", "4 rows for 3 episodes"),
    "task_index": (lambda p: _g(p)["meta/task_index"].__setitem__(0, 3),
                   "error", "bad_value", "meta/task_index", "episodes 0"),
    "partial_file": (lambda p: (p / "data" / "action" / "0.1f2e.partial").write_bytes(b"x"),
                     "warning", "partial_files", None, "1 leftover temporary *.partial files (data/action/0.1f2e"),
    "missing_key": (lambda p: shutil.rmtree(p / "data" / "robot0_gripper_width"),
                    "error", "missing_array", "data/robot0_gripper_width", "float32"),
    "missing_frame": (lambda p: (p / "data" / "camera1_rgb" / "20.0.0.0").unlink(),
                      "warning", "missing_frames", "data/camera1_rgb", "1 of 36 frames have no chunk"),
    "bad_extrinsics": (lambda p: _g(p).attrs.update(cameras=[
        {**c, "extrinsics": {"frame": "base", "T": [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}}
        for c in _g(p).attrs["cameras"]]), "error", "bad_extrinsics", "camera0", "not orthonormal"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_inconsistency_is_found_and_explained(clean, case):
    corrupt, severity, code, where, text = CASES[case]
    corrupt(clean)
    report = validate_store(clean)
    found = [p for p in report.problems if p.code == code and (where is None or p.where == where)]
    assert found, f"{case}: not found in {[str(p) for p in report.problems]}"
    assert found[0].severity == severity and text in found[0].message, str(found[0])
    assert report.ok == (severity == "warning" and not report.errors)


def test_stale_derived_run_and_its_repair(clean):
    store = EpisodeStore.open(clean, mode="a")
    store.write_derived("srpo_pixel", {"progress": np.zeros(36, np.float32)}, {"encoder": "pixel"})
    assert validate_store(clean).ok and not validate_store(clean).warnings[2:]
    # a recorder killed mid-episode after the reward ran: 4 steps pending, the derived run goes stale
    g = _g(clean)
    for key in store.keys:
        arr = g[f"data/{key}"]
        arr.resize((40, *arr.shape[1:]))
        arr[36:40] = 1 if key != "timestamp" else np.arange(4) + 100.0
    report = validate_store(clean)
    assert ("uncommitted_steps", "data/action") in _codes(report, "error")
    done = repair_store(clean, uncommitted="recover")
    assert done == ["recovered 4 uncommitted steps as incomplete episode 3"]
    report = validate_store(clean)
    assert report.ok and report.num_episodes == 4
    stale = [p for p in report.warnings if p.code == "stale_derived"]
    assert stale and "computed for 3 episodes / 36 steps, the store now holds 4 / 40" in stale[0].message


def test_not_a_store(tmp_path):
    assert validate_store(tmp_path / "nope").problems[0].code == "not_a_store"
    (tmp_path / "file").write_text("x")
    assert "is a file" in validate_store(tmp_path / "file").problems[0].message
    (tmp_path / "dir").mkdir()
    assert "no .zgroup" in validate_store(tmp_path / "dir").problems[0].message
    (tmp_path / "v3").mkdir()
    (tmp_path / "v3" / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group"}))
    assert not validate_store(tmp_path / "v3").ok
