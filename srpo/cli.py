"""`srpo`: one command-line tool, one subcommand group per job.

Each group lives in its own module exposing ``configure(parser)``; only the group named on the command line
is imported, so `srpo --help` and `srpo data info` never pay for torch or MuJoCo imports they do not use.
"""

import argparse
import importlib
import sys

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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if not a.startswith("-")), None)
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
