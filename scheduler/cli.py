"""The ``clustersim`` command line (also ``python -m scheduler``).

Exit codes: 0 success; 2 invalid input (one line per problem, no traceback); 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from scheduler.errors import InputError
from scheduler.sweeps.cli import add_sweep_parser, run_sweep_command
from scheduler.units import format_time

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise InputError(message, self.prog)


def _duration_arg(text: str) -> float:
    from scheduler.units import parse_time

    try:
        value = parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0 (got {text!r})")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number (got {text!r})") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0 (got {text!r})")
    return value


def _seed_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number (got {text!r})") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2**63 - 1 (got {text!r})")
    return value


def _check_out_dir(out: str) -> None:
    """Refuse an ``--out`` that cannot become a folder before the run, not after it."""
    from pathlib import Path

    path = Path(out)
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                raise InputError(f"{folder} exists and is not a directory", "--out")
            return


def _check_like_run(scenario: Any) -> None:
    """What ``run`` refuses before simulating beyond the schema: plugin and queue policy
    names, site names in scores, power caps below the idle power, more estimated memory
    than is available."""
    from scheduler.cluster import Cluster
    from scheduler.errors import Problem
    from scheduler.placement_config import build_plugin_calls
    from scheduler.policies import resolve_queue
    from scheduler.power import PowerModel

    problems: list[Problem] = []
    from scheduler.memory import check_memory

    for check in (lambda: resolve_queue(scenario.policy),
                  lambda: build_plugin_calls(scenario.policy.placement,
                                             [site.name for site in scenario.sites]),
                  lambda: PowerModel(scenario, Cluster(scenario)),
                  lambda: check_memory(scenario)):
        try:
            check()
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="clustersim", description="Simulate AI workloads on the "
                     "Hauts-de-France regional GPU cluster.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one simulation")
    run.add_argument("scenario", help="scenario file (YAML or JSON)")
    run.add_argument("--out", help="write summary.json, jobs.csv, timeseries.csv here")
    run.add_argument("--format", choices=["csv", "parquet"], default="csv",
                     help="table format under --out (default csv)")
    run.add_argument("--seed", type=_seed_arg, help="seed (overrides the scenario's)")
    run.add_argument("--backend", choices=["auto", "numpy", "cupy"],
                     help="array backend (overrides the scenario's)")
    run.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="PATH=VALUE", help="override a scenario field by dotted path")
    run.add_argument("--quiet", action="store_true", help="print nothing on success")
    run.add_argument("--max-wall-time", type=_duration_arg, metavar="TIME",
                     help='stop cleanly after this much real time ("10m"), partial results')
    run.add_argument("--max-events", type=_positive_int, metavar="N",
                     help="stop cleanly after this many events, partial results")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")

    validate = sub.add_parser("validate", help="check a scenario and describe it")
    validate.add_argument("scenario")
    validate.add_argument("--set", dest="overrides", action="append", default=[],
                          metavar="PATH=VALUE")

    sub.add_parser("schema", help="print the scenario JSON Schema")

    from scheduler.traces.__main__ import add_stats_arguments

    trace = sub.add_parser("trace", help="inspect workload traces")
    trace_sub = trace.add_subparsers(dest="trace_command", required=True, parser_class=_Parser)
    add_stats_arguments(trace_sub.add_parser(
        "stats", help="rows, time span, GPU-count and duration distributions of a trace"))

    from scheduler.plots import add_plot_parser
    from scheduler.report import add_report_parser

    add_plot_parser(sub)
    add_report_parser(sub)
    add_sweep_parser(sub)
    return parser


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "s":
        return format_time(float(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary_table(summary: dict[str, Any]) -> str:
    """A short human table of the main metrics."""
    rows = [
        ("scenario", summary["scenario"]), ("seed", summary["seed"]),
        ("backend", summary["backend"]),
        ("jobs submitted", summary["jobs_submitted"]),
        ("  completed", summary["jobs_completed"]), ("  rejected", summary["jobs_rejected"]),
        ("  unfinished", summary["jobs_unfinished"]),
        ("GPU utilization", f"{summary['gpu_utilization']:.1%}"),
        ("wait mean / p95", f"{_fmt(summary['mean_wait_s'], 's')} / {_fmt(summary['p95_wait_s'], 's')}"),
        ("JCT mean / p95", f"{_fmt(summary['mean_jct_s'], 's')} / {_fmt(summary['p95_jct_s'], 's')}"),
        ("simulated", _fmt(summary["simulated_time_s"], "s")),
        ("wall time", f"{summary['wall_time_s']:.2f}s ({summary['events']:,} events)"),
    ]
    for key, label in (("energy_facility_mwh", "facility energy MWh"), ("carbon_t", "carbon t"),
                       ("energy_cost_eur", "energy cost EUR")):
        if key in summary:
            rows.append((label, _fmt(summary[key])))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def _describe(scenario: Any) -> str:
    from scheduler.cluster import Cluster

    cluster = Cluster(scenario)
    lines = [f"scenario {scenario.name!r}: horizon {format_time(scenario.duration)}"
             f"{' (drain)' if scenario.drain else ''}, backend {scenario.backend}",
             f"{len(scenario.sites)} sites, {cluster.n_nodes:,} nodes, {cluster.total_gpus:,} GPUs"]
    for s, site in enumerate(scenario.sites):
        groups = ", ".join(f"{g.count}x{g.gpus_per_node} {g.gpu}" for g in site.nodes) or "no nodes"
        lines.append(f"  {site.name}: {int(cluster.site_gpus[s]):,} GPUs ({groups}), PUE {site.pue}")
    for workload in scenario.workloads:
        trace = getattr(workload, "trace", None)
        requests = getattr(workload, "requests", None)
        if trace is not None:
            what = f"trace {trace.path} ({trace.format})"
        elif requests is not None:
            what = (f"{requests.rate_per_second:g} requests/s, replicas of "
                    f"{workload.replica_gpus} GPUs")
        else:
            what = f"{workload.arrival.rate_per_hour:g} jobs/h"
        lines.append(f"  workload {workload.name!r} ({workload.kind}): {what}")
    placement = scenario.policy.placement
    lines.append(f"policy: queue {scenario.policy.queue_name}; filters {', '.join(placement.filters)}; "
                 f"scores {', '.join(f'{s.type} x{s.weight:g}' for s in placement.scores)}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    from scheduler.simulation import resolve_scenario, simulate

    scenario = resolve_scenario(args.scenario, args.overrides)
    if args.out:
        _check_out_dir(args.out)
    progress = None
    if sys.stderr.isatty() and not args.quiet:
        from scheduler.progress import Progress

        progress = Progress(scenario.duration, enabled=True)
    from scheduler.interrupt import SIGNAL_EXIT_CODES, StopControl, stop_on_signals

    stop = StopControl(args.max_wall_time, args.max_events)
    try:
        with stop_on_signals(stop):
            result = simulate(scenario, seed=args.seed, backend=args.backend,
                              progress=progress, stop=stop)
    finally:
        if progress is not None:
            progress.close()
    if args.out:
        result.save(args.out, format=args.format)
    if args.json:
        from scheduler.results import dump_summary

        print(dump_summary(result.summary))
    elif not args.quiet:
        print(summary_table(result.summary))
        if args.out:
            print(f"results written to {args.out}")
    if stop.reason in SIGNAL_EXIT_CODES:
        print(f"interrupted by {stop.reason} at simulated time "
              f"{format_time(result.summary['simulated_time_s'])}; partial results"
              + (f" written to {args.out}" if args.out else ""), file=sys.stderr)
        return SIGNAL_EXIT_CODES[stop.reason]
    if stop.reason is not None and not args.quiet:
        print(f"stopped early ({stop.reason}); partial results", file=sys.stderr)
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from scheduler.loading import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    _check_like_run(scenario)
    print(_describe(scenario))
    print("valid")
    return EXIT_OK


def _schema(_args: argparse.Namespace) -> int:
    from scheduler.scenario import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))
    return EXIT_OK


def _trace(args: argparse.Namespace) -> int:
    from scheduler.traces.__main__ import run_stats

    return run_stats(args)


def _plot(args: argparse.Namespace) -> int:
    from scheduler.plots import run_plot

    return run_plot(args)


def _report(args: argparse.Namespace) -> int:
    from scheduler.report import run_report

    return run_report(args)


COMMANDS = {"run": _run, "validate": _validate, "schema": _schema, "trace": _trace,
            "plot": _plot, "report": _report, "sweep": run_sweep_command}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    try:
        args = _build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except InputError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
