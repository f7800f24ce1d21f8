"""Import a LeRobotDataset v3 (a local root, or a hub id on a machine that reaches the hub) into an episode store:
the way back of `lerobot_export.py`, so that world progress and AWR run on any LeRobot recording.

LeRobot reads the dataset: `LeRobotDataset` loads metadata and parquet, and video frames are decoded with
LeRobot's own `decode_video_frames` (torchcodec when it loads, else pyav; the backend used is recorded).
What fills each store key (also written to the root attr "import", which `srpo data info` shows):
  * <name>_rgb: observation.images.<name> (a name that is no identifier becomes camera{i}; the import attr maps
    store cameras to features), so a policy trained on the store takes the robot's own camera keys; depth
    features are not imported.
  * robot0_* and other state vectors: observation.state split back with `srpo.policy_io.split_state` when its
    names are the export's (`state_names`); otherwise by --state-map KEY=START:STOP, or by default the entries
    named like a gripper -> robot0_gripper_width and the rest -> robot0_joint_pos. Store keys no entry fills are
    zeros (said in the import attr). A dataset written by `srpo data to-lerobot` carries the rest as srpo.<key>.
  * action: `action`, its space named from the feature names (`srpo.policy_io.action_space_from_names`).
  * timestamp / <name>_timestamp: srpo.timestamp / srpo.<name>_timestamp when carried, else LeRobot's
    per-episode `timestamp` (seconds from the episode's start).
  * task: the task of the episode's first frame; success: --labels FILE, else --success-column (per frame: its
    value at the episode's last frame; or a column of meta/episodes), else srpo.success when carried; episodes
    without a label stay unlabelled (the reward never uses them as references) and are listed.
Every episode is written through the store's writer and committed when complete, so a killed import leaves
every committed episode intact; running the same command again resumes after the last committed episode.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srpo.configs import POSITIONAL
from srpo.errors import UserFacingError
from srpo.policy_io import (
    ACTION,
    CARRY_PREFIX,
    ENV_STATE,
    IMAGE_PREFIX,
    STATE,
    SUCCESS,
    action_space_from_names,
    split_state,
)
from srpo.store.episode_store import EpisodeStore
from srpo.store.schema import CameraSpec, StoreConfig, data_keys

BLOCK = 64  # frames read (and decoded) at a time: bounded memory for long episodes
ROBOT_KEYS = {"robot0_joint_pos": None, "robot0_eef_pos": 3, "robot0_eef_rot_axis_angle": 3, "robot0_gripper_width": 1}


@dataclass(frozen=True)
class LeRobotImportConfig:
    """Read a LeRobotDataset v3 and write it as an episode store (one store episode per dataset episode, in
    order). Re-running after an interruption resumes after the last committed episode."""

    source: str = field(metadata=POSITIONAL)  # dataset root directory, or a hub repo id (needs the hub)
    out: str = field(metadata=POSITIONAL)  # the store to create (or to resume: one this command started)
    labels: str | None = None  # JSON file {"<episode_index>": true|false|null}: the success labels
    success_column: str | None = None  # dataset column holding the outcome (e.g. next.success); None: srpo.success if present
    state_map: tuple[str, ...] = ()  # KEY=START:STOP per store key, e.g. robot0_joint_pos=0:6 robot0_gripper_width=6:7
    episodes: tuple[int, ...] | None = None  # import only these dataset episodes
    video_backend: str | None = None  # torchcodec or pyav; None: LeRobot's default (torchcodec when it loads)
    revision: str | None = None  # hub revision (branch, tag or commit) of a hub dataset


def open_dataset(source: str, video_backend: str | None = None, revision: str | None = None):
    """LeRobotDataset of a local root (any directory with meta/info.json) or of a hub repo id."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    path = Path(source)
    if path.exists():
        info = path / "meta" / "info.json"
        if not info.is_file():
            raise UserFacingError(f"{path} is not a LeRobotDataset root (no meta/info.json)")
        version = json.loads(info.read_text()).get("codebase_version", "?")
        if not str(version).startswith("v3"):
            raise UserFacingError(f"{path} is a LeRobotDataset {version}; convert it to v3 first with LeRobot's "
                                  "`python -m lerobot.scripts.convert_dataset_v21_to_v30`")
        return LeRobotDataset(f"local/{path.name}", root=path, video_backend=video_backend, return_uint8=True)
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", source):
        raise UserFacingError(f"{source} is neither a dataset directory nor a hub repo id (owner/name)")
    try:
        return LeRobotDataset(source, revision=revision, video_backend=video_backend, return_uint8=True)
    except Exception as exc:  # the hub's many failure types: offline, missing repo, no access
        raise UserFacingError(f"could not load {source} from the Hugging Face hub ({type(exc).__name__}: {exc}). "
                              "Download it where the hub is reachable and pass its directory.") from exc


def _state_layout(features: dict, state_map: tuple[str, ...]) -> tuple[dict[str, slice], str]:
    """{store key: slice of observation.state} and how it was chosen."""
    spec = features.get(STATE)
    if spec is None:
        raise UserFacingError(f"the dataset has no {STATE} feature; it has {', '.join(sorted(features))}")
    n = int(spec["shape"][0])
    if state_map:
        layout = {}
        for item in state_map:
            match = re.fullmatch(r"(\w+)=(\d+):(\d+)", item)
            if not match or not int(match.group(2)) < int(match.group(3)) <= n:
                raise UserFacingError(f"--state-map {item!r}: give KEY=START:STOP with 0 <= START < STOP <= {n}")
            layout[match.group(1)] = slice(int(match.group(2)), int(match.group(3)))
        return layout, "--state-map " + " ".join(state_map)
    names = list(spec.get("names") or [])
    if isinstance(spec.get("names"), dict):  # older datasets: {"motors": [...]}
        names = [x for v in spec["names"].values() for x in v]
    layout = split_state(names) if len(names) == n else None
    if layout is not None:
        return layout, "the export's names (srpo.policy_io.state_names)"
    gripper = [i for i, name in enumerate(names) if "gripper" in str(name).lower()]
    if len(names) != n or len(gripper) > 1:
        raise UserFacingError(
            f"cannot tell which {STATE} entries are joints and gripper (names: {names or 'none'}); pass "
            f"--state-map KEY=START:STOP, e.g. --state-map robot0_joint_pos=0:{n - 1} robot0_gripper_width={n - 1}:{n}")
    joints = [i for i in range(n) if i not in gripper]
    if joints != list(range(len(joints))):
        raise UserFacingError(f"the gripper entry {names[gripper[0]]!r} sits between joints; pass --state-map")
    layout = {"robot0_joint_pos": slice(0, len(joints))} if joints else {}
    if gripper:
        layout["robot0_gripper_width"] = slice(gripper[0], gripper[0] + 1)
    return layout, "names: entries named like a gripper -> robot0_gripper_width, the rest -> robot0_joint_pos"


def camera_names(features: list[str]) -> list[str]:
    """Store camera names for observation.images.<name> features: <name> itself where it is an identifier."""
    names = [key[len(IMAGE_PREFIX):] for key in features]
    return [n if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", n) and names.count(n) == 1 else f"camera{i}"
            for i, n in enumerate(names)]


def _store_config(ds, layout: dict[str, slice], cameras: list[str]) -> tuple[StoreConfig, list[str]]:
    """The store's config for this dataset, and the store keys no dataset value fills (zeros)."""
    features = ds.meta.features
    dims = {key: s.stop - s.start for key, s in layout.items()}
    for key, want in ROBOT_KEYS.items():
        if key in dims and want is not None and dims[key] != want:
            raise UserFacingError(f"--state-map gives {key} {dims[key]} values; it holds {want}")
    carried = {k[len(CARRY_PREFIX):]: tuple(v["shape"]) for k, v in features.items() if k.startswith(CARRY_PREFIX)}
    extra = {k: n for k, n in dims.items() if k not in ROBOT_KEYS}
    extra.update({k: s[0] for k, s in carried.items()  # the export's other vectors, e.g. the sim's object0_pos
                  if k not in ROBOT_KEYS and not k.endswith("timestamp") and CARRY_PREFIX + k != SUCCESS})
    extra.update({k: s.stop - s.start for k, s in _env_layout(features).items()})
    joint_dim = dims.get("robot0_joint_pos") or carried.get("robot0_joint_pos", (0,))[0]
    if not joint_dim:
        raise UserFacingError(f"no {STATE} entry maps to robot0_joint_pos; pass --state-map robot0_joint_pos=0:N")
    action = features.get(ACTION)
    if action is None or len(action["shape"]) != 1:
        raise UserFacingError(f"the dataset has no vector {ACTION!r} feature; the store needs one")
    names = action.get("names")
    names = list(names) if isinstance(names, list) and len(names) == action["shape"][0] else \
        [f"action_{i}" for i in range(action["shape"][0])]
    specs = []
    for name, key in zip(camera_names(cameras), cameras):
        shape, axes = features[key]["shape"], features[key].get("names") or []
        h, w = (shape[1], shape[2]) if axes and axes[0] in ("channel", "channels") else (shape[0], shape[1])
        specs.append(CameraSpec(name, int(h), int(w)))
    config = StoreConfig(cameras=tuple(specs), control_rate_hz=float(ds.meta.fps), action_dim=int(action["shape"][0]),
                         joint_dim=int(joint_dim), robot=ds.meta.robot_type or "unknown",
                         action_space=action_space_from_names(names), extra_keys=extra)
    filled = set(dims) | set(carried) | set(extra) | {"action", "timestamp"} | {f"{c.name}_rgb" for c in specs}
    zeros = [k for k in data_keys(config) if k not in filled and not k.endswith("timestamp")]
    return config, zeros


def _env_layout(features: dict) -> dict[str, slice]:
    """{store key: slice} of observation.environment_state: the export's names split back, else one key."""
    if ENV_STATE not in features:
        return {}
    names = list(features[ENV_STATE].get("names") or [])
    return split_state(names) or {"environment_state": slice(0, int(features[ENV_STATE]["shape"][0]))}


def _labels(ds, cfg: LeRobotImportConfig, episodes: list[int]) -> tuple[dict[int, bool | None], str]:
    """Success label per dataset episode, and where they came from."""
    if cfg.labels:
        path = Path(cfg.labels)
        try:
            raw = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserFacingError(f"--labels {path}: {exc}; give a JSON file {{\"0\": true, \"1\": false}}") from exc
        if not isinstance(raw, dict) or any(v not in (True, False, None) for v in raw.values()):
            raise UserFacingError(f"--labels {path}: expected {{\"<episode_index>\": true|false|null, ...}}")
        return {e: raw.get(str(e)) for e in episodes}, f"labels file {path}"
    column = cfg.success_column or (SUCCESS if SUCCESS in ds.meta.features else None)
    if column is None:
        return dict.fromkeys(episodes), "none: label with `srpo data label` or --labels/--success-column"
    if column in ds.meta.episodes.column_names:
        values = dict(zip(ds.meta.episodes["episode_index"], ds.meta.episodes[column]))
        return {e: _label(values[e]) for e in episodes}, f"meta/episodes column {column}"
    if column not in ds.meta.features:
        raise UserFacingError(f"--success-column {column}: the dataset has no such column; per-frame columns: "
                              f"{', '.join(sorted(ds.meta.features))}; episode columns: "
                              f"{', '.join(ds.meta.episodes.column_names)}")
    table = ds.hf_dataset.with_format("arrow")
    labels = {}
    for e in episodes:
        last = int(ds.meta.episodes[e]["dataset_to_index"]) - 1
        labels[e] = _label(table[last:last + 1].column(column).to_pylist()[0])
    return labels, f"column {column} at each episode's last frame"


def _label(value) -> bool | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or (not isinstance(value, bool) and float(value) < 0):
        return None
    return bool(value)


def _column(table, key: str, dtype) -> np.ndarray:
    """One numeric column of an arrow table as [n, ...] (fixed-size lists stacked), exact dtype."""
    import pyarrow as pa

    col = table.column(key).combine_chunks()
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type) or pa.types.is_fixed_size_list(col.type):
        return col.flatten().to_numpy(zero_copy_only=False).reshape(len(col), -1).astype(dtype)
    return col.to_numpy(zero_copy_only=False).astype(dtype)


def import_lerobot(cfg: LeRobotImportConfig) -> list[str]:
    """Import the dataset; returns the lines to print (the import attr written to the store says the same)."""
    from lerobot.datasets.video_utils import decode_video_frames
    from tqdm import tqdm

    ds = open_dataset(cfg.source, cfg.video_backend, cfg.revision)
    features = ds.meta.features
    cameras = [k for k in features if k.startswith(IMAGE_PREFIX) and features[k]["dtype"] in ("image", "video")
               and k not in getattr(ds.meta, "depth_keys", [])]
    if not cameras:
        raise UserFacingError(f"the dataset has no camera ({IMAGE_PREFIX}<name>, image or video); world progress "
                              "needs at least one")
    layout, state_how = _state_layout(features, cfg.state_map)
    config, zeros = _store_config(ds, layout, cameras)
    episodes = list(range(ds.meta.total_episodes)) if cfg.episodes is None else list(cfg.episodes)
    if any(not 0 <= e < ds.meta.total_episodes for e in episodes):
        raise UserFacingError(f"--episodes {episodes}: the dataset holds episodes 0..{ds.meta.total_episodes - 1}")
    labels, label_how = _labels(ds, cfg, episodes)
    backend = ds._video_backend if ds.meta.video_keys else None
    facts = {"from": "lerobot", "source": str(cfg.source), "repo_id": ds.repo_id, "episodes": episodes,
             "cameras": dict(zip(camera_names(cameras), cameras)), "state": state_how,
             "state_layout": {k: [s.start, s.stop] for k, s in layout.items()}, "zeros": zeros,
             "labels": label_how, "video_backend": backend,
             "skipped_features": sorted(k for k in features if k not in (*cameras, STATE, ACTION, ENV_STATE)
                                        and not k.startswith(CARRY_PREFIX)
                                        and k not in ("timestamp", "frame_index", "episode_index", "index",
                                                      "task_index"))}

    store = _open_out(Path(cfg.out), config, facts)
    done = store.num_episodes
    tasks = list(ds.meta.tasks.index)
    table = ds.hf_dataset.with_format("arrow")
    images = {k: ds.hf_dataset.select_columns([k]).with_format("numpy") for k in cameras if k not in ds.meta.video_keys}
    for e in tqdm(episodes[done:], desc="episodes", unit="ep", initial=done, total=len(episodes)):
        row = ds.meta.episodes[e]
        first, end = int(row["dataset_from_index"]), int(row["dataset_to_index"])
        if int(row["episode_index"]) != e:
            raise UserFacingError(f"meta/episodes row {e} describes episode {row['episode_index']}: not a valid v3 "
                                  "dataset")
        head = table[first:first + 1]
        task = tasks[int(head.column("task_index")[0].as_py())]
        start_time = float(_steps(head, features, layout, config)["timestamp"][0])
        with store.recorder(task=task, source="lerobot", start_time=start_time) as ep:
            for start in range(first, end, BLOCK):
                stop = min(start + BLOCK, end)
                block = table[start:stop]
                if set(block.column("episode_index").to_pylist()) != {e}:
                    raise UserFacingError(f"rows {start}..{stop} of the dataset are not all episode {e}: "
                                          "meta/episodes does not match data/")
                steps = _steps(block, features, layout, config)
                for name, key in zip(camera_names(cameras), cameras):
                    if key in ds.meta.video_keys:
                        offset = float(row[f"videos/{key}/from_timestamp"])  # python floats, as LeRobot's reader passes
                        ts = [offset + t for t in _column(block, "timestamp", np.float64).tolist()]
                        path = ds.root / ds.meta.get_video_file_path(e, key)
                        frames = decode_video_frames(path, ts, ds.tolerance_s, backend, return_uint8=True)
                        steps[f"{name}_rgb"] = frames.permute(0, 2, 3, 1).numpy()
                    else:
                        steps[f"{name}_rgb"] = np.asarray(images[key][start:stop][key], np.uint8)
                for j in range(stop - start):
                    ep.add_step({k: v[j] for k, v in steps.items()})
            ep.success = labels[e]
    unlabelled = [i for i, e in enumerate(episodes) if labels[e] is None]
    lines = [f"{cfg.out}: {len(episodes)} episodes ({len(episodes) - done} imported now), {store.num_steps} steps "
             f"at {config.control_rate_hz:g} Hz, cameras {', '.join(cameras)}"
             + (f" (decoded with {backend})" if backend else ""),
             f"state: {state_how}" + (f"; zeros for {', '.join(zeros)}" if zeros else ""),
             f"labels: {label_how}"]
    if unlabelled:
        lines.append(f"unlabelled episodes {unlabelled}: the reward never uses them as references; label them with "
                     f"`srpo data label {cfg.out} --episode N --success true|false`")
    if facts["skipped_features"]:
        lines.append(f"not imported: {', '.join(facts['skipped_features'])}")
    return lines


def _open_out(out: Path, config: StoreConfig, facts: dict) -> EpisodeStore:
    """A new store, or the store an interrupted run of the same import left (its partial episode dropped)."""
    if out.exists():
        store = EpisodeStore.open(out, mode="a", on_uncommitted="truncate")
        if store.root.attrs.get("import") != facts:
            raise UserFacingError(f"{out} already exists and is not an interrupted import of this dataset with these "
                                  "options; choose a new OUT")
        return store
    store = EpisodeStore.create(out, config)
    store.root.attrs["import"] = facts
    return store


def _steps(block, features: dict, layout: dict[str, slice], config: StoreConfig) -> dict:
    """Every non-image store key for the rows of `block` (an arrow table)."""
    keys = data_keys(config)
    n = block.num_rows
    state = _column(block, STATE, np.float32).reshape(n, -1)
    steps = {k: np.zeros((n, *spec.shape), spec.dtype) for k, spec in keys.items() if not spec.image}
    for key, s in layout.items():
        steps[key] = state[:, s]
    env_layout = _env_layout(features)
    if env_layout:
        env = _column(block, ENV_STATE, np.float32).reshape(n, -1)
        for key, s in env_layout.items():
            steps[key] = env[:, s]
    steps[ACTION] = _column(block, ACTION, np.float32).reshape(n, -1)
    relative = _column(block, "timestamp", np.float64)
    steps["timestamp"] = relative
    for cam in config.cameras:
        steps[f"{cam.name}_timestamp"] = relative
    for key in keys:
        if CARRY_PREFIX + key in features:
            steps[key] = _column(block, CARRY_PREFIX + key, keys[key].dtype).reshape(n, *keys[key].shape)
    return steps
