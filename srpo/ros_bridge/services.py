"""The state machines behind the nodes' services, without ROS.

`EpisodeService` is the robot node's recorder/start, recorder/stop and recorder/label on srpo's
EpisodeRecorder (what `srpo robot record` runs); `PolicyEpisodes` is the policy node's: an episode is asked
for once the robot's first complete state has arrived, never in a constructor. Every service answers
(ok, message), the fields of std_srvs Trigger and SetBool responses; none raises.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

from srpo.errors import UserFacingError


@dataclass(frozen=True)
class Reply:
    """A service answer: std_srvs/Trigger and SetBool responses have these two fields."""

    ok: bool  # the request was carried out
    message: str  # what happened, or what to do


class EpisodeService:
    """start / stop / label of the recorder's episodes, and the episodes it runs by itself (episodes > 0)."""

    def __init__(self, recorder, make_source: Callable[[int], object], before_episode: Callable[[], None],
                 task: str, source_name: str, episodes: int = 0):
        self.recorder, self.make_source, self.before_episode = recorder, make_source, before_episode
        self.task, self.source_name = task, source_name
        self.remaining = episodes  # episodes still to start by itself
        self.started = 0  # episodes started so far (seeds the sim expert)
        self.last = None  # EpisodeResult of the last ended episode

    def start(self) -> Reply:
        if self.recorder.active:
            return Reply(False, "an episode is already running; call recorder/stop or recorder/label")
        try:
            for camera in self.recorder.cameras.values():
                camera.latest()  # a camera topic that has not delivered yet refuses the start, not the first tick
            self.before_episode()  # the sim re-places its objects
            self.recorder.start(self.task, self.make_source(self.started), self.source_name)
        except UserFacingError as err:  # no or stale arm state, a silent camera: say so, keep serving
            return Reply(False, f"not started: {err}")
        self.started += 1
        return Reply(True, f"recording episode {self.started} ({self.task!r})")

    def stop(self) -> Reply:
        if not self.recorder.active:
            return Reply(False, "no episode is running")
        result = self._ended(self.recorder.stop("stopped by service"))
        if result.index < 0:
            return Reply(True, "stopped before the first tick: nothing recorded")
        return Reply(True, f"episode {result.index}: {result.steps} steps; label it with recorder/label")

    def label(self, success: bool) -> Reply:
        """Label the running episode (ending it) or else the last one: true success, false failure."""
        if self.recorder.active:
            self._ended(self.recorder.finish(success))
        elif self.last is not None and self.last.index >= 0 and self.recorder.store is not None:
            if self.last.status != "complete":
                return Reply(False, f"episode {self.last.index} was {self.last.status} ({self.last.reason}); "
                                    "it keeps no label")
            self.recorder.store.set_success(self.last.index, success)
            self.last.success = success
        else:
            return Reply(False, "no recorded episode to label")
        if self.last.index < 0:
            return Reply(False, "the episode ended before its first tick: nothing to label")
        return Reply(True, f"episode {self.last.index} success={success}")

    def abort(self, reason: str) -> None:
        """A fault outside the recorder (a callback raised): end the running episode as aborted."""
        if self.recorder.active:
            self._ended(self.recorder.abort(reason))

    def tick(self):
        """One control tick; returns the EpisodeResult when an episode ended on it, else None."""
        if not self.recorder.active:
            return None
        if self.recorder.tick():
            return None
        return self._ended(self.recorder.finish())

    def start_next(self) -> Reply | None:
        """Start the next of `episodes` when idle; None when there is none to start."""
        if self.recorder.active or self.remaining <= 0:
            return None
        reply = self.start()
        if reply.ok:
            self.remaining -= 1
        return reply

    def _ended(self, result):
        self.last = result
        return result


def episode_event(result) -> str:
    """The recorder/episode message (std_msgs/String) announcing an ended episode."""
    return json.dumps({"index": result.index, "status": result.status, "reason": result.reason,
                       "steps": result.steps, "success": result.success})


class PolicyEpisodes:
    """When the policy node asks the robot node for an episode, and when it acts.

    waiting --first complete state, recorder/start served--> starting --start accepted--> running
    --episode ended--> waiting | done. A refused start is retried after `retry_s`, an unanswered one (rclpy's
    client futures never time out) after `reply_timeout_s`. No robot state or no recorder/start service within
    `ready_timeout_s` of the node's start (or of the last episode): failed, with `error` saying what to check.
    """

    def __init__(self, episodes: int, now: float, retry_s: float = 1.0, reply_timeout_s: float = 5.0,
                 ready_timeout_s: float = 60.0):
        self.remaining, self.retry_s = episodes, retry_s
        self.reply_timeout_s, self.ready_timeout_s = reply_timeout_s, ready_timeout_s
        self.state = "waiting" if episodes > 0 else "done"
        self.successes: list[bool] = []
        self.error = ""
        self._retry_at = float("-inf")
        self._waiting_since = now  # since when no start was accepted
        self._sent_at = float("nan")

    def on_state(self, complete: bool, service_ready: bool, now: float) -> bool:
        """A robot state arrived; True: request recorder/start now."""
        if self.state != "waiting" or not complete or not service_ready or now < self._retry_at:
            return False
        self.state, self._sent_at = "starting", now
        return True

    def poll(self, now: float, have_state: bool, service_ready: bool) -> bool:
        """Called on a steady timer. True: the start request went unanswered (drop it; a new one follows)."""
        if self.state == "starting" and now - self._sent_at > self.reply_timeout_s:
            self.state, self._retry_at = "waiting", now
            return True
        if self.state == "waiting" and now - self._waiting_since > self.ready_timeout_s:
            missing = ("no complete robot state (xarm/joint_states, arm/eef_pose, arm/gripper_width and the images)"
                       if not have_state else "the recorder/start service is not available" if not service_ready
                       else "every recorder/start was refused or unanswered")
            self.state = "failed"
            self.error = (f"no episode started within {self.ready_timeout_s:.0f} s: {missing}; is the robot node "
                          "(recorder_node or arm_node) running in this ROS_DOMAIN_ID with source:=topic?")
        return False

    def on_start_reply(self, ok: bool, now: float) -> bool:
        """The robot's answer to recorder/start; True: the episode runs (reset the policy)."""
        if self.state != "starting":
            return False
        if ok:
            self.state = "running"
            return True
        self.state, self._retry_at = "waiting", now + self.retry_s
        return False

    def on_episode_end(self, text: str, now: float) -> dict:
        """A recorder/episode message; returns it decoded."""
        event = json.loads(text)
        if self.state == "running":
            if event.get("success") is not None:
                self.successes.append(bool(event["success"]))
            self.remaining -= 1
            self.state = "waiting" if self.remaining > 0 else "done"
            self._waiting_since = now
        return event

    def stop(self) -> None:
        self.remaining, self.state = 0, "done"

    @property
    def acting(self) -> bool:
        return self.state == "running"

    @property
    def success_rate(self) -> float:
        return sum(self.successes) / len(self.successes) if self.successes else float("nan")
