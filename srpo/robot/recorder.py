"""The control-rate loop: pair the newest frame of every camera with the arm state and the command, write steps.

One tick:  observe the arm -> take each camera's newest frame -> ask the action source -> safety filter ->
send to the arm -> append {state, frames, per-camera timestamps, action, timestamp} to the episode.
The recorded action is the filtered command actually sent. A camera that fails or falls silent, an arm
fault or a safety stop aborts the episode (kept, marked "aborted" in the store); committed episodes are
never touched. `EpisodeRecorder` is driven tick by tick (the ROS node calls tick() from a timer);
`run_episode` is the one-process loop.
"""

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from srpo.robot.arm import CONTROL_RATE_HZ, ROBOT_KEYS, Arm, ArmError
from srpo.robot.cameras import Camera, CameraError
from srpo.robot.realtime import run_hard
from srpo.robot.safety import SafetyFilter, SafetyStop
from srpo.store import EpisodeStore, EpisodeWriter


@dataclass(frozen=True)
class LoopConfig:
    """How one episode runs."""

    control_rate_hz: float = CONTROL_RATE_HZ  # ticks per second (wall clock when realtime, else the arm's clock)
    max_steps: int = 200  # an episode ends after this many ticks
    realtime: bool = False  # pace ticks on the wall clock (real arm, benchmark); False: as fast as possible (sim)
    camera_timeout_s: float = 0.5  # a camera whose newest frame is older than this (host clock) is lost
    success_extra_steps: int = 5  # ticks recorded after the success predicate first holds
    done_extra_steps: int = 10  # ticks recorded after the action source says it is done, before giving up


@dataclass
class EpisodeResult:
    """What happened in one episode."""

    index: int  # episode index in the store (-1 when not recorded)
    steps: int  # ticks executed
    success: bool | None  # the label written (None: unlabelled)
    status: str  # "complete" or "aborted"
    reason: str = ""  # why it ended
    tick_times: list[float] = field(default_factory=list)  # wall-clock start of every tick (monotonic s)
    frame_indices: dict[str, list[int]] = field(default_factory=dict)  # camera frame counter paired per tick


class BackgroundWriter:
    """Hands steps to the episode writer in a thread so that disk flushes never stall the control tick."""

    def __init__(self, writer: EpisodeWriter):
        self.writer = writer
        self._queue: queue.Queue = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="episode-writer")
        self._thread.start()

    def _run(self) -> None:
        while (step := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.writer.add_step(step)
                except BaseException as err:  # noqa: BLE001 - re-raised in the control thread
                    self._error = err

    def add_step(self, step: dict) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(step)

    def drain(self) -> EpisodeWriter:
        """Wait until every queued step is written; returns the writer for commit/abort."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.writer


class EpisodeRecorder:
    """Records episodes from an arm, its cameras and an action source into a store (or nowhere, store=None)."""

    def __init__(self, arm: Arm, cameras: dict[str, Camera], safety: SafetyFilter, store: EpisodeStore | None,
                 config: LoopConfig = LoopConfig(), success_fn: Callable[[], bool] | None = None,
                 clock: Callable[[], float] | None = None):
        self.arm, self.cameras, self.safety, self.store, self.config = arm, cameras, safety, store, config
        self.success_fn = success_fn  # the sim predicate; None on a real arm (label by key or service)
        self.clock = clock or time.time  # the clock of `timestamp` (the sim passes its own)
        self.writer: EpisodeWriter | None = None
        self.source = None
        self.result: EpisodeResult | None = None
        self.label: bool | None = None
        self._success_ticks = -1
        self._done_ticks = 0

    @property
    def active(self) -> bool:
        return self.result is not None and self.result.status == "running"

    def start(self, task: str, source, source_name: str = "teleop") -> None:
        """Begin an episode driven by `source` (a Teleop or a PolicySource)."""
        if self.active:
            raise ArmError("an episode is already running; stop it first")
        obs = self.arm.get_observation()
        self.safety.reset(obs["robot0_eef_pos"], gripper=0.0)
        source.reset(self.arm)
        self.source = source
        self.label = None
        self._success_ticks, self._done_ticks = -1, 0
        self.writer = self.store.recorder(task=task, source=source_name) if self.store is not None else None
        if self.writer is not None and self.config.realtime:
            self.writer = BackgroundWriter(self.writer)
        self.result = EpisodeResult(-1, 0, None, "running",
                                    frame_indices={name: [] for name in self.cameras})

    def observe(self) -> dict:
        """Arm state and the newest frame of every camera, keyed like the store."""
        now = time.monotonic()
        obs = self.arm.get_observation()
        step = {key: obs[key] for key in (*ROBOT_KEYS, *self.arm.extra_state_keys())}
        for name, camera in self.cameras.items():
            frame = camera.latest()
            age = now - frame.received
            if age > self.config.camera_timeout_s:
                raise CameraError(f"{name} is silent: newest frame is {age:.2f} s old")
            step[f"{name}_rgb"] = frame.rgb
            if frame.depth is not None:
                step[f"{name}_depth"] = frame.depth
            step[f"{name}_timestamp"] = frame.timestamp
            self.result.frame_indices[name].append(frame.index)
        # in real time the state ages while frames are gathered; simulated time stands still meanwhile
        step["_obs_age_s"] = time.monotonic() - now if self.config.realtime else 0.0
        return step

    def tick(self) -> bool:
        """One control tick; returns False once the episode has ended (call finish())."""
        if not self.active:
            return False
        result = self.result
        result.tick_times.append(time.monotonic())
        try:
            stamp = self.clock()  # the tick's time: when its observation was taken
            step = self.observe()
            age = step.pop("_obs_age_s")
            raw = self.source.act(step)
            action = self.safety.hold() if raw is None else self.safety.filter(raw, step, age)  # None: deadman
            if self.safety.stopped:
                raise SafetyStop(f"safety stop: {self.safety.stop_reason}")
            self.arm.send_action(action)
            if self.writer is not None:
                self.writer.add_step({**step, "action": action, "timestamp": stamp})
        except (CameraError, ArmError) as err:
            self._end("aborted", f"{type(err).__name__}: {err}")
            return False
        result.steps += 1
        return self._check_end()

    def _check_end(self) -> bool:
        for event in self.source.events():
            if event in ("success", "failure"):
                self.label = event == "success"
                return self._end("complete", f"operator labelled {event}")
            if event == "stop":
                return self._end("complete", "operator stopped")
        if self.success_fn is not None:
            if self._success_ticks < 0 and self.success_fn():
                self._success_ticks = 0
            if self._success_ticks >= 0:
                self._success_ticks += 1
                if self._success_ticks > self.config.success_extra_steps:
                    return self._end("complete", "task succeeded")
        if self.source.done:
            self._done_ticks += 1
            if self._done_ticks > self.config.done_extra_steps:
                return self._end("complete", "action source finished")
        if self.result.steps >= self.config.max_steps:
            return self._end("complete", "reached max_steps")
        return True

    def stop(self, reason: str = "stopped") -> EpisodeResult:
        """End the running episode now (service call, Ctrl-C) and commit it."""
        if self.active:
            self._end("complete", reason)
        return self.finish()

    def abort(self, reason: str) -> EpisodeResult:
        """End the running episode now as aborted (a fault outside the loop) and keep its steps so marked."""
        if self.active:
            self._end("aborted", reason)
        return self.finish()

    def _end(self, status: str, reason: str) -> bool:
        self.result.status, self.result.reason = status, reason
        return False

    def finish(self, success: bool | None = None) -> EpisodeResult:
        """Label and commit the ended episode; `success` overrides the label (key press, service)."""
        result = self.result
        if result is None:
            raise ArmError("no episode to finish; start one first")
        if result.status == "running":
            self._end("complete", "finished")
        if success is not None:
            self.label = success
        elif self.label is None and self.success_fn is not None and result.status == "complete":
            self.label = self.success_fn() or self._success_ticks >= 0
        result.success = self.label if result.status == "complete" else None
        if isinstance(self.writer, BackgroundWriter):
            self.writer = self.writer.drain()
        if self.writer is not None:
            if result.status == "aborted":
                result.index = self.writer.abort(result.reason)
            else:
                self.writer.success = result.success
                result.index = self.writer.commit()
        self.writer = None
        self.result = None
        return result

    def run_episode(self, task: str, source, source_name: str = "teleop") -> EpisodeResult:
        """start(), tick at the control rate until the episode ends, finish(). In real time: the hard loop."""
        self.start(task, source, source_name)
        try:
            if self.config.realtime:
                run_hard(self.tick, self.config.control_rate_hz, self.await_fresh_frames)
            else:
                self.await_fresh_frames()
                while self.tick():
                    pass
        except BaseException:
            if self.writer is not None and self.result is not None:
                self._end("aborted", "interrupted")
                self.finish()
            raise
        return self.finish()

    def await_fresh_frames(self) -> None:
        """Entering the realtime section ran a full GC that held the GIL (camera threads stood still) and the
        episode start moved the scene: the first tick pairs the state with a frame captured from now on."""
        now = time.monotonic()
        for camera in self.cameras.values():
            camera.await_frame_after(now, timeout_s=max(2.0, 4 * self.config.camera_timeout_s))


def tick_stats(tick_times: list[float], rate_hz: float) -> dict[str, float]:
    """Achieved rate and jitter (|interval - period|, ms) of a run of ticks."""
    times = np.asarray(tick_times)
    if len(times) < 3:
        return {"rate_hz": float("nan"), "jitter_p50_ms": float("nan"), "jitter_p99_ms": float("nan")}
    intervals = np.diff(times)
    jitter = np.abs(intervals - 1.0 / rate_hz) * 1000
    return {"rate_hz": float(1.0 / intervals.mean()), "jitter_p50_ms": float(np.percentile(jitter, 50)),
            "jitter_p99_ms": float(np.percentile(jitter, 99))}
