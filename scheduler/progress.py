"""Progress of a long run on a terminal: simulated time, events per second and an ETA.

SimPy-free: the engine calls :meth:`Progress.update` from a periodic process with the
simulated clock and its event count; :meth:`Progress.close` ends the line. A disabled
``Progress`` does nothing (and imports nothing), so callers need not test for it. The CLI
enables it only when stderr is a terminal and ``--quiet`` is not given, so logs of CI and
scripts stay clean.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from scheduler.units import format_time

REFRESH_S = 0.2
"""Least wall time between two redraws (updates in between only record the numbers)."""


class Progress:
    """A progress bar over simulated time ``[0, total_sim_s]`` (tqdm, written to ``file``).

    The ETA is tqdm's, from the rate of simulated seconds per wall second. When the run goes
    past ``total_sim_s`` (draining after the horizon) the bar stays full and says so.
    """

    def __init__(self, total_sim_s: float, enabled: bool = True, file: IO[str] | None = None,
                 description: str = "simulating") -> None:
        self.total_sim_s = max(float(total_sim_s), 0.0)
        """Simulated horizon in seconds (100 %)."""
        self.enabled = enabled
        """False: every method is a no-op."""
        self.sim_now = 0.0
        """Last simulated time reported."""
        self.events = 0
        """Last event count reported."""
        self._bar: Any = None
        self._started = time.perf_counter()
        self._last_draw = float("-inf")
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total_sim_s or 1.0, file=file if file is not None else sys.stderr,
                desc=description, leave=True, dynamic_ncols=True, mininterval=REFRESH_S,
                bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]")

    def update(self, sim_now: float, events: int) -> None:
        """Record the simulated clock ``sim_now`` (seconds) and the events processed so far."""
        if self._bar is None:
            return
        self.sim_now = float(sim_now)
        self.events = int(events)
        wall = time.perf_counter()
        if wall - self._last_draw < REFRESH_S:
            return
        self._last_draw = wall
        self._draw(wall)

    def close(self) -> None:
        """Draw the final state and end the line. Safe to call twice."""
        if self._bar is None:
            return
        self._draw(time.perf_counter())
        self._bar.close()
        self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _draw(self, wall: float) -> None:
        elapsed = max(wall - self._started, 1e-9)
        rate = self.events / elapsed
        total = self._bar.total
        done = min(self.sim_now, total)
        horizon = format_time(self.total_sim_s)
        where = (f"{format_time(self.sim_now)} / {horizon} simulated"
                 if self.sim_now <= self.total_sim_s
                 else f"draining at {format_time(self.sim_now)} (horizon {horizon})")
        self._bar.set_postfix_str(f"{where}, {self.events:,} events, {rate:,.0f} events/s",
                                  refresh=False)
        self._bar.n = done
        self._bar.refresh()
