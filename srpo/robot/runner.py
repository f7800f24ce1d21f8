"""The one-process runner behind `srpo robot record` and `srpo robot deploy` (no ROS), as Python functions.

    path = record_episodes(RecordConfig(task="lift", episodes=40, out="datasets/sim_lift.zarr"))
    results = deploy_policy(DeployConfig(policy="outputs/act", task="lift", episodes=20))
    results.success_rate

RecordConfig and DeployConfig are also the command lines' configs (`srpo robot record --help`).
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from srpo.errors import UserFacingError
from srpo.robot.arm import ACTION_DIM, ACTION_SPACE
from srpo.robot.recorder import EpisodeRecorder, EpisodeResult, LoopConfig
from srpo.robot.rig import Rig, RigConfig, build_rig
from srpo.robot.safety import SafetyFilter
from srpo.robot.teleop import (
    ExpertTeleopConfig,
    TeleopConfig,
    operator_schedule,
    parse_operator_mix,
    teleop_config,
)
from srpo.store import EpisodeStore, StoreConfig

# old flag names of `srpo robot record/deploy` -> config fields
RIG_ALIASES = {"rate": "control_rate_hz", "image-size": "camera_height,camera_width", "xarm-ip": "backend.ip",
               "xarm-control-port": "backend.control_port"}
# old flags that a field of another shape replaced -> what to pass now
RIG_REPLACED = {
    "realsense": "--backend.cameras \"{camera0: {type: srpo_realsense, serial_number_or_name: 'SERIAL0'}, "
                 "camera1: {type: srpo_realsense, serial_number_or_name: 'SERIAL1'}}\"",
    "opencv": "--backend.cameras \"{camera0: {type: srpo_opencv, index_or_path: 0}, "
              "camera1: {type: srpo_opencv, index_or_path: video.mp4}}\"",
}


@dataclass(frozen=True)
class RecordConfig(RigConfig):
    """Record episodes (arm state, cameras, commanded actions, success labels) into a Zarr episode store. On the
    sim the scripted noisy expert drives the arm and the task predicate labels success."""

    CLI_ALIASES: ClassVar[dict[str, str]] = RIG_ALIASES
    CLI_REPLACED: ClassVar[dict[str, str]] = RIG_REPLACED

    episodes: int = 10  # episodes to record
    out: str = "datasets/robot.zarr"  # episode store (created, or appended to when it exists)
    teleop: TeleopConfig = field(default_factory=ExpertTeleopConfig)  # command source: expert (sim only), keyboard or spacemouse
    expert_noise: float = 1.0  # scripted expert's noise scale (0 clean; ~1 about half fail on lift)
    operator: str = "expert"  # sim scripted operators and their mix, e.g. expert:0.3,early_close:0.2,overshoot:0.5 (srpo.robot.teleop.OPERATOR_PROFILES); stored per episode
    calibration: str | None = None  # calibration YAML (`srpo calib`): camera intrinsics/extrinsics for the store

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.teleop, str):  # RecordConfig(teleop="keyboard")
            object.__setattr__(self, "teleop", teleop_config(self.teleop))


@dataclass(frozen=True)
class DeployConfig(RigConfig):
    """Run a LeRobot policy (any type: ACT, diffusion, pi0, pi0-FAST...) with every command through the safety
    filter; reports the sim success rate."""

    CLI_ALIASES: ClassVar[dict[str, str]] = RIG_ALIASES
    CLI_REPLACED: ClassVar[dict[str, str]] = RIG_REPLACED

    policy: str = ""  # LeRobot checkpoint directory (save_pretrained output)
    episodes: int = 10  # episodes to run
    device: str = "cpu"  # torch device of the policy
    out: str | None = None  # also record the rollouts (source "policy") into this store


@dataclass
class DeployResults:
    """Outcome of a deployment."""

    episodes: list[EpisodeResult]  # one per episode
    seconds: float  # wall-clock time of the whole run

    @property
    def success_rate(self) -> float:
        labelled = [r.success for r in self.episodes if r.success is not None]
        return float(np.mean(labelled)) if labelled else float("nan")


def open_store(path: str | Path, cameras: dict, rate_hz: float, calibration: str | Path | None = None,
               extra_keys: dict[str, int] | None = None) -> EpisodeStore:
    """Create the store, or open it for appending when its cameras, action space and extra keys match.

    extra_keys: the arm's state beyond the robot keys (`Arm.extra_state_keys`, the sim's object poses).
    calibration: a YAML written by `srpo calib`; its intrinsics/extrinsics go into the camera specs and the
    file's summary into the store's attrs (`srpo data info` shows it).
    """
    specs = tuple(camera.spec(name) for name, camera in cameras.items())
    calibration_attrs: dict = {}
    if calibration is not None:
        from srpo.robot.calibration_file import load_calibration

        if not Path(calibration).is_file():
            raise UserFacingError(f"calibration file {calibration} not found; run `srpo calib handeye` first")
        loaded = load_calibration(calibration)
        specs = loaded.apply(specs)
        calibration_attrs = loaded.store_attrs
    path = Path(path)
    if path.exists():
        store = EpisodeStore.open(path, mode="a")
        have = [(c.name, c.height, c.width, c.depth) for c in store.config.cameras]
        want = [(c.name, c.height, c.width, c.depth) for c in specs]
        if have != want or store.config.action_dim != ACTION_DIM:
            raise UserFacingError(f"{path} records cameras {have}, this rig gives {want}; use a new --out")
        if dict(store.config.extra_keys) != dict(extra_keys or {}):
            raise UserFacingError(f"{path} records extra state {dict(store.config.extra_keys)}, this rig gives "
                                  f"{dict(extra_keys or {})}; use a new --out")
        return store
    config = StoreConfig(cameras=specs, action_dim=ACTION_DIM, control_rate_hz=rate_hz,
                         action_space=ACTION_SPACE, calibration=calibration_attrs, extra_keys=dict(extra_keys or {}))
    return EpisodeStore.create(path, config)


def loop_config(config: RigConfig, rig: Rig) -> LoopConfig:
    """Rate and episode length from the config; wall-clock pacing unless simulated (or set explicitly)."""
    realtime = not rig.is_simulated if config.realtime is None else config.realtime
    return LoopConfig(control_rate_hz=config.control_rate_hz, max_steps=config.max_steps, realtime=realtime)


def make_recorder(config: RigConfig, rig: Rig, store: EpisodeStore | None, arm=None,
                  cameras: dict | None = None) -> EpisodeRecorder:
    """The recorder of `srpo robot record` for this rig (the ROS robot node passes its own arm wrapper and, with
    cameras from topics, its own cameras)."""
    return EpisodeRecorder(arm or rig.arm, rig.cameras if cameras is None else cameras,
                           SafetyFilter(config.safety, config.control_rate_hz), store, loop_config(config, rig),
                           success_fn=rig.success_fn, clock=rig.clock)


def _run(config: RigConfig, rig: Rig, episodes: int, store: EpisodeStore | None, make_source,
         source_name: str, progress: bool, desc: str, episode_meta=None) -> list[EpisodeResult]:
    """episode_meta(i) -> dict: facts stored with the i-th recorded episode (EpisodeInfo.meta)."""
    from tqdm.auto import tqdm

    recorder = make_recorder(config, rig, store)
    task_text = config.backend.instruction(config.task)
    results = []
    bar = tqdm(range(episodes), desc=desc, disable=not progress, unit="ep")
    for i in bar:
        rig.reset()
        results.append(recorder.run_episode(task_text, make_source(i), source_name))
        if store is not None and episode_meta is not None and results[-1].index >= 0:
            store.set_episode_meta(results[-1].index, **episode_meta(i))
        labelled = [r.success for r in results if r.success is not None]
        bar.set_postfix(success=f"{sum(labelled)}/{len(labelled)}", steps=results[-1].steps)
    return results


def record_episodes(config: RecordConfig, progress: bool = True) -> Path:
    """Record `config.episodes` episodes into `config.out`; returns the store path."""
    if config.episodes < 1:
        raise UserFacingError("--episodes must be at least 1")
    config.backend.instruction(config.task)
    operators = operator_schedule(parse_operator_mix(config.operator), config.episodes, config.seed)
    rig = build_rig(config)
    config.teleop.check(rig)
    if set(operators) != {"expert"} and not isinstance(config.teleop, ExpertTeleopConfig):
        raise UserFacingError("--operator mixes scripted operators; it needs --teleop expert on the sim")

    def source(i: int):
        return config.teleop.build(rig, config.expert_noise, config.seed * 100_003 + i, operators[i])

    scripted = isinstance(config.teleop, ExpertTeleopConfig)
    try:
        rig.connect()
        store = open_store(config.out, rig.cameras, config.control_rate_hz, config.calibration,
                           rig.arm.extra_state_keys())
        _run(config, rig, config.episodes, store, source, rig.source, progress, "recording",
             episode_meta=(lambda i: {"operator": operators[i]}) if scripted else None)
    finally:
        rig.disconnect()
    return Path(config.out)


def deploy_policy(config: DeployConfig, progress: bool = True) -> DeployResults:
    """Run the policy for `config.episodes` episodes; success rate from the sim predicate (or labels)."""
    from srpo.robot.policy_runner import LoadedPolicy, PolicyConfig, PolicySource

    if not config.policy:
        raise UserFacingError("--policy CHECKPOINT is required (a LeRobot policy directory)")
    task_text = config.backend.instruction(config.task)
    rig = build_rig(config)
    policy_cfg = PolicyConfig(checkpoint=config.policy, device=config.device, blocking=rig.is_simulated)
    policy = LoadedPolicy(policy_cfg)
    source = PolicySource(policy, task_text, policy_cfg)
    start = time.monotonic()
    try:
        rig.connect()
        store = (open_store(config.out, rig.cameras, config.control_rate_hz, extra_keys=rig.arm.extra_state_keys())
                 if config.out else None)
        results = _run(config, rig, config.episodes, store, lambda i: source, "policy", progress, "deploying")
    finally:
        source.close()
        rig.disconnect()
    return DeployResults(results, time.monotonic() - start)
