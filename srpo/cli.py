"""`srpo`: one command-line tool, one subcommand group per job.

Each group lives in its own module exposing ``COMMANDS``: command name -> a function taking one frozen
dataclass config (its fields, comments and defaults are the command's options; see `srpo.configs`) and
returning an exit code; a group that is one command (`srpo demo`) exposes that function as ``COMMAND``. Only the group named on the command line is imported, so `srpo --help` and
`srpo data info` never pay for torch or MuJoCo imports they do not use.
"""

import argparse
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
    "demo": ("srpo_offline.demo", "the whole loop on the simulated xArm: record, score, train, deploy, report"),
}


def build_parser(selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srpo",
        description="SRPO: self-referential world-progress rewards and policy optimisation for VLA policies.",
    )
    sub = parser.add_subparsers(dest="group", metavar="GROUP")
    for name, (module_name, help_text) in GROUPS.items():
        group_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            importlib.import_module(module_name).configure(group_parser)
    return parser


def _group_help(group: str, commands: dict) -> str:
    lines = [f"usage: srpo {group} COMMAND [options]   (srpo {group} COMMAND --help for its options)", "",
             GROUPS[group][1], "", "commands:"]
    for name, func in commands.items():
        lines.append(f"  {name:<14} {(func.__doc__ or '').strip().splitlines()[0]}")
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
    return invoke(commands[name], rest, f"srpo {group} {name}")


def invoke(func, argv: list[str], prog: str) -> int:
    """Parse argv into `func`'s config and run it; a UserFacingError becomes a message and exit code 2."""
    config_cls = next(iter(typing.get_type_hints(func).values()))
    try:
        config = parse_config(config_cls, argv, prog=prog)
        return int(func(config) or 0)
    except UserFacingError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if not a.startswith("-")), None)
    if selected in GROUPS and argv[0] == selected and hasattr(module := importlib.import_module(GROUPS[selected][0]),
                                                              "COMMAND"):
        return invoke(module.COMMAND, argv[1:], f"srpo {selected}")
    if selected in GROUPS and argv[0] == selected and hasattr(importlib.import_module(GROUPS[selected][0]),
                                                               "COMMANDS"):
        return run_command(selected, argv[1:])
    parser = build_parser(selected if selected in GROUPS else None)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        # a group without a subcommand: show that group's help
        parser.parse_args([*argv, "--help"] if args.group else ["--help"])
        return 2
    try:
        return int(func(args) or 0)
    except UserFacingError as err:
        print(f"srpo {args.group}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
