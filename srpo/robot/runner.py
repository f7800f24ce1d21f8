"""The one-process runner behind `srpo robot record` and `srpo robot deploy` (no ROS), as Python functions.

    path = record_episodes(RecordConfig(task="lift", episodes=40, out="datasets/sim_lift.zarr"))
    results = deploy_policy(DeployConfig(policy="outputs/act", task="lift", episodes=20))
    results.success_rate
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srpo.errors import UserFacingError
from srpo.robot.arm import ACTION_DIM, ACTION_SPACE, Arm
from srpo.robot.recorder import EpisodeRecorder, EpisodeResult, LoopConfig
from srpo.robot.safety import SafetyConfig, SafetyFilter
from srpo.store import EpisodeStore, StoreConfig

SIM_CAMERAS = ("front", "wrist")  # MuJoCo cameras recorded as camera0, camera1


@dataclass(frozen=True)
class RigConfig:
    """The hardware (or simulation) under the loop."""

    backend: str = "sim"  # "sim" (MuJoCo xArm 7) or "xarm" (a real arm through xarm-python-sdk)
    task: str = "lift"  # sim task name (sim) or the instruction text (xarm)
    seed: int = 0  # sim: seed of object placement (and of the expert's noise)
    control_rate_hz: float = 20.0  # control ticks per second
    max_steps: int = 200  # ticks per episode at most
    camera_height: int = 96  # image rows recorded
    camera_width: int = 128  # image columns recorded
    xarm_ip: str = "192.168.1.185"  # xarm backend: controller address
    realsense_serials: tuple[str, ...] = ()  # xarm backend: RealSense serials, camera0.. (empty: first found)
    realtime: bool | None = None  # pace ticks on the wall clock; None: True for xarm, False for sim
    safety: SafetyConfig = field(default_factory=SafetyConfig)  # limits of the safety filter


@dataclass(frozen=True)
class RecordConfig(RigConfig):
    """`srpo robot record`."""

    episodes: int = 10  # episodes to record
    out: str = "datasets/robot.zarr"  # episode store (created, or appended to when it exists)
    teleop: str = "expert"  # "expert" (sim only), "keyboard" or "spacemouse"
    expert_noise: float = 1.0  # scripted expert's noise scale (0 clean; ~1 about half fail on lift)
    calibration: str | None = None  # calibration YAML (`srpo calib`): camera intrinsics/extrinsics for the store


@dataclass(frozen=True)
class DeployConfig(RigConfig):
    """`srpo robot deploy`."""

    policy: str = ""  # LeRobot checkpoint directory
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


def build_rig(config: RigConfig) -> tuple[Arm, dict, object]:
    """Arm, cameras {camera0: ..} and the success predicate (None on a real arm), not yet connected."""
    if config.backend == "sim":
        from srpo.robot.cameras import SimCamera
        from srpo.robot.sim.arm import SimArm, SimArmConfig

        arm = SimArm(SimArmConfig(task=config.task, control_rate_hz=config.control_rate_hz,
                                  camera_height=config.camera_height, camera_width=config.camera_width,
                                  seed=config.seed))
        cameras = {f"camera{i}": SimCamera(arm, name) for i, name in enumerate(SIM_CAMERAS)}
        return arm, cameras, arm.success
    if config.backend == "xarm":
        import warnings

        from srpo.robot.cameras import RealSenseCamera, ThreadedCamera
        from srpo.robot.xarm_backend import XArmBackend, XArmConfig

        if config.control_rate_hz < 100:
            warnings.warn(f"xArm servo mode wants a steady 100-250 Hz stream; {config.control_rate_hz} Hz will "
                          "move in visible steps (pass --rate 100)", stacklevel=2)
        arm = XArmBackend(XArmConfig(ip=config.xarm_ip, control_rate_hz=config.control_rate_hz))
        serials = config.realsense_serials or (None,)
        cameras = {f"camera{i}": ThreadedCamera(RealSenseCamera(serial, config.camera_height, config.camera_width),
                                                fps=30) for i, serial in enumerate(serials)}
        return arm, cameras, None
    raise UserFacingError(f"unknown backend {config.backend!r}; use 'sim' or 'xarm'")


def _instruction(config: RigConfig) -> str:
    if config.backend == "sim":
        from srpo.robot.sim.tasks import TASKS

        if config.task not in TASKS:
            raise UserFacingError(f"unknown sim task {config.task!r}; choose one of {sorted(TASKS)}")
        return TASKS[config.task].instruction
    return config.task


def open_store(path: str | Path, cameras: dict, rate_hz: float, calibration: str | Path | None = None) -> EpisodeStore:
    """Create the store, or open it for appending when its cameras and action space match.

    calibration: a YAML written by `srpo calib`; its intrinsics/extrinsics go into the camera specs and the
    file's summary into the store's attrs (`srpo data info` shows it).
    """
    specs = tuple(camera.spec(name) for name, camera in cameras.items())
    calibration_attrs: dict = {}
    if calibration is not None:
        from calibration import load_calibration

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
        return store
    config = StoreConfig(cameras=specs, action_dim=ACTION_DIM, control_rate_hz=rate_hz,
                         action_space=ACTION_SPACE, calibration=calibration_attrs)
    return EpisodeStore.create(path, config)


def _make_teleop(config: RecordConfig, episode_seed: int):
    from srpo.robot import teleop

    if config.teleop == "expert":
        if config.backend != "sim":
            raise UserFacingError("the scripted expert needs the simulator; use --teleop keyboard|spacemouse")
        return teleop.ScriptedExpert(config.task, teleop.ExpertConfig(noise=config.expert_noise), seed=episode_seed)
    if config.teleop == "keyboard":
        return teleop.KeyboardTeleop()
    if config.teleop == "spacemouse":
        return teleop.SpaceMouseTeleop()
    raise UserFacingError(f"unknown teleop {config.teleop!r}; use expert, keyboard or spacemouse")


def _loop_config(config: RigConfig) -> LoopConfig:
    realtime = config.backend != "sim" if config.realtime is None else config.realtime
    return LoopConfig(control_rate_hz=config.control_rate_hz, max_steps=config.max_steps, realtime=realtime)


def _run(config: RigConfig, episodes: int, store: EpisodeStore | None, arm, cameras, success_fn,
         make_source, source_name: str, progress: bool, desc: str) -> list[EpisodeResult]:
    from tqdm.auto import tqdm

    clock = (lambda: arm.time) if config.backend == "sim" else None
    recorder = EpisodeRecorder(arm, cameras, SafetyFilter(config.safety, config.control_rate_hz), store,
                               _loop_config(config), success_fn=success_fn, clock=clock)
    task_text = _instruction(config)
    results = []
    bar = tqdm(range(episodes), desc=desc, disable=not progress, unit="ep")
    for i in bar:
        if config.backend == "sim":
            arm.reset()
        results.append(recorder.run_episode(task_text, make_source(i), source_name))
        labelled = [r.success for r in results if r.success is not None]
        bar.set_postfix(success=f"{sum(labelled)}/{len(labelled)}", steps=results[-1].steps)
    return results


def record_episodes(config: RecordConfig, progress: bool = True) -> Path:
    """Record `config.episodes` episodes into `config.out`; returns the store path."""
    if config.episodes < 1:
        raise UserFacingError("--episodes must be at least 1")
    if config.teleop == "expert" and config.backend != "sim":
        raise UserFacingError("the scripted expert needs the simulator; use --teleop keyboard|spacemouse")
    _instruction(config)
    arm, cameras, success_fn = build_rig(config)
    arm.connect()
    try:
        for camera in cameras.values():
            camera.connect()
        store = open_store(config.out, cameras, config.control_rate_hz, config.calibration)
        source = "sim" if config.backend == "sim" else "teleop"
        _run(config, config.episodes, store, arm, cameras, success_fn,
             lambda i: _make_teleop(config, config.seed * 100_003 + i), source, progress, "recording")
    finally:
        for camera in cameras.values():
            camera.disconnect()
        arm.disconnect()
    return Path(config.out)


def deploy_policy(config: DeployConfig, progress: bool = True) -> DeployResults:
    """Run the policy for `config.episodes` episodes; success rate from the sim predicate (or labels)."""
    from srpo.robot.policy_runner import LoadedPolicy, PolicyConfig, PolicySource

    if not config.policy:
        raise UserFacingError("--policy CHECKPOINT is required (a LeRobot policy directory)")
    task_text = _instruction(config)
    policy_cfg = PolicyConfig(checkpoint=config.policy, device=config.device, blocking=config.backend == "sim")
    policy = LoadedPolicy(policy_cfg)
    source = PolicySource(policy, task_text, policy_cfg)
    arm, cameras, success_fn = build_rig(config)
    start = time.monotonic()
    arm.connect()
    try:
        for camera in cameras.values():
            camera.connect()
        store = open_store(config.out, cameras, config.control_rate_hz) if config.out else None
        results = _run(config, config.episodes, store, arm, cameras, success_fn, lambda i: source, "policy",
                       progress, "deploying")
    finally:
        source.close()
        for camera in cameras.values():
            camera.disconnect()
        arm.disconnect()
    return DeployResults(results, time.monotonic() - start)
