"""Input errors: every problem a user can fix, reported together, one line each.

The CLI turns an :class:`InputError` into exit code 2 and prints ``str(problem)`` for each
problem, without a traceback. Anything else that escapes is a bug (exit code 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scheduler.safetext import printable


@dataclass(frozen=True)
class Problem:
    """One fixable problem: where it is (field path or file:line) and what is wrong."""

    where: str
    message: str

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        # One line per problem, whatever the input held (a key or CSV header with a newline),
        # and nothing a terminal would act on (ESC sequences in a name).
        return printable(text)


class InputError(Exception):
    """Invalid scenario, trace, sweep or option. Carries every problem found, in order."""

    def __init__(self, problems: Iterable[Problem] | str, where: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(where, problems)]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InputTypeError(InputError, TypeError):
    """An argument of the wrong type given to the Python API (``simulate(None)``): an
    :class:`InputError` like any invalid input, and a :class:`TypeError` as Python expects."""
