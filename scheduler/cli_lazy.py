"""What keeps ``clustersim --help`` quick: subcommands whose options need heavy imports are
only named (with their one-line help) unless they are the command being run.

``clustersim --help`` lists every command from these names; ``clustersim sweep --help`` or
``clustersim sweep FILE`` builds the real ``sweep`` parser. tests/test_cli_polish.py checks
that both parsers list the same commands with the same help.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NAMED_ONLY_HELP = {
    "trace": "inspect workload traces",
    "sweep": "run a scenario over a grid of overrides and seeds",
    "inference": "size inference services",
}
"""One-line help of each lazily built subcommand (the same as its real parser's)."""


ALL = "*"
"""``command`` value that builds every subparser in full."""


def command_of(argv: Sequence[str]) -> str:
    """The subcommand named on a command line (the first word that is not an option), or
    an empty string (``clustersim --help``)."""
    return next((arg for arg in argv if not arg.startswith("-")), "")


def add_named_only(subparsers: Any, name: str, command: str) -> bool:
    """Add ``name`` with its help only (True) unless it is ``command`` or ``command`` is
    :data:`ALL` (False: the caller adds the real parser)."""
    if command in (ALL, name):
        return False
    subparsers.add_parser(name, help=NAMED_ONLY_HELP[name], add_help=False)
    return True
