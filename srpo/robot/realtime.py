"""Hard pacing for the control loop: a sleep-then-spin tick clock and a realtime section for the episode.

time.sleep alone wakes late by the scheduler's slack (0.05-several ms, more under load), so the pacer sleeps
until `spin_s` before the deadline and spins on perf_counter for the rest. Inside `realtime_section()`:
  * the garbage collector's full (generation 2) collections are off and every object alive at the start is
    frozen out of the collector (gc.freeze), so no collection walks the whole heap mid-episode; the young
    generations still run (cheap) and a full collection runs when the section ends;
  * the interpreter's thread switch interval drops to 0.5 ms, so the control thread gets the GIL back soon
    after it wakes even while the writer and camera threads run Python code;
  * the control thread asks for SCHED_FIFO priority where the OS allows it (root or CAP_SYS_NICE), else
    it keeps the normal scheduler; `section.fifo` says which. The process's other threads (cameras, store
    writer, SDK) get SCHED_FIFO one level lower: otherwise another process can preempt one of them while it
    holds the GIL, and the control thread waits for that process's time slice (a priority inversion).
"""

import contextlib
import gc
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class TickPacer:
    """Ticks at `rate_hz` on perf_counter: wait() returns at the next deadline; an overrun restarts the grid."""

    def __init__(self, rate_hz: float, spin_s: float = 0.002):
        self.period = 1.0 / rate_hz
        self.spin_s = spin_s
        self.next = time.perf_counter()
        self.overruns = 0

    def wait(self) -> None:
        self.next += self.period
        now = time.perf_counter()
        if now >= self.next:  # overran: start the next tick now, do not burst to catch up
            self.overruns += 1
            self.next = now
            return
        if self.next - now > self.spin_s:
            time.sleep(self.next - now - self.spin_s)
        while time.perf_counter() < self.next:
            pass


@dataclass
class RealtimeSection:
    fifo: bool = False  # the control thread got SCHED_FIFO


@contextlib.contextmanager
def realtime_section(fifo_priority: int = 50):
    """GC frozen with full collections off, a short GIL switch interval, SCHED_FIFO if permitted (0: never ask)."""
    section = RealtimeSection()
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], 1_000_000_000)  # generation 2 never fills up
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    restore: dict[int, tuple] = {}
    if fifo_priority > 0 and hasattr(os, "sched_setscheduler"):
        me = threading.get_native_id()
        for tid in [me] + [t for t in _threads() if t != me]:
            try:
                old = (os.sched_getscheduler(tid), os.sched_getparam(tid))
                prio = fifo_priority if tid == me else max(1, fifo_priority - 10)
                os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(prio))  # a tid: that thread only
                restore[tid] = old
            except OSError:  # not permitted (no root / CAP_SYS_NICE), or the thread ended meanwhile
                if tid == me:
                    break
        section.fifo = me in restore
    try:
        yield section
    finally:
        for tid, old in restore.items():
            with contextlib.suppress(OSError):
                os.sched_setscheduler(tid, *old)
        sys.setswitchinterval(switch)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        gc.collect()


def run_hard(tick: Callable[[], bool], rate_hz: float, before: Callable[[], None] = lambda: None,
             stop: threading.Event | None = None) -> None:
    """The hard loop of an episode on a real arm: inside realtime_section, before() (wait for fresh frames),
    then tick() on the sleep-then-spin grid until it returns False or `stop` is set. `srpo robot record` and the
    ROS robot node both run their episodes through it."""
    with realtime_section():
        before()
        pacer = TickPacer(rate_hz)
        while tick() and not (stop is not None and stop.is_set()):
            pacer.wait()


class ControlThread:
    """A control loop in a thread of its own (the ROS robot node's, beside rclpy's executor): tick() at `rate_hz`
    on the pacer grid; while episode() holds and `hard`, through run_hard (GC frozen, SCHED_FIFO if permitted).

    setup() runs first on the thread (a MuJoCo camera's GL context belongs to the thread that renders) and start()
    re-raises its error; teardown() runs on the thread when the loop ends. tick_times keeps the start of every tick
    (perf_counter s) for benchmarks; stop() ends the loop and joins it."""

    def __init__(self, tick: Callable[[], None], rate_hz: float, episode: Callable[[], bool],
                 before_episode: Callable[[], None] = lambda: None, hard: bool = True,
                 setup: Callable[[], None] = lambda: None, teardown: Callable[[], None] = lambda: None,
                 keep_ticks: int = 100_000):
        import collections

        self.tick, self.rate_hz, self.episode, self.before_episode, self.hard = tick, rate_hz, episode, before_episode, hard
        self.setup, self.teardown = setup, teardown
        self.tick_times: collections.deque = collections.deque(maxlen=keep_ticks)
        self.stopping = threading.Event()
        self._ready = threading.Event()
        self._setup_error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="control")

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._setup_error is not None:
            self._thread.join()
            raise self._setup_error

    def _main(self) -> None:
        try:
            self.setup()
        except BaseException as err:  # noqa: BLE001 - raised again by start() in the caller's thread
            self._setup_error = err
            self._ready.set()
            return
        self._ready.set()
        try:
            self._run()
        finally:
            self.teardown()

    def stop(self, timeout_s: float = 5.0) -> None:
        self.stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self.stopping.is_set()

    def _tick(self) -> None:
        self.tick_times.append(time.perf_counter())
        self.tick()

    def _episode_tick(self) -> bool:
        self._tick()
        return self.episode()

    def _run(self) -> None:
        spin_s = 0.002 if self.hard else 0.0  # a simulated arm needs no spinning to the deadline
        pacer = TickPacer(self.rate_hz, spin_s)
        while not self.stopping.is_set():
            if self.hard and self.episode():
                run_hard(self._episode_tick, self.rate_hz, self.before_episode, self.stopping)
                pacer = TickPacer(self.rate_hz, spin_s)
            else:
                self._tick()
                pacer.wait()


def _threads() -> list[int]:
    """Native ids of this process's threads (Linux); empty where /proc is not there."""
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return []
