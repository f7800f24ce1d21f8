"""srpo.run_log: the one run logger (JSON lines, JSON summary, resume)."""

import json

from srpo.run_log import RunLog


def test_records_go_to_jsonl_and_summary_and_survive_resume(tmp_path):
    log = RunLog(tmp_path, header={"config": {"lr": 0.1}}, tensorboard=None)
    log.add("train", 1, {"loss": 2.5})
    log.add("val", 1, {"loss": 3.0, "weighted_loss": 2.0})
    log.add("train", 2, {"loss": 1.5})
    log.close()
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == [{"kind": "train", "step": 1, "loss": 2.5}, {"kind": "val", "step": 1, "loss": 3.0,
                     "weighted_loss": 2.0}, {"kind": "train", "step": 2, "loss": 1.5}]
    summary = json.loads((tmp_path / "log.json").read_text())
    assert summary["config"] == {"lr": 0.1} and [r["step"] for r in summary["train"]] == [1, 2]

    resumed = RunLog(tmp_path, header={"config": {"lr": 0.2}}, resume=True, tensorboard=None)
    resumed.add("train", 3, {"loss": 1.0})
    resumed.close()
    assert [r["loss"] for r in resumed.records("train")] == [2.5, 1.5, 1.0]
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 4
    assert json.loads((tmp_path / "log.json").read_text())["config"] == {"lr": 0.2}


def test_a_fresh_run_starts_a_new_file_and_disabled_writes_nothing(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "metrics.jsonl").write_text('{"kind": "train", "step": 9}\n')
    log = RunLog(tmp_path / "a", tensorboard=None)
    log.add("train", 1, {"loss": 1.0})
    log.close()
    assert len((tmp_path / "a" / "metrics.jsonl").read_text().splitlines()) == 1
    quiet = RunLog(tmp_path / "b", enabled=False, tensorboard=None)
    quiet.add("train", 1, {"loss": 1.0})
    quiet.close()
    assert not (tmp_path / "b").exists() and quiet.records("train") == [{"step": 1, "loss": 1.0}]
