"""Why a job waits or was rejected: codes stored in the job table's ``reason`` column.

Codes below :data:`FIRST_FILTER_REASON` are fixed; a placement filter that leaves a job no
column adds its own reason after them (``FIRST_FILTER_REASON + filter index``).
"""

from __future__ import annotations

from enum import IntEnum


class Reason(IntEnum):
    """Built-in reason codes (values are stored in outputs' order: never renumber)."""

    NEVER_FITS = 0
    WAITING = 1
    BEHIND = 2
    POWER_CAP = 3
    QUOTA = 4
    DEFERRED = 5
    BACKFILL = 6
    CANCELLED = 7

    @property
    def text(self) -> str:
        return REASON_TEXT[self]


REASON_TEXT = {
    Reason.NEVER_FITS: "larger than any allowed node group can hold",
    Reason.WAITING: "waiting for free GPUs",
    Reason.BEHIND: "queued behind the head of the line",
    Reason.POWER_CAP: "site power cap",
    Reason.QUOTA: "tenant quota",
    Reason.DEFERRED: "deferred to a low-carbon or low-price window",
    Reason.BACKFILL: "waiting for a backfill reservation",
    Reason.CANCELLED: "replica request cancelled by the autoscaler",
}
FIRST_FILTER_REASON = len(Reason)
NO_REASON = -1
"""The ``reason`` of a job that runs (or has not been looked at)."""


def reason_texts(filter_reasons: list[str]) -> list[str]:
    """Text of every code of a run: the built-in reasons, then one per placement filter."""
    return [REASON_TEXT[r] for r in Reason] + list(filter_reasons)
