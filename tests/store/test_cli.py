"""`srpo data info|validate|label` through the real CLI entry point."""

import json

import numpy as np
import zarr

from srpo.cli import main
from srpo.store import CameraSpec, EpisodeStore


def _store(tmp_path, record_random_store):
    intr = {"fx": 615.2, "fy": 615.9, "cx": 320.1, "cy": 240.3, "distortion": [0] * 5, "model": "inverse_brown_conrady"}
    ext = {"frame": "ee", "T": [[1, 0, 0, 0.05], [0, 1, 0, 0], [0, 0, 1, 0.1], [0, 0, 0, 1]]}
    calib = {"file": "calibration/files/hand_eye.yaml", "date": "2026-11-01", "robot": "xarm7",
             "cameras": {"camera0": {"intrinsics": {"source": "board", "rms_px": 0.21}}}}
    store = record_random_store(tmp_path / "s.zarr", (4, 3, 5), (True, None, False), ("pick", "pick", "place"),
                                cameras=(CameraSpec("camera0", 8, 8, serial="0452", intrinsics=intr, extrinsics=ext),),
                                source="teleop", camera_offset=0.0, calibration=calib)
    store.write_derived("srpo_vjepa2", {"progress": np.zeros(12, np.float32)}, {"encoder": "vjepa2", "alpha": 0.8})
    return store.path


def test_info_text_and_json(tmp_path, record_random_store, capsys):
    path = _store(tmp_path, record_random_store)
    assert main(["data", "info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "episodes    3  steps 12" in text and "success 1  failure 1  unlabelled 1" in text
    assert "fx=615.20" in text and "translation [0.05, 0.0, 0.1] m" in text
    assert "calibration calibration/files/hand_eye.yaml" in text and "camera0: intrinsics board rms 0.21 px" in text
    assert "srpo_vjepa2" in text and '"alpha": 0.8' in text
    assert main(["data", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["tasks"] == {"pick": 2, "place": 1} and info["status"] == {"complete": 3}
    assert info["cameras"][0]["serial"] == "0452" and info["derived_runs"]["srpo_vjepa2"]["stale"] is False
    assert info["bytes_on_disk"] > 1000


def test_label_then_validate(tmp_path, record_random_store, capsys):
    path = _store(tmp_path, record_random_store)
    assert main(["data", "validate", str(path)]) == 0  # one unlabelled episode: a warning
    assert "WARNING [unlabelled]" in capsys.readouterr().out
    assert main(["data", "validate", str(path), "--strict"]) == 1
    assert main(["data", "label", str(path), "--episode", "1", "--success", "true"]) == 0
    assert EpisodeStore.open(path).success_labels().tolist() == [1, 1, 0]
    assert main(["data", "label", str(path), "--episode", "-1", "--unset"]) == 0
    assert EpisodeStore.open(path).success_labels().tolist() == [1, 1, -1]
    capsys.readouterr()
    assert main(["data", "label", str(path), "--episode", "7", "--success", "false"]) == 2
    assert "episode 7 does not exist" in capsys.readouterr().err


def test_validate_errors_json_and_repair(tmp_path, record_random_store, capsys):
    path = _store(tmp_path, record_random_store)
    group = zarr.open_group(str(path), mode="r+", zarr_format=2)
    group["data/action"][5, 0] = np.nan
    assert main(["data", "validate", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"] and {"code": "non_finite", "where": "data/action", "severity": "error",
                                 "message": "NaN/inf at episode 1 step 1"} in report["problems"]
    group["data/action"][5, 0] = 0
    for key in EpisodeStore.open(path).keys:  # an interrupted recording: 2 pending steps
        arr = group[f"data/{key}"]
        arr.resize((14, *arr.shape[1:]))
        arr[12:14] = 1 if "timestamp" not in key else np.array([5.0, 5.1])
    (path / "meta" / "success" / ".zarray.abcd.partial").write_text("{}")
    assert main(["data", "validate", str(path)]) == 1
    assert main(["data", "validate", str(path), "--repair", "truncate"]) == 0
    out = capsys.readouterr().out
    assert "repaired: removed meta/success/.zarray.abcd.partial" in out and "dropped 2 uncommitted steps" in out
    assert EpisodeStore.open(path).num_steps == 12 and not list(path.rglob("*.partial"))


def test_errors_for_non_stores(tmp_path, capsys):
    assert main(["data", "info", str(tmp_path)]) == 2
    assert "is not an episode store" in capsys.readouterr().err
    assert main(["data", "validate", str(tmp_path / "none")]) == 1
    assert "not_a_store" in capsys.readouterr().out


def test_bad_flags_exit_2_and_say_what_to_give(tmp_path, record_random_store, capsys):
    path = str(record_random_store(tmp_path / "s.zarr", (3,), (True,)).path)
    cases = [
        (["label", path, "--episode", "0"], "give exactly one of --success true|false and --unset"),
        (["label", path, "--episode", "0", "--success", "true", "--unset"], "give exactly one of"),
        (["label", path, "--success", "true"], "Missing required field(s) `episode`"),
        (["validate", path, "--repair"], "--repair needs a value"),
        (["validate", path, "--repair", "all"], "--repair takes recover or truncate, not 'all'"),
        (["to-lerobot", path, str(tmp_path / "out")], "Missing required field(s) `repo_id`"),
        (["from-rosbag", str(tmp_path / "o.zarr")], "give at least one BAG and the OUT store"),
        (["info", path, "--jsonn"], "did you mean --json"),
    ]
    for argv, message in cases:
        assert main(["data", *argv]) == 2, argv
        assert message in capsys.readouterr().err, argv
    assert EpisodeStore.open(path).success_labels().tolist() == [1]  # nothing was changed
