"""The ``clustersim`` command line (also ``python -m scheduler``).

Exit codes: 0 success; 2 invalid input (scenario, trace, option, an output path that cannot
be written, a result folder that is incomplete or inconsistent), one line per problem and no
traceback; 130 / 143 stopped by SIGINT / SIGTERM (partial results, if any, are written as a
whole set first); 141 standard output closed early (``| head``); 1 anything else (also a
failed write to standard output, one line).

Only light modules are imported here at module level: NumPy, pandas and the rest load inside
:func:`main`, where Ctrl-C and SIGTERM during the imports give a clean exit.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from scheduler.cli_lazy import command_of
from scheduler.errors import InputError
from scheduler.interrupt import (
    SIGNAL_EXIT_CODES,
    SignalExit,
    exit_on_signals,
    handled,
    pending,
    raise_pending,
)
from scheduler.safetext import printable
from scheduler.stream_cli import check_stream_option, stream_folder
from scheduler.units import format_time

if TYPE_CHECKING:
    from scheduler.results import Result
    from scheduler.scenario import Scenario

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INPUT = 2
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, what a shell reports for a command whose reader went away."""
REPORT_FILE = "report.html"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        from scheduler.suggest import suggest_choice

        raise InputError(suggest_choice(message), self.prog)


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


def _out_path(value: str | None, what: str = "--out") -> Path | None:
    """``--out`` as a path; an empty string is an error (it would silently write nothing)."""
    if value is None:
        return None
    if not value:
        from scheduler.outputs import OutputError

        raise OutputError("empty path", what)
    return Path(value)


def input_paths(scenario: Scenario, scenario_file: str | None) -> list[Path]:
    """Files a run reads: the scenario file and every ``path:`` / ``file:`` inside it
    (traces, signal CSVs, empirical distributions), resolved as the loaders resolve them."""
    found = [Path(scenario_file)] if scenario_file else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"path", "file"} and isinstance(value, str) and value:
                    found.append(scenario.resolve_path(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(scenario.model_dump(mode="json"))
    return found


@contextlib.contextmanager
def _output_folder(out: Path, inputs: Sequence[Path]) -> Iterator[None]:
    """Check ``out`` before the run (a folder, no input among the files a save replaces),
    create it and hold its lock until the results are saved; a folder created here and
    still empty when the command fails is removed."""
    from scheduler.outputs import MANIFEST, FolderLock, check_not_inputs, check_out_dir, writing
    from scheduler.results import FILES

    check_out_dir(out)
    created = not out.exists()
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
    try:
        check_not_inputs(out, [*FILES, MANIFEST], inputs)
        with FolderLock(out):
            yield
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only when empty
        raise


def _check_like_run(scenario: Any, streamed: bool = False) -> None:
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
                  lambda: check_memory(scenario, streamed)):
        try:
            check()
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)


def _build_parser(command: str = "*") -> argparse.ArgumentParser:
    """The whole parser; given the ``command`` that will run, the ``trace`` and ``sweep``
    subparsers of other commands are named only (their options import pandas and the trace
    readers: 1.5 s that ``clustersim --help`` and ``run`` must not pay; scheduler/cli_lazy.py)."""
    from scheduler import __version__
    from scheduler.cli_lazy import add_named_only

    parser = _Parser(prog="clustersim", description="Simulate AI workloads on the "
                     "Hauts-de-France regional GPU cluster.")
    parser.add_argument("--version", action="version", version=f"clustersim {__version__}")
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
    run.add_argument("--replications", type=_positive_int, metavar="N",
                     help="run N seeds spawned from the seed; DIR/rep-K/ each, and the mean "
                          "and 95%% confidence interval of every metric in DIR/summary.json")
    run.add_argument("--workers", type=_positive_int, metavar="N",
                     help="processes for --replications (default: one per CPU, at most N)")
    run.add_argument("--stream", action="store_true",
                     help="stream job records and segments to DIR/stream/ during the run: "
                          "memory bounded by the jobs alive (docs/streaming.md); needs --out")

    validate = sub.add_parser("validate", help="check a scenario and describe it")
    validate.add_argument("scenario")
    validate.add_argument("--set", dest="overrides", action="append", default=[],
                          metavar="PATH=VALUE")
    validate.add_argument("--stream", action="store_true",
                          help="estimate the memory of a streamed run (run --stream)")

    sub.add_parser("schema", help="print the scenario JSON Schema")

    if add_named_only(sub, "trace", command):
        pass
    else:
        from scheduler.traces.__main__ import add_stats_arguments

        trace = sub.add_parser("trace", help="inspect workload traces")
        trace_sub = trace.add_subparsers(dest="trace_command", required=True,
                                         parser_class=_Parser)
        add_stats_arguments(trace_sub.add_parser(
            "stats", help="rows, time span, GPU-count and duration distributions of a trace"))

    _add_plot_parser(sub)
    _add_report_parser(sub)
    _add_compare_parser(sub)
    if not add_named_only(sub, "sweep", command):
        from scheduler.sweeps.cli import add_sweep_parser

        add_sweep_parser(sub)
    if not add_named_only(sub, "inference", command):
        from scheduler.inference.capacity_cli import add_inference_parser

        add_inference_parser(sub)
    return parser


PLOT_KINDS = ("utilization", "queue", "power", "carbon", "cdf", "map")
"""``clustersim plot --kind`` names (:data:`scheduler.plots.PLOTS`; a test keeps them equal)."""
PLOT_FORMATS = ("png", "svg", "pdf")


def _add_plot_parser(sub: Any) -> None:
    parser = sub.add_parser("plot", help="draw figures of a run's output directory")
    parser.add_argument("directory", metavar="DIR", help="output directory of `clustersim run --out`")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="image file (.png, .svg or .pdf); with --kind all, one file per "
                        "plot named FILE-<kind>.<ext>")
    parser.add_argument("--kind", default="all", choices=[*PLOT_KINDS, "all"],
                        help="which plot (default: all that have data)")


def _add_report_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "report", help="write DIR/report.html: one self-contained page about a run")
    # nargs="+" only to answer two folders with a pointer to `compare` (see _report).
    parser.add_argument("directory", metavar="DIR", nargs="+",
                        help="output directory of `clustersim run --out`, or a sweep folder")
    parser.add_argument("--out", metavar="FILE", help=f"where to write (default DIR/{REPORT_FILE})")


def _add_compare_parser(sub: Any) -> None:
    parser = sub.add_parser("compare", help="headline metrics of run folders side by side "
                            "(95%% intervals for folders of replications)")
    parser.add_argument("directories", nargs="+", metavar="DIR",
                        help="output directories of `clustersim run --out`, or folders of "
                        "replications (run folders rep-1/, rep-2/ ... of one scenario)")
    parser.add_argument("--out", metavar="FILE.html",
                        help="also write a self-contained HTML page: table, figures, sites")
    parser.add_argument("--json", action="store_true",
                        help="print compare() records instead (one per run)")


def _fmt(value: Any, unit: str = "") -> str:
    from scheduler import human_units

    if value is None:
        return "-"
    if unit == "s":
        return human_units.duration(float(value))
    shown = {"MWh": human_units.energy_mwh, "t": human_units.tonnes,
             "EUR": human_units.money_eur}.get(unit)
    if shown is not None:
        return shown(float(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return human_units.number(value)
    return str(value)


def _dates(summary: dict[str, Any]) -> str:
    """`` (Mon 2020-01-27 00:00 to Mon 2020-02-03 00:00)``: the simulated period, local time."""
    from scheduler.signals.dates import describe_start, parse_start

    start, period = summary.get("start_date"), summary.get("simulated_time_s")
    if not isinstance(start, str) or not isinstance(period, int | float):
        return ""
    day = parse_start(start)
    return f" ({describe_start(day)} to {describe_start(day, float(period))})"


def summary_table(summary: dict[str, Any], services: dict[str, Any] | None = None) -> str:
    """A short human table of the main metrics, one line per inference service, and the
    steady-state warnings."""
    from scheduler.steady_state import warning_lines

    rows = [
        ("scenario", summary["scenario"]), ("seed", summary["seed"]),
        ("backend", summary["backend"]),
        ("jobs submitted", _fmt(summary["jobs_submitted"])),
        ("  completed", _fmt(summary["jobs_completed"])),
        ("  rejected", _fmt(summary["jobs_rejected"])),
        ("  unfinished", _fmt(summary["jobs_unfinished"])),
        ("GPU utilization", f"{summary['gpu_utilization']:.1%}"),
        ("wait mean / p95", f"{_fmt(summary['mean_wait_s'], 's')} / {_fmt(summary['p95_wait_s'], 's')}"),
        ("JCT mean / p95", f"{_fmt(summary['mean_jct_s'], 's')} / {_fmt(summary['p95_jct_s'], 's')}"),
        ("simulated", _fmt(summary["simulated_time_s"], "s") + _dates(summary)),
        ("wall time", f"{_fmt(summary['wall_time_s'], 's')} ({summary['events']:,} events)"),
    ]
    for key, label, unit in (("energy_facility_mwh", "facility energy", "MWh"),
                             ("carbon_t", "carbon", "t"), ("energy_cost_eur", "energy cost", "EUR")):
        if key in summary:
            rows.append((label, _fmt(summary[key], unit)))
    from scheduler.service_views import service_line

    rows += [(f"service {name}", service_line(detail))
             for name, detail in (services or {}).items()]
    width = max(len(label) for label, _ in rows)
    # Names come from the scenario: nothing in them may act on the terminal.
    lines = [f"{label:<{width}}  {printable(value)}" for label, value in rows]
    return "\n".join([*lines, *(printable(line) for line in warning_lines(summary))])


def _in_service(group: Any) -> str:
    """`` from 180d until 270d``: when a node group with a timeline is in service."""
    from scheduler.timeline import describe_service

    return describe_service(group)


def _describe(scenario: Any) -> str:
    from scheduler.cluster import Cluster
    from scheduler.growth import growth_text
    from scheduler.signals.dates import describe_start, parse_start
    from scheduler.timeline import describe_cap_table

    cluster = Cluster(scenario)
    lines = [f"scenario {scenario.name!r}: horizon {format_time(scenario.duration)}"
             f"{' (drain)' if scenario.drain else ''}, backend {scenario.backend}",
             f"starts {describe_start(parse_start(scenario.start))} (Europe/Paris time)",
             f"{len(scenario.sites)} sites, {cluster.n_nodes:,} nodes, {cluster.total_gpus:,} GPUs"]
    for s, site in enumerate(scenario.sites):
        groups = ", ".join(f"{g.count}x{g.gpus_per_node} {g.gpu}{_in_service(g)}"
                           for g in site.nodes) or "no nodes"
        lines.append(f"  {site.name}: {int(cluster.site_gpus[s]):,} GPUs ({groups}), PUE {site.pue}"
                     f"{describe_cap_table(site)}")
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
        what += growth_text(workload)
        lines.append(f"  workload {workload.name!r} ({workload.kind}): {what}")
    placement = scenario.policy.placement
    lines.append(f"policy: queue {scenario.policy.queue_name}; filters {', '.join(placement.filters)}; "
                 f"scores {', '.join(f'{s.type} x{s.weight:g}' for s in placement.scores)}")
    return "\n".join(printable(line) for line in lines)


def _run(args: argparse.Namespace) -> int:
    from scheduler.simulation import resolve_scenario

    out = _out_path(args.out)
    check_stream_option(args.stream, out, args.replications)
    scenario = resolve_scenario(args.scenario, args.overrides)
    raise_pending()  # before anything is created or run
    if args.replications is not None or args.workers is not None:
        return _replicate(args, scenario, out)
    if out is None:
        return _simulate_and_save(args, scenario, None)
    with _output_folder(out, input_paths(scenario, args.scenario)):
        return _simulate_and_save(args, scenario, out)


def _simulate_and_save(args: argparse.Namespace, scenario: Scenario, out: Path | None) -> int:
    """Run, save (signals still caught: the first one during the save waits for the set to
    be whole), then print; the exit code and the message follow what the files say."""
    from scheduler.interrupt import SIGNAL_EXIT_CODES, StopControl, stop_on_signals
    from scheduler.outputs import writing
    from scheduler.simulation import simulate

    progress = None
    if sys.stderr.isatty() and not args.quiet:
        from scheduler.progress import Progress

        progress = Progress(scenario.duration, enabled=True)
    stop = StopControl(args.max_wall_time, args.max_events)
    try:
        with stop_on_signals(stop):
            result = simulate(scenario, seed=args.seed, backend=args.backend,
                              progress=progress, stop=stop,
                              stream_to=stream_folder(out) if args.stream else None)
            if out is not None:
                with writing(out):
                    result.save(out, format=args.format)
    finally:
        if progress is not None:
            progress.close()
    summary = result.summary
    if args.json:
        from scheduler.results import dump_summary

        print(dump_summary(summary))
    elif not args.quiet:
        print(summary_table(summary, (result.details or {}).get("services")))
        from scheduler.report_periods import callout_lines

        for line in callout_lines(result.details or {}):  # report.thresholds: first crossings
            print(printable(f"threshold: {line}"))
        if out is not None:
            print(f"results written to {printable(out)}")
    written = f" written to {printable(out)}" if out is not None else ""
    reason = summary.get("stop_reason") if summary.get("interrupted") else None
    if reason in SIGNAL_EXIT_CODES:
        print(f"interrupted by {reason} at simulated time "
              f"{format_time(summary['simulated_time_s'])}; partial results{written}",
              file=sys.stderr)
        return SIGNAL_EXIT_CODES[reason]
    if stop.late_reason in SIGNAL_EXIT_CODES:
        print(f"{stop.late_reason} arrived after the simulation had ended: the results are "
              f"complete (not interrupted){written}", file=sys.stderr)
        return SIGNAL_EXIT_CODES[stop.late_reason]
    if reason is not None and not args.quiet:
        print(f"stopped early ({reason}); partial results", file=sys.stderr)
    return EXIT_OK


def _replicate(args: argparse.Namespace, scenario: Scenario, out: Path | None) -> int:
    """``run --replications N``: N spawned seeds, the aggregate printed and saved."""
    from scheduler.replication_report import write_replications_report
    from scheduler.replications import replication_table, run_replications, save_replications

    if args.replications is None:
        raise InputError("needs --replications N", "--workers")
    if args.max_wall_time is not None or args.max_events is not None:
        raise InputError("cannot be combined with --replications", "--max-wall-time/--max-events")
    with contextlib.ExitStack() as stack:
        if out is not None:
            stack.enter_context(_output_folder(out, input_paths(scenario, args.scenario)))
        result = run_replications(scenario, args.replications, base_seed=args.seed, out=out,
                                  workers=args.workers, backend=args.backend, format=args.format)
        if out is not None:
            save_replications(result, out)
            write_replications_report(result.summary, result.runs, out / REPORT_FILE)
    if args.json:
        print(json.dumps(result.summary, indent=2))
    elif not args.quiet:
        print("\n".join(printable(line) for line in replication_table(result.summary).splitlines()))
        if out is not None:
            print(f"results written to {printable(out)} (rep-1 .. rep-{args.replications}, "
                  f"summary.json, {REPORT_FILE})")
    return EXIT_OK if result.summary["replications_failed"] == 0 else 1


def _validate(args: argparse.Namespace) -> int:
    from scheduler.loading import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    _check_like_run(scenario, args.stream)
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


def _load(directory: str) -> Result:
    from scheduler.results import Result

    return Result.load(directory)


def _plot(args: argparse.Namespace) -> int:
    """Write the requested figure(s) of a run's folder; print each path written."""
    from scheduler.outputs import OutputError, writing

    out = _out_path(args.out)
    assert out is not None  # --out is required
    if out.suffix.lower().lstrip(".") not in PLOT_FORMATS:
        raise OutputError(f"unsupported image type {out.suffix or '(none)'!r}; "
                          f"use one of {', '.join('.' + f for f in PLOT_FORMATS)}", "--out")
    result = _load(args.directory)
    from scheduler import plots
    from scheduler.outputs import check_replaceable

    if args.kind == "all":
        kinds = plots.available(result)
        targets = {kind: out.with_name(f"{out.stem}-{kind}{out.suffix}") for kind in kinds}
        skipped = [kind for kind in plots.PLOTS if kind not in kinds]
        if skipped:
            print(f"skipped (no data in this run): {', '.join(skipped)}", file=sys.stderr)
    else:
        targets = {args.kind: out}
    for target in targets.values():  # before drawing anything: refusing is quick
        with writing(target):
            check_replaceable(target)
    plots.require_matplotlib()
    for kind, target in targets.items():
        with writing(target):
            plots.save_figure(plots.PLOTS[kind](result), target)
        print(f"wrote {printable(target)}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    """Load DIR, write the page, print its path."""
    from scheduler.outputs import MANIFEST, check_not_inputs, check_replaceable, writing
    from scheduler.report import write_report
    from scheduler.results import FILES

    out = _out_path(args.out)
    if len(args.directory) > 1:
        raise InputError(f"takes one folder (got {len(args.directory)}); to put runs "
                         f"side by side: clustersim compare {' '.join(args.directory)} "
                         "--out compare.html", "clustersim report")
    folder = Path(args.directory[0])
    from scheduler.sweeps.report import is_sweep_folder, write_sweep_report

    if is_sweep_folder(folder):
        return _write_page(out or folder / REPORT_FILE, lambda t: write_sweep_report(folder, t))
    if _report_replications(folder, out):
        return EXIT_OK
    result = _load(args.directory[0])
    target = out if out is not None else folder / REPORT_FILE
    # The page must not land on one of the run's own files (the set would be torn).
    check_not_inputs(target.parent, [target.name], [folder / name for name in (*FILES, MANIFEST)])
    with writing(target):
        check_replaceable(target)  # before rendering: refusing is quick
    with writing(target):
        write_report(result, target)
    print(f"report written to {printable(target)}")
    return EXIT_OK


def _write_page(target: Path, write: Callable[[Path], object]) -> int:
    """Check ``target`` can be replaced (quick), write the page, print its path."""
    from scheduler.outputs import check_replaceable, writing

    with writing(target):
        check_replaceable(target)
    with writing(target):
        write(target)
    print(f"report written to {printable(target)}")
    return EXIT_OK


def _report_replications(folder: Path, out: Path | None) -> bool:
    """The report of a replications folder (``run --replications``); False for a run."""
    from scheduler.outputs import writing
    from scheduler.replication_report import load_replications, write_replications_report

    loaded = load_replications(folder)
    if loaded is None:
        return False
    target = out if out is not None else folder / REPORT_FILE
    with writing(target):
        write_replications_report(*loaded, target)
    print(f"report written to {printable(target)}")
    return True


def _compare(args: argparse.Namespace) -> int:
    """Print the headline metrics of each folder side by side (every bad folder named)."""
    from scheduler.compare_report import text_table, write_compare
    from scheduler.result_sets import load_result_sets

    out = _out_path(args.out)
    sets = load_result_sets(args.directories)
    if args.json:
        from scheduler.compare import compare

        labels = [s.label if not s.replicated else f"{s.label}/{run_dir.name}"
                  for s in sets for run_dir in _set_folders(s)]
        table = compare([r for s in sets for r in s.runs], labels=labels)
        print(table.reset_index().to_json(orient="records", indent=2))
    else:
        print("\n".join(printable(line) for line in text_table(sets).splitlines()))
    if out is not None:
        return _write_page(out, lambda target: write_compare(sets, target))
    return EXIT_OK


def _set_folders(result_set: Any) -> list[Path]:
    from scheduler.result_sets import replication_folders

    return replication_folders(result_set.path) if result_set.replicated else [result_set.path]


def _sweep(args: argparse.Namespace) -> int:
    from scheduler.sweeps.cli import run_sweep_command

    return run_sweep_command(args)


def _inference(args: argparse.Namespace) -> int:
    from scheduler.inference.capacity_cli import run_inference_command

    return run_inference_command(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run, "validate": _validate, "schema": _schema, "trace": _trace, "plot": _plot,
    "report": _report, "compare": _compare, "sweep": _sweep, "inference": _inference}


@contextlib.contextmanager
def _signals_exit() -> Iterator[None]:
    """SIGTERM raises like Ctrl-C does, so cleanup runs (main thread only: in-process
    callers on other threads keep their own handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with exit_on_signals():
        yield


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: Any = None, line: str | None = None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    overrides: list[tuple[str, str]] = []  # a problem in an overridden field names its --set
    try:
        with _signals_exit():
            args = _build_parser(command_of(sys.argv[1:] if argv is None else argv)) \
                .parse_args(argv)
            overrides = [(text.partition("=")[0].strip(), text)
                         for text in getattr(args, "overrides", None) or []]
            raise_pending()  # a signal swallowed during the imports (see exit_on_signals)
            with warnings.catch_warnings():
                # Deprecations of scenario spellings are for the user: one line each on
                # stderr (Python hides DeprecationWarning outside __main__ by default).
                warnings.filterwarnings("default", category=DeprecationWarning,
                                        module=r"scheduler\.")
                warnings.showwarning = _show_warning
                code = COMMANDS[args.command](args)
            raise_pending()
            sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
            return code
    except InputError as exc:
        from scheduler.overrides import point_at_overrides

        for problem in point_at_overrides(exc.problems, overrides):
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        handled()
        print("interrupted (SIGINT)", file=sys.stderr)
        return 130
    except SignalExit as exc:
        handled()
        print(f"interrupted ({exc.name})", file=sys.stderr)
        return exc.code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        if exc.errno in {errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG}:
            _silence_stdout()
            print(f"error: cannot write the output: {exc.strerror}", file=sys.stderr)
            return EXIT_ERROR
        if pending() is None:
            raise
        return _interrupted()
    except Exception:
        # A signal's exception raised inside a C extension's import can come out as another
        # error (NumPy: "ImportError: PyCapsule_Import could not import module datetime"):
        # after a signal, what broke is its consequence, not a bug to show.
        if pending() is None:
            raise
        return _interrupted()


def _interrupted() -> int:
    name = pending() or "SIGINT"
    handled()
    print(f"interrupted ({name})", file=sys.stderr)
    return SIGNAL_EXIT_CODES.get(name, EXIT_ERROR)
