"""`srpo libero` argument handling that must fail fast with a message (no env or model is built)."""

from srpo.cli import main


def test_bad_task_list_and_missing_libero90_policy_fail_with_a_message(capsys):
    assert main(["libero", "train", "--tasks", "0,x", "--device", "cpu"]) == 2
    assert "comma-separated task ids" in capsys.readouterr().err
    assert main(["libero", "eval", "--suite", "90", "--device", "cpu"]) == 2
    assert "pass --policy" in capsys.readouterr().err
