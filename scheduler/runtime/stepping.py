"""Stepping a SimPy environment under a stop control (signals, wall-time and event limits)."""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from scheduler.interrupt import StopControl


def _stopped(stop: StopControl, steps: int, events: int, max_events: float) -> bool:
    """Should the run end now? The clock is read every ``CHECK_EVERY`` steps only."""
    if (stop.reason is not None or events >= max_events
            or (steps % stop.CHECK_EVERY == 0 and stop.check(events))):
        stop.check(events)
        return True
    return False


def _max_events(stop: StopControl) -> float:
    return stop.max_events if stop.max_events is not None else math.inf


def run_until(env: simpy.Environment, until: float, stop: StopControl,
              events: Callable[[], int]) -> bool:
    """Process events before ``until`` (then move the clock there); False when the stop
    control ended the run early. Same order as ``env.run(until)``: events at ``until``
    itself are left for later, as SimPy does."""
    max_events = _max_events(stop)
    steps = 0
    while env.peek() < until:
        env.step()
        steps += 1
        if _stopped(stop, steps, events(), max_events):
            return False
    if stop.check(events()):
        return False
    env.run(until=until)
    return True


def run_while(env: simpy.Environment, busy: Callable[[], bool], stop: StopControl,
              events: Callable[[], int]) -> None:
    """Process events while ``busy()`` and something is scheduled (what waits with nothing
    scheduled can never start), or until the stop control ends the run."""
    max_events = _max_events(stop)
    steps = 0
    while busy():
        if env.peek() == math.inf:
            break
        env.step()
        steps += 1
        if _stopped(stop, steps, events(), max_events):
            break
