"""`srpo`: one command-line tool, one subcommand group per job.

Each group lives in its own module exposing ``COMMANDS``: command name -> a function (or a "module:function"
string, imported only when that command runs) taking one frozen dataclass config (its fields, comments and defaults are the command's options; see `srpo.configs`) and
returning an exit code; a group that is one command (`srpo demo`) exposes that function as ``COMMAND``. Only the group named on the command line is imported, so `srpo --help` and
`srpo data info` never pay for torch or MuJoCo imports they do not use.
"""

import importlib
import sys
import typing

from srpo.configs import parse_config
from srpo.errors import UserFacingError

# group name -> (module with configure(parser), one-line help)
GROUPS: dict[str, tuple[str, str]] = {
    "data": ("srpo.store.cli", "inspect, validate, label and convert episode stores"),
    "robot": ("srpo.robot.cli", "record and deploy on the xArm 7 or the simulated xArm (one process, no ROS)"),
    "calib": ("calibration.cli", "camera intrinsics, hand-eye calibration and their check"),
    "reward": ("srpo_offline.reward_cli", "world-progress rewards, advantages, AWR weights, reward benchmark"),
    "train": ("srpo_offline.train_cli", "offline advantage-weighted regression of LeRobot policies (pi0, pi0-FAST)"),
    "libero": ("srpo_online_sim.cli", "online SRPO on LIBERO with OpenVLA*: train and evaluate"),
    "bench": ("srpo.bench_cli", "measured comparisons on the simulated xArm: offline AWR-SRPO vs BC, online SRPO vs GRPO"),
    "demo": ("srpo_offline.demo", "the offline benchmark, reduced (~10 min): record, score, train, deploy, verdict"),
}


def _command(entry):
    """A command function, or a "module:function" entry imported now (groups whose commands are heavy)."""
    if isinstance(entry, str):
        module, _, name = entry.partition(":")
        return getattr(importlib.import_module(module), name)
    return entry


def _group_help(group: str, commands: dict) -> str:
    lines = [f"usage: srpo {group} COMMAND [options]   (srpo {group} COMMAND --help for its options)", "",
             GROUPS[group][1], "", "commands:"]
    for name, entry in commands.items():
        lines.append(f"  {name:<14} {(_command(entry).__doc__ or '').strip().splitlines()[0]}")
    return "\n".join(lines)


def run_command(group: str, argv: list[str]) -> int:
    """`srpo GROUP COMMAND [options]` for a group module with COMMANDS."""
    commands = importlib.import_module(GROUPS[group][0]).COMMANDS
    if not argv or argv[0] in ("-h", "--help"):
        print(_group_help(group, commands))
        if argv:
            raise SystemExit(0)  # as argparse does for --help
        return 2
    name, rest = argv[0], argv[1:]
    if name not in commands:
        print(_group_help(group, commands), file=sys.stderr)
        print(f"\nsrpo {group}: error: unknown command {name!r}", file=sys.stderr)
        return 2
    return invoke(_command(commands[name]), rest, f"srpo {group} {name}")


def invoke(func, argv: list[str], prog: str) -> int:
    """Parse argv into `func`'s config and run it; a UserFacingError becomes a message and exit code 2."""
    config_cls = next(iter(typing.get_type_hints(func).values()))
    try:
        config = parse_config(config_cls, argv, prog=prog)
        return int(func(config) or 0)
    except UserFacingError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2


def _top_help() -> str:
    lines = ["usage: srpo GROUP [COMMAND] [options]   (srpo GROUP --help for its commands)", "",
             "SRPO: self-referential world-progress rewards and policy optimisation for VLA policies.", "",
             "groups:"]
    lines += [f"  {name:<8} {help_text}" for name, (_, help_text) in GROUPS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_top_help())
        return 0 if argv else 2
    group, rest = argv[0], argv[1:]
    if group not in GROUPS:
        print(_top_help(), file=sys.stderr)
        print(f"\nsrpo: error: unknown group {group!r}", file=sys.stderr)
        return 2
    module = importlib.import_module(GROUPS[group][0])
    if hasattr(module, "COMMAND"):  # a group that is one command (srpo demo)
        return invoke(module.COMMAND, rest, f"srpo {group}")
    return run_command(group, rest)


if __name__ == "__main__":
    sys.exit(main())
