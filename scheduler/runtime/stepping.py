"""Stepping a SimPy environment under a stop control (signals, wall-time and event limits)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import simpy

from scheduler.interrupt import StopControl


class EventCounter(Protocol):
    events: int
    """Events processed so far (what ``max_events`` limits)."""


def _max_events(stop: StopControl) -> float:
    return stop.max_events if stop.max_events is not None else math.inf


def run_until(env: simpy.Environment, until: float, stop: StopControl,
              counter: EventCounter) -> bool:
    """Process events before ``until`` (then move the clock there); False when the stop
    control ended the run early. Same order as ``env.run(until)``: events at ``until``
    itself are left for later, as SimPy does. The clock is read every ``CHECK_EVERY``
    steps only (this loop is the hottest of a run: its test is inline)."""
    max_events = _max_events(stop)
    every = stop.CHECK_EVERY
    steps = 0
    while env.peek() < until:
        env.step()
        steps += 1
        if (stop.reason is not None or counter.events >= max_events
                or (steps % every == 0 and stop.check(counter.events))):
            stop.check(counter.events)
            return False
    if stop.check(counter.events):
        return False
    env.run(until=until)
    return True


def run_while(env: simpy.Environment, busy: Callable[[], bool], stop: StopControl,
              counter: EventCounter) -> None:
    """Process events while ``busy()`` and something is scheduled (what waits with nothing
    scheduled can never start), or until the stop control ends the run."""
    max_events = _max_events(stop)
    every = stop.CHECK_EVERY
    steps = 0
    while busy():
        if env.peek() == math.inf:
            break
        env.step()
        steps += 1
        if (stop.reason is not None or counter.events >= max_events
                or (steps % every == 0 and stop.check(counter.events))):
            stop.check(counter.events)
            break
