"""Real-time pacing: the tick clock keeps its grid and does not burst after an overrun; the realtime section
turns the collector's full collections off and restores everything afterwards."""

import gc
import sys
import time

import numpy as np

from srpo.robot.realtime import TickPacer, realtime_section


def test_pacer_keeps_the_grid_and_restarts_after_an_overrun():
    pacer = TickPacer(200.0)
    start = time.perf_counter()
    stamps = []
    for i in range(60):
        if i == 30:
            time.sleep(0.05)  # a 10-period stall
        pacer.wait()
        stamps.append(time.perf_counter())
    intervals = np.diff(stamps)
    assert 1 <= pacer.overruns <= 8  # the stall (and a few late wakes on a loaded box)
    # no burst after the stall: a short interval only follows a late wake (the grid is kept), so short ones never
    # outnumber the late ones by more than the overrun's own; a pacer that catches up would add ~10 short ones
    late, short = np.sum(intervals > 0.006), np.sum(intervals < 0.004)
    assert short <= late + 2, (short, late)
    # 59 periods on the grid plus the stall (which replaces one period); never more than the late wakes add
    assert 59 * 0.005 + 0.05 - 0.001 < stamps[-1] - start < 59 * 0.005 + 0.05 + 0.05


def test_realtime_section_suspends_full_collections_and_restores():
    before = (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count())
    with realtime_section(fifo_priority=0) as section:
        assert gc.get_threshold()[2] >= 10**9 and sys.getswitchinterval() == 0.0005
        assert gc.get_freeze_count() > 0 and not section.fifo
    assert (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()) == before
