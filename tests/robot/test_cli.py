"""`srpo robot record` / `deploy` through the real CLI entry point."""

from srpo.cli import main
from srpo.store import EpisodeStore


def test_record_and_deploy_cli(tmp_path, tiny_act, capsys):
    out = tmp_path / "cli.zarr"
    assert main(["robot", "record", "--episodes", "2", "--out", str(out), "--image-size", "32", "32",
                 "--expert-noise", "0", "--seed", "4"]) == 0
    assert "2/2 successful" in capsys.readouterr().out
    assert EpisodeStore.open(out).num_episodes == 2
    assert main(["robot", "deploy", "--policy", tiny_act, "--episodes", "1", "--max-steps", "10"]) == 0
    assert "success rate 0.000 over 1 episodes" in capsys.readouterr().out


def test_cli_errors_say_what_to_do(tmp_path, capsys):
    assert main(["robot", "record", "--task", "juggle", "--out", str(tmp_path / "x.zarr")]) == 2
    assert "choose one of" in capsys.readouterr().err
    assert main(["robot", "deploy", "--policy", str(tmp_path)]) == 2
    assert "not a LeRobot policy checkpoint" in capsys.readouterr().err
