"""Did-you-mean hints for names a user typed: scenario keys, GPU types, queue policies,
command-line subcommands and choices.

Close matches by :func:`difflib.get_close_matches` (ratio >= 0.6, the difflib default: a
one-letter typo in a word of four or more letters passes, an unrelated word does not), and
also a case-insensitive exact match (``h100`` -> ``H100``), which difflib would miss.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean", "suggest_choice"]


def closest(name: str, names: Iterable[str]) -> str | None:
    """The known name closest to ``name`` (a typo of it), or None when none is close."""
    known = [str(n) for n in names]
    for candidate in known:
        if candidate.lower() == name.lower() and candidate != name:
            return candidate
    matches = difflib.get_close_matches(name, known, n=1)
    if matches and matches[0] != name:
        return matches[0]
    lowered = {candidate.lower(): candidate for candidate in known}
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=1)
    return lowered[matches[0]] if matches and lowered[matches[0]] != name else None


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known name, else an empty string."""
    match = closest(name, names)
    return f"; did you mean {match!r}?" if match is not None else ""


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<known>.*)\)")


def suggest_choice(message: str) -> str:
    """An argparse "invalid choice" message with a did-you-mean hint added (else unchanged)."""
    found = _INVALID_CHOICE.search(message)
    if found is None:
        return message
    known = re.findall(r"'([^']*)'", found["known"]) or [
        part.strip() for part in found["known"].split(",")]
    return message + did_you_mean(found["given"], known)
