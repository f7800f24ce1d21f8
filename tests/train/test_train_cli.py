"""`srpo train awr` on the command line: help and user-facing errors (exit code 2, message, no traceback)."""

import pytest

from srpo.cli import main


def test_help_explains_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "awr", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--reward-run", "--weighting", "--beta", "--w-max", "--resume", "--val-fraction", "--pretrained"):
        assert option in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--policy", "act"], "needs --reward-run"),
        (["--policy", "act", "--reward-run", "nope"], "run `srpo reward compute` first"),
        (["--policy", "pi7"], "unknown policy 'pi7'"),
        (["--policy", "act", "--weighting", "uniform", "--policy-option", "chunk_size"], "KEY=VALUE"),
    ],
)
def test_bad_inputs_exit_2_with_a_message(make_store, tmp_path, capsys, extra, message):
    store = make_store(lengths=(4, 4), successes=(True, False), size=(16, 16))
    code = main(["train", "awr", str(store.path), "--out", str(tmp_path / "out"), "--num-workers", "0", *extra])
    assert code == 2
    assert message in capsys.readouterr().err
