"""``python -m scheduler.traces FILE --format FORMAT``: print a trace's statistics."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from scheduler.errors import InputError
from scheduler.traces.spec import TRACE_FORMATS
from scheduler.traces.stats import format_trace_stats, trace_stats


def add_stats_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``trace stats`` (shared with ``clustersim trace stats``)."""
    parser.add_argument("path", nargs="+", help="trace file(s)")
    parser.add_argument("--format", required=True, choices=TRACE_FORMATS)
    parser.add_argument("--on-error", choices=("error", "skip"), default="error")
    parser.add_argument("--fractional-gpus", choices=("round-up", "share"), default="round-up")
    parser.add_argument("--order", choices=("auto", "check", "sort"), default="auto")
    parser.add_argument("--start", default=None, help='skip arrivals before this ("2d")')
    parser.add_argument("--end", default=None, help='stop at this trace time ("30d")')
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_stats(args: argparse.Namespace) -> int:
    """Print each file's statistics; 2 when any file had input errors (printed per line)."""
    options: dict[str, Any] = {"on_error": args.on_error, "order": args.order,
                                  "fractional_gpus": args.fractional_gpus}
    for name in ("start", "end", "limit"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    status = 0
    for path in args.path:
        began = time.perf_counter()
        try:
            stats = trace_stats(path, args.format, **options)
        except InputError as exc:
            for problem in exc.problems:
                print(f"error: {problem}", file=sys.stderr)
            status = 2
            continue
        stats["read_wall_s"] = time.perf_counter() - began
        if args.json:
            print(json.dumps(stats, default=str))
        else:
            print(format_trace_stats(stats))
            print(f"{'read in':<12} {stats['read_wall_s']:.3f} s\n")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler.traces",
                                     description="Summarise a workload trace.")
    add_stats_arguments(parser)
    return run_stats(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
