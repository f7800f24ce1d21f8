"""`srpo data`: inspect, validate, label and convert episode stores.

Each command takes one frozen config (its fields are the options; see `srpo.configs`). Imports stay light:
the LeRobot writer and the rosbag reader load only when their command runs.
"""

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from srpo.configs import POSITIONAL
from srpo.errors import UserFacingError
from srpo.store.episode_store import EpisodeStore
from srpo.store.lerobot_export import LeRobotExportConfig, export
from srpo.store.lerobot_import import LeRobotImportConfig, import_lerobot
from srpo.store.rosbag_import import RosbagImportConfig, import_rosbags


@dataclass(frozen=True)
class InfoConfig:
    """Summarise an episode store: episodes and steps, tasks, success labels, status counts, cameras with their
    calibration, derived runs with provenance, size on disk."""

    path: str = field(metadata=POSITIONAL)  # the store directory (what `srpo robot record --out` wrote)
    json: bool = False  # print machine-readable JSON instead of text


@dataclass(frozen=True)
class ValidateConfig:
    """Check lengths against meta/episode_ends, dtypes and shapes against the schema, NaN/inf in actions and
    state, success labels, monotonic episode ends and timestamps, meta array lengths, uncommitted steps, leftover
    temporary files and stale derived runs. Exits 1 when an error is found (0 with only warnings, unless
    --strict). --repair recover keeps the fully written steps of an interrupted recording as an 'incomplete'
    episode, --repair truncate drops them; both remove leftover temporary *.partial files."""

    path: str = field(metadata=POSITIONAL)  # the store directory
    json: bool = False  # print the problems as JSON
    strict: bool = False  # treat warnings (e.g. unlabelled episodes) as errors
    repair: str | None = None  # recover|truncate: first fix what an interrupted recording left

    def __post_init__(self):
        if self.repair not in (None, "recover", "truncate"):
            raise UserFacingError(f"--repair takes recover or truncate, not {self.repair!r}")


@dataclass(frozen=True)
class LabelConfig:
    """Label an episode a success or a failure (the reward needs these labels), or clear its label with --unset."""

    path: str = field(metadata=POSITIONAL)  # the store directory
    episode: int  # episode index (negative counts from the end)
    success: bool | None = None  # the outcome of the episode: true or false
    unset: bool = False  # remove the label instead


@dataclass(frozen=True)
class FromRosbagConfig:
    """Read rosbag2 recordings with realsense-ros images and xarm_ros2 joint states, align every stream on --rate
    Hz (latest sample at or before each tick) and write one episode per bag. See docs/store.md for what fills the
    action and end-effector pose. --rate, --image-topic, --depth-topic, --info-topic, --joint-topic,
    --action-topic, --eef-topic and --gripper-joint are short for the --topics.* options."""

    bags: tuple[str, ...] = field(metadata=POSITIONAL)  # rosbag2 directories (or .mcap/.db3 files), one episode each
    out: str = field(metadata=POSITIONAL)  # the store to create, or to append to when it exists
    task: str = ""  # task instruction stored with the episodes
    success: bool | None = None  # success label for every imported episode; unset: unlabelled
    topics: RosbagImportConfig = field(default_factory=RosbagImportConfig)  # which topics hold what, and the rate

    CLI_ALIASES: ClassVar[dict[str, str]] = {
        "rate": "topics.rate_hz", "image-topic": "topics.image_topics", "depth-topic": "topics.depth_topics",
        "info-topic": "topics.info_topics", "joint-topic": "topics.joint_topic",
        "action-topic": "topics.action_topic", "eef-topic": "topics.eef_topic",
        "gripper-joint": "topics.gripper_joint",
    }


def _disk_size(path) -> int:
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


def info(cfg: InfoConfig) -> int:
    """episodes, tasks, labels, cameras, derived runs and size of a store"""
    info = store_summary(cfg.path)
    if cfg.json:
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


def validate(cfg: ValidateConfig) -> int:
    """find and explain every inconsistency (exit 1 on errors)"""
    from srpo.store.validate import repair_store, validate_store

    if cfg.repair:
        for line in repair_store(cfg.path, uncommitted=cfg.repair):
            print(f"repaired: {line}")
    report = validate_store(cfg.path)
    failed = not report.ok or (cfg.strict and report.warnings)
    if cfg.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for problem in report.problems:
            print(problem)
        verdict = "FAILED" if failed else "OK"
        print(f"{verdict}: {report.path}: {report.num_episodes} episodes, {report.num_steps} steps, "
              f"{len(report.errors)} errors, {len(report.warnings)} warnings")
    return 1 if failed else 0


def label(cfg: LabelConfig) -> int:
    """set or clear the success label of an episode"""
    if cfg.unset == (cfg.success is not None):
        raise UserFacingError("give exactly one of --success true|false and --unset")
    store = EpisodeStore.open(cfg.path, mode="a")
    store.set_success(cfg.episode, cfg.success)
    shown = {True: "success", False: "failure", None: "unlabelled"}[cfg.success]
    print(f"episode {store.episode_index(cfg.episode)} of {store.path}: {shown}")
    return 0


def to_lerobot(cfg: LeRobotExportConfig) -> int:
    """export to a LeRobotDataset v3"""
    summary = export(cfg)
    print(f"wrote LeRobotDataset {cfg.repo_id} to {cfg.out}: {summary['episodes']} episodes, "
          f"{summary['frames']} frames ({'mp4' if cfg.video else 'lossless images'})")
    if summary["skipped"]:
        print(f"skipped episodes {summary['skipped']} (incomplete/aborted; --include-incomplete exports them)")
    print(f"load it with: LeRobotDataset({cfg.repo_id!r}, root={str(cfg.out)!r})")
    return 0


def from_lerobot(cfg: LeRobotImportConfig) -> int:
    """import a LeRobotDataset v3 (directory or hub id) into a store"""
    for line in import_lerobot(cfg):
        print(line)
    return 0


def from_rosbag(cfg: FromRosbagConfig) -> int:
    """import rosbag2 recordings (MCAP or sqlite3) into a store"""
    if not cfg.bags:
        raise UserFacingError("give at least one BAG and the OUT store: srpo data from-rosbag BAG [BAG ...] OUT")
    for line in import_rosbags(cfg.bags, cfg.out, cfg.topics, task=cfg.task, success=cfg.success):
        print(line)
    return 0


COMMANDS = {"info": info, "validate": validate, "label": label, "to-lerobot": to_lerobot,
            "from-rosbag": from_rosbag, "from-lerobot": from_lerobot}
