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


def _threads() -> list[int]:
    """Native ids of this process's threads (Linux); empty where /proc is not there."""
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return []
