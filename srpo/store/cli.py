"""`srpo data`: inspect, validate, label and convert episode stores.

Imports stay light here (argparse only); each command imports what it needs when it runs.
"""

import argparse
import json


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="episodes, tasks, labels, cameras, derived runs and size of a store",
                       description="Summarise an episode store: episodes and steps, tasks, success labels, status "
                       "counts, cameras with their calibration, derived runs with provenance, size on disk.")
    p.add_argument("path", help="the store directory (what `srpo robot record --out` wrote)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("validate", help="find and explain every inconsistency (exit 1 on errors)",
                       description="Check lengths against meta/episode_ends, dtypes and shapes against the schema, "
                       "NaN/inf in actions and state, success labels, monotonic episode ends and timestamps, meta "
                       "array lengths, uncommitted steps, leftover temporary files and stale derived runs. Exits 1 "
                       "when an error is found (0 with only warnings, unless --strict).")
    p.add_argument("path", help="the store directory")
    p.add_argument("--json", action="store_true", help="print the problems as JSON")
    p.add_argument("--strict", action="store_true", help="treat warnings (e.g. unlabelled episodes) as errors")
    p.add_argument("--repair", nargs="?", const="recover", choices=("recover", "truncate"), default=None,
                   help="first repair what an interrupted recording left: uncommitted steps become an 'incomplete' "
                   "episode (recover, the default) or are dropped (truncate); temporary *.partial files are removed")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("label", help="set or clear the success label of an episode",
                       description="Label an episode a success or a failure (the reward needs these labels), "
                       "or clear its label with --unset.")
    p.add_argument("path", help="the store directory")
    p.add_argument("--episode", type=int, required=True, help="episode index (negative counts from the end)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--success", type=_parse_bool, metavar="true|false", help="the outcome of the episode")
    group.add_argument("--unset", action="store_true", help="remove the label")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("to-lerobot", help="export to a LeRobotDataset v3",
                       description="Write the store as a LeRobotDataset v3 (LeRobot's own writer) that "
                       "`LeRobotDataset(REPO_ID, root=OUT)` loads offline. Images are stored lossless by default "
                       "(frames read back identical); --video encodes mp4 instead (smaller, lossy).")
    p.add_argument("path", help="the store directory")
    p.add_argument("out", help="the dataset root to create (must not exist)")
    p.add_argument("--repo-id", required=True, help="dataset name, e.g. myuser/xarm_pick (no upload happens)")
    p.add_argument("--video", action="store_true", help="encode camera streams as mp4 (lossy) instead of PNG")
    p.add_argument("--episodes", type=int, nargs="*", default=None, help="export only these episode indices")
    p.add_argument("--include-incomplete", action="store_true",
                   help="also export episodes marked incomplete or aborted (skipped by default)")
    p.set_defaults(func=cmd_to_lerobot)

    p = sub.add_parser("from-rosbag", help="import rosbag2 recordings (MCAP or sqlite3) into a store",
                       description="Read rosbag2 recordings with realsense-ros images and xarm_ros2 joint states, "
                       "align every stream on --rate Hz (latest sample at or before each tick) and write one "
                       "episode per bag. See docs/store.md for what fills the action and end-effector pose.")
    p.add_argument("bags", nargs="+", metavar="BAG", help="rosbag2 directories (or .mcap/.db3 files); one episode "
                   "each. The last argument is OUT")
    p.add_argument("--rate", type=float, default=30.0, help="control rate to resample on, Hz (default 30)")
    p.add_argument("--task", default="", help="task instruction stored with the episodes")
    p.add_argument("--success", type=_parse_bool, default=None, metavar="true|false",
                   help="success label for every imported episode (default: unlabelled)")
    p.add_argument("--image-topic", action="append", default=None, metavar="TOPIC",
                   help="colour image topic, once per camera (default /camera/camera/color/image_raw)")
    p.add_argument("--depth-topic", action="append", default=None, metavar="TOPIC",
                   help="aligned depth topic per camera, or 'none' (default "
                   "/camera/camera/aligned_depth_to_color/image_raw when present in the bag)")
    p.add_argument("--info-topic", action="append", default=None, metavar="TOPIC",
                   help="camera_info topic per camera (default /camera/camera/color/camera_info)")
    p.add_argument("--joint-topic", default="/xarm/joint_states", help="sensor_msgs/JointState of the arm")
    p.add_argument("--action-topic", default=None,
                   help="optional command topic (sensor_msgs/JointState positions, std_msgs/Float64MultiArray or "
                   "Float32MultiArray data) whose latest value at each tick is the action; default: the next "
                   "tick's joint positions (+ gripper)")
    p.add_argument("--eef-topic", default=None,
                   help="optional geometry_msgs/PoseStamped of the end effector in the base frame; without it the "
                   "eef pose is zeros and the store's calibration attrs say so")
    p.add_argument("--gripper-joint", default=None,
                   help="name of the gripper joint in the joint states (default: first name containing 'drive' "
                   "or 'gripper'); its position is stored as gripper width")
    p.set_defaults(func=cmd_from_rosbag)


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "y", "success"):
        return True
    if value in ("false", "0", "no", "n", "failure"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _disk_size(path) -> int:
    import os

    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(dirpath, name))
    return total


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def store_summary(path) -> dict:
    """The facts `srpo data info` prints, as a JSON-ready dict."""
    from collections import Counter
    from dataclasses import asdict

    from srpo.store import EpisodeStore

    store = EpisodeStore.open(path, mode="r")
    episodes = store.episodes()
    labels = Counter("success" if e.success else "failure" if e.success is False else "unlabelled"
                     for e in episodes)
    runs = {}
    for name in store.derived_runs():
        attrs = dict(store.root["derived"][name].attrs)
        runs[name] = {
            "keys": sorted(store.root["derived"][name].array_keys()),
            "provenance": attrs.get("provenance"),
            "created": attrs.get("created"),
            "stale": attrs.get("episode_ends") != store.episode_ends.tolist(),
        }
    tasks = Counter(e.task for e in episodes)
    return {
        "path": str(store.path),
        "schema_version": store.root.attrs.get("schema_version"),
        "episodes": store.num_episodes,
        "steps": store.num_steps,
        "uncommitted_steps": store.uncommitted_steps(),
        "control_rate_hz": store.config.control_rate_hz,
        "duration_s": store.num_steps / store.config.control_rate_hz,
        "robot": store.config.robot,
        "action_dim": store.config.action_dim,
        "action_space": store.config.action_space,
        "tasks": dict(tasks),
        "labels": {k: labels.get(k, 0) for k in ("success", "failure", "unlabelled")},
        "status": dict(Counter(e.status for e in episodes)),
        "sources": dict(Counter(e.source for e in episodes)),
        "cameras": [asdict(c) for c in store.config.cameras],
        "calibration": store.config.calibration,
        "import": store.root.attrs.get("import"),
        "data_keys": {k: {"dtype": str(s.dtype), "shape": list(s.shape)} for k, s in store.keys.items()},
        "derived_runs": runs,
        "bytes_on_disk": _disk_size(store.path),
    }


def _calibration_lines(calib: dict) -> list[str]:
    """A readable summary of the calibration file recorded with the store (`srpo calib` YAML)."""
    if not calib:
        return ["calibration none (record with --calibration FILE from `srpo calib`)"]
    lines = [f"calibration {calib.get('file', '?')}  date {calib.get('date', '?')}  robot {calib.get('robot', '?')}"]
    for name, entry in (calib.get("cameras") or {}).items():
        parts = []
        if "intrinsics" in entry:
            intr = entry["intrinsics"]
            parts.append(f"intrinsics {intr.get('source', '?')} rms {intr.get('rms_px', '?')} px")
        if "extrinsics" in entry:
            ext = entry["extrinsics"]
            parts.append(f"hand-eye {ext.get('mount', '?')} ({ext.get('method', '?')}, spread "
                         f"{ext.get('translation_spread_mm', '?')} mm / {ext.get('rotation_spread_deg', '?')} deg)")
        if "check" in entry:
            parts.append(f"check mean {entry['check'].get('mean_px', '?')} px")
        lines.append(f"  {name}: " + ("; ".join(parts) or "no results"))
    return lines


def cmd_info(args) -> int:
    info = store_summary(args.path)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    lines = [
        f"store       {info['path']}  (schema v{info['schema_version']}, {_human(info['bytes_on_disk'])} on disk)",
        f"episodes    {info['episodes']}  steps {info['steps']}  ({info['duration_s']:.1f} s at "
        f"{info['control_rate_hz']:g} Hz)" + (f"  + {info['uncommitted_steps']} UNCOMMITTED steps"
                                               if info["uncommitted_steps"] else ""),
        f"labels      success {info['labels']['success']}  failure {info['labels']['failure']}  "
        f"unlabelled {info['labels']['unlabelled']}",
        "status      " + ("  ".join(f"{k} {v}" for k, v in info["status"].items()) or "-"),
        "sources     " + ("  ".join(f"{k} {v}" for k, v in info["sources"].items()) or "-"),
        f"robot       {info['robot']}  action[{info['action_dim']}] = {info['action_space']}",
        "tasks",
    ]
    lines += [f"  {n:5d} x {task!r}" for task, n in info["tasks"].items()] or ["  -"]
    lines.append("cameras")
    for cam in info["cameras"]:
        lines.append(f"  {cam['name']}: {cam['width']}x{cam['height']} rgb{' + depth' if cam['depth'] else ''}"
                     f"  serial {cam['serial'] or '-'}")
        intr = cam["intrinsics"]
        lines.append("    intrinsics " + (", ".join(f"{k}={intr[k]:.2f}" for k in ("fx", "fy", "cx", "cy") if k in intr)
                                          + (f" model={intr.get('model')}" if intr.get("model") else "")
                                          if intr else "none"))
        ext = cam["extrinsics"]
        if ext:
            t = [float(row[3]) for row in ext.get("T", [])[:3]]
            lines.append(f"    extrinsics in frame {ext.get('frame')!r}: translation {[round(v, 4) for v in t]} m")
        else:
            lines.append("    extrinsics none")
    lines += _calibration_lines(info["calibration"])
    if info["import"]:
        lines.append("imported    " + json.dumps(info["import"]))
    lines.append("derived runs")
    for name, run in info["derived_runs"].items():
        lines.append(f"  {name}{'  (STALE: recompute)' if run['stale'] else ''}  keys {', '.join(run['keys'])}  "
                     f"created {run['created']}")
        lines.append(f"    provenance {json.dumps(run['provenance'], default=str)}")
    if not info["derived_runs"]:
        lines.append("  -")
    print("\n".join(lines))
    return 0


def cmd_validate(args) -> int:
    from srpo.store.validate import repair_store, validate_store

    if args.repair:
        for line in repair_store(args.path, uncommitted=args.repair):
            print(f"repaired: {line}")
    report = validate_store(args.path)
    failed = not report.ok or (args.strict and report.warnings)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for problem in report.problems:
            print(problem)
        verdict = "FAILED" if failed else "OK"
        print(f"{verdict}: {report.path}: {report.num_episodes} episodes, {report.num_steps} steps, "
              f"{len(report.errors)} errors, {len(report.warnings)} warnings")
    return 1 if failed else 0


def cmd_label(args) -> int:
    from srpo.store import EpisodeStore

    store = EpisodeStore.open(args.path, mode="a")
    value = None if args.unset else args.success
    store.set_success(args.episode, value)
    shown = {True: "success", False: "failure", None: "unlabelled"}[value]
    print(f"episode {args.episode % store.num_episodes} of {store.path}: {shown}")
    return 0


def cmd_to_lerobot(args) -> int:
    from srpo.store.lerobot_export import export_to_lerobot

    summary = export_to_lerobot(args.path, args.out, repo_id=args.repo_id, video=args.video,
                                episodes=args.episodes, include_incomplete=args.include_incomplete)
    print(f"wrote LeRobotDataset {args.repo_id} to {args.out}: {summary['episodes']} episodes, "
          f"{summary['frames']} frames ({'mp4' if args.video else 'lossless images'})")
    if summary["skipped"]:
        print(f"skipped episodes {summary['skipped']} (incomplete/aborted; --include-incomplete exports them)")
    print(f"load it with: LeRobotDataset({args.repo_id!r}, root={str(args.out)!r})")
    return 0


def cmd_from_rosbag(args) -> int:
    from srpo.errors import UserFacingError
    from srpo.store.rosbag_import import RosbagImportConfig, import_rosbags

    if len(args.bags) < 2:
        raise UserFacingError("give at least one BAG and the OUT store: srpo data from-rosbag BAG [BAG ...] OUT")
    *bags, out = args.bags
    defaults = RosbagImportConfig()
    config = RosbagImportConfig(
        rate_hz=args.rate,
        image_topics=tuple(args.image_topic or defaults.image_topics),
        depth_topics=tuple(args.depth_topic or defaults.depth_topics),
        info_topics=tuple(args.info_topic or defaults.info_topics),
        joint_topic=args.joint_topic,
        action_topic=args.action_topic,
        eef_topic=args.eef_topic,
        gripper_joint=args.gripper_joint,
    )
    result = import_rosbags(bags, out, config, task=args.task, success=args.success)
    for line in result:
        print(line)
    return 0
