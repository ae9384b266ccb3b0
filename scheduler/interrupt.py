"""Stopping a run early and cleanly: signals (Ctrl-C, SIGTERM) and user limits.

A :class:`StopControl` is shared by whoever may ask a run to stop (a signal handler, a limit)
and the engine, which checks it between events and, once asked, ends the run at the current
simulated time: running and waiting jobs are reported unfinished and the results are marked
``interrupted`` with the reason. Nothing is half-written: results are written afterwards, as
one set (:func:`scheduler.outputs.write_set`).

Once the engine has returned, :meth:`StopControl.finish` freezes the reason: a signal that
arrives later (while the summary is built or the files are written) did not cut the run short,
so it is kept apart as ``late_reason`` and the results stay marked complete.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

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
        self.late_reason: str | None = None
        """A stop asked for after the run had ended (see :meth:`finish`)."""
        self._deadline: float | None = None
        self._finished = False
        self.acted = False
        """Whether :meth:`check` has said "stop" (the engine stops whenever it does)."""

    def start(self) -> None:
        """Start the wall clock (called by the engine when the run begins)."""
        if self.max_wall_time_s is not None:
            self._deadline = time.perf_counter() + self.max_wall_time_s

    def request(self, reason: str) -> None:
        """Ask the run to stop (the first reason is kept); after :meth:`finish`, record it as
        ``late_reason`` instead."""
        if self._finished:
            if self.late_reason is None:
                self.late_reason = reason
        elif self.reason is None:
            self.reason = reason

    def finish(self) -> None:
        """The run has ended. Unless it ended because :meth:`check` said "stop" (the engine
        acted on the reason), a reason already set arrived too late to cut anything short:
        it moves to ``late_reason``, and later requests go there too."""
        if not self.acted and self.reason is not None:
            self.late_reason, self.reason = self.reason, None
        self._finished = True

    def check(self, events: int) -> bool:
        """True when the run must stop now (``events`` processed so far)."""
        if self.reason is None:
            if self.max_events is not None and events >= self.max_events:
                self.request("event limit")
            elif self._deadline is not None and time.perf_counter() >= self._deadline:
                self.request("wall-time limit")
        self.acted = self.reason is not None
        return self.acted


class SignalExit(BaseException):
    """Raised by :func:`exit_on_signals`' SIGTERM handler, like KeyboardInterrupt for SIGINT:
    ``finally`` blocks run (temporary files are removed) and the CLI exits with ``code``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name
        self.code = SIGNAL_EXIT_CODES.get(name, 1)


_RAISED: list[str] = []
"""Signals whose exception :func:`exit_on_signals` raised and nobody has handled yet."""


@contextmanager
def exit_on_signals() -> Iterator[None]:
    """While active, SIGTERM raises :class:`SignalExit` (instead of killing the process with no
    cleanup) and SIGINT raises KeyboardInterrupt. Main thread only.

    An exception raised by a signal handler can land where Python swallows it (a weakref
    callback of the import machinery prints "Exception ignored" and goes on), so each signal
    is also recorded: :func:`raise_pending` raises it again at a safe point.
    """

    def handler(number: int, _frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        _RAISED.append(name)
        if number == signal.SIGINT:
            raise KeyboardInterrupt
        raise SignalExit(name)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    _RAISED.clear()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def raise_pending() -> None:
    """Raise again a signal :func:`exit_on_signals` saw but whose exception was swallowed."""
    if _RAISED:
        name = _RAISED[0]
        if name == "SIGINT":
            raise KeyboardInterrupt
        raise SignalExit(name)


def pending() -> str | None:
    """The first signal :func:`exit_on_signals` saw and nobody has handled (else None)."""
    return _RAISED[0] if _RAISED else None


def handled() -> None:
    """The caller has dealt with the signals raised so far."""
    _RAISED.clear()


@contextmanager
def handling_signals(
        make_handler: Callable[[dict[signal.Signals, Any]], Callable[[int, FrameType | None],
                                                                     None]]) -> Iterator[None]:
    """While active, SIGINT and SIGTERM go to ``make_handler(previous)`` (``previous``: the
    handlers it replaced, by signal, so it can put them back or ignore the next signal);
    the previous handlers are restored on the way out."""
    previous: dict[signal.Signals, Any] = {}
    handler = make_handler(previous)
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def stop_on_signals(control: StopControl) -> Iterator[None]:
    """While active, SIGINT and SIGTERM ask ``control`` to stop the run; a second signal
    falls back to the default behaviour (so a stuck run can still be killed)."""

    def make_handler(previous: dict[signal.Signals, Any]) -> Callable[[int, FrameType | None],
                                                                     None]:
        def handler(number: int, _frame: FrameType | None) -> None:
            control.request(signal.Signals(number).name)
            for sig, old in previous.items():  # the next one is not caught
                signal.signal(sig, old)
        return handler

    with handling_signals(make_handler):
        yield
