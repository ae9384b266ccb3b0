"""Stopping a run early and cleanly: signals (Ctrl-C, SIGTERM) and user limits.

A :class:`StopControl` is shared by whoever may ask a run to stop (a signal handler, a limit)
and the engine, which checks it between events and, once asked, ends the run at the current
simulated time: running and waiting jobs are reported unfinished and the results are marked
``interrupted`` with the reason. Nothing is half-written: results are written afterwards, by
the atomic writers.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNAL_EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}
"""Shell conventions: 128 + signal number."""


class StopControl:
    """Limits of a run and the reason it stopped early (None while it may go on)."""

    CHECK_EVERY = 1024
    """Events between two looks at the wall clock (reading it is not free)."""

    def __init__(self, max_wall_time_s: float | None = None, max_events: int | None = None) -> None:
        self.max_wall_time_s = max_wall_time_s
        self.max_events = max_events
        self.reason: str | None = None
        self._deadline: float | None = None

    def start(self) -> None:
        """Start the wall clock (called by the engine when the run begins)."""
        if self.max_wall_time_s is not None:
            self._deadline = time.perf_counter() + self.max_wall_time_s

    def request(self, reason: str) -> None:
        """Ask the run to stop (the first reason is kept)."""
        if self.reason is None:
            self.reason = reason

    def check(self, events: int) -> bool:
        """True when the run must stop now (``events`` processed so far)."""
        if self.reason is not None:
            return True
        if self.max_events is not None and events >= self.max_events:
            self.request("event limit")
        elif self._deadline is not None and time.perf_counter() >= self._deadline:
            self.request("wall-time limit")
        return self.reason is not None


@contextmanager
def stop_on_signals(control: StopControl) -> Iterator[None]:
    """While active, SIGINT and SIGTERM ask ``control`` to stop the run; a second signal
    falls back to the default behaviour (so a stuck run can still be killed)."""
    previous: dict[signal.Signals, object] = {}

    def handler(number: int, _frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        control.request(name)
        for sig, old in previous.items():  # the next one is not caught
            signal.signal(sig, old)  # type: ignore[arg-type]

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
