"""Untrusted text (names from scenarios, traces and result files) on its way to a terminal,
a spreadsheet or an error message.

* :func:`printable`: control characters (C0 with ESC, DEL, C1) and bidirectional overrides are
  shown as escapes (``\\x1b``, ``\\u202e``), so a site name cannot move the cursor, recolour
  the terminal or reorder what is shown.
* :func:`escape_formula` / :func:`unescape_formula`: a text cell that a spreadsheet would run
  as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, as OWASP's
  "CSV injection" guidance lists) is written with a leading ``'``, which spreadsheets show as
  text. Cells already starting with ``'`` get one more, so that removing exactly one leading
  ``'`` on reading gives back every value (the mapping is one-to-one).
* :func:`excerpt`: a short quote of file contents for an error message, or a placeholder when
  the contents are binary (NUL and control characters: ``/proc/self/environ`` is the
  process's environment, and must not be printed).
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""
_QUOTE = "'"
_HARMLESS = str.maketrans("\t\n\r", "   ")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``str(text)`` with control and bidi-override characters escaped (one line, inert)."""
    return _UNPRINTABLE.sub(_escape, str(text))


def needs_formula_escape(value: str) -> bool:
    """Whether :func:`escape_formula` changes ``value``."""
    return value.startswith((*FORMULA_START, _QUOTE))


def escape_formula(value: str) -> str:
    """``'`` + value for a cell a spreadsheet would evaluate (or that starts with ``'``)."""
    return _QUOTE + value if needs_formula_escape(value) else value


def unescape_formula(value: str) -> str:
    """The inverse of :func:`escape_formula`."""
    return value[1:] if value.startswith(_QUOTE) else value


def excerpt(text: str, limit: int = 120) -> str:
    """At most ``limit`` characters of ``text`` for an error message; a placeholder when it
    holds NUL or other control characters (binary data, or a file not meant to be shown)."""
    # Tab and line breaks are harmless once escaped (Problem does it); the rest is binary.
    if _UNPRINTABLE.search(text.translate(_HARMLESS)):
        return f"<{len(text)} characters of binary or control data, not shown>"
    return text if len(text) <= limit else text[:limit] + "..."
