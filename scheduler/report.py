"""``clustersim report DIR``: one self-contained HTML page about a run, for planners.

The page (``DIR/report.html``) has the headline numbers first, then the figures of
:mod:`scheduler.plots` (embedded as base64 PNG), per-site and per-workload tables, why jobs
waited or were rejected, the trace read reports (``details.json``), every summary metric, and
the scenario that produced the run (``scenario.json``). CSS is inline; there is no script, no
external stylesheet, font or image, so the file can be mailed or archived as it is.

From Python: ``write_report(result, "out/report.html")`` or ``render_report(result)``; the
``clustersim report`` command (in :mod:`scheduler.cli`) reads the folder with
:meth:`Result.load`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scheduler.errors import InputError
from scheduler.outputs import atomic_write
from scheduler.results import Result

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORT_FILE = "report.html"
ENERGY_KEYS = ("energy_facility_mwh", "energy_it_mwh", "peak_facility_power_mw", "carbon_t",
               "energy_cost_eur")
PLOT_CAPTIONS = {
    "utilization": "Share of GPUs running jobs, for the whole cluster (top) and per site "
                   "(bottom: one row per site, GPU count in brackets; grey = no GPUs).",
    "queue": "Jobs waiting and running over time; below, why the waiting jobs wait.",
    "power": "Facility power (IT power x PUE): the first panel is the fleet total against the "
             "sum of site caps, then one panel per site against its cap (dashed red). The line "
             "is the highest instant of each time step (its peak, marked, is the headline peak "
             "power); the filled area is the step mean.",
    "carbon": "Grid carbon intensity per site and the emissions accumulated over the run.",
    "cdf": "Read across: the share of jobs that waited (left) or completed (right) within a "
           "given time. Log time axis.",
    "map": "Sites by longitude and latitude; marker area is the number of GPUs, colour the "
           "GPU utilization (or carbon intensity when modelled).",
}
PLOT_TITLES = {"utilization": "GPU utilization", "queue": "Queue and pending reasons",
               "power": "Power against site caps", "carbon": "Carbon", "cdf":
               "Wait and completion times", "map": "Site map"}

CSS = """
:root { --ink: #1d2330; --muted: #5b6472; --line: #d9dde3; --accent: #1f5fa8; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: #fff;
  min-height: 100vh; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 18px; }
.warn { background: #fff4e5; border: 1px solid #f0b35b; padding: 8px 12px; border-radius: 6px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(205px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: #fbfcfd; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 25px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .note { color: var(--muted); font-size: 12.5px; }
.card.off .value { font-size: 17px; color: var(--muted); font-weight: 500; }
.scroll { overflow-x: auto; margin: 4px 0 10px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td:first-child { white-space: nowrap; }
th { vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
figure { margin: 16px 0 26px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.muted { color: var(--muted); }
pre { background: #f3f5f8; border: 1px solid var(--line); border-radius: 6px; padding: 10px;
  overflow: auto; font-size: 12px; max-height: 520px; }
details summary { cursor: pointer; color: var(--accent); margin: 6px 0; }
nav { font-size: 13.5px; margin: 0 0 10px; }
nav a { color: var(--accent); margin-right: 12px; text-decoration: none; }
"""


# --------------------------------------------------------------------------- formatting


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def human_duration(seconds: Any) -> str:
    """``45 s``, ``12.5 min``, ``3.4 h``, ``2.1 days``; ``-`` for missing values."""
    if not _finite(seconds):
        return "-"
    value = float(seconds)
    if value < 90:
        return f"{value:,.3g} s" if value < 10 else f"{value:,.0f} s"
    if value < 90 * 60:
        return f"{value / 60:,.1f} min"
    if value < 48 * 3600:
        return f"{value / 3600:,.1f} h"
    return f"{value / 86400:,.1f} days"


def _finite(value: Any) -> bool:
    return (isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool) and math.isfinite(float(value)))


def _number(value: Any, decimals: int | None = None) -> str:
    """Thousands separators; integers exact, floats to ``decimals`` (default: 3 significant)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        value = float(value)
        if decimals is None:
            if value == 0:
                return "0"
            magnitude = math.floor(math.log10(abs(value)))
            decimals = max(0, 2 - magnitude)
        return f"{value:,.{decimals}f}"
    return str(value)


def _quantity(value: Any) -> str:
    """An amount in its unit: 12,345 / 123.4 / 0.0612 (3 significant digits below 1)."""
    if not _finite(value):
        return "-"
    number = float(value)
    if abs(number) >= 1000:
        return _number(number, 0)
    if abs(number) >= 1 or number == 0:
        return _number(number, 1)
    return _number(number)


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.1f}%" if _finite(value) else "-"


def format_metric(key: str, value: Any) -> str:
    """A summary value in readable units, chosen by the key's suffix."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not _finite(value) or key in {"seed"}:
        return "-" if value is None else str(value)
    if key.endswith("utilization"):
        return _pct(value)
    if key == "wall_time_s":
        return f"{float(value):,.2f} s"
    if key.endswith("_s"):
        return f"{human_duration(value)} ({_number(float(value), 0)} s)"
    units = (("_mwh", "MWh"), ("_mw", "MW"), ("carbon_t", "t CO2e"), ("_eur", "EUR"),
             ("_hours_busy", "GPU-h"))
    for suffix, unit in units:
        if key.endswith(suffix):
            return f"{_quantity(value)} {unit}"
    return _number(value)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
           numeric: Sequence[bool] | None = None) -> str:
    numeric = numeric or [False] * len(headers)
    head = "".join(f'<th class="num">{_esc(h)}</th>' if n else f"<th>{_esc(h)}</th>"
                   for h, n in zip(headers, numeric, strict=True))
    body = []
    for row in rows:
        cells = "".join(f'<td class="num">{_esc(c)}</td>' if n else f"<td>{_esc(c)}</td>"
                        for c, n in zip(row, numeric, strict=True))
        body.append(f"<tr>{cells}</tr>")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _card(label: str, value: str, note: str = "", off: bool = False) -> str:
    note_html = f'<div class="note">{_esc(note)}</div>' if note else ""
    return (f'<div class="card{" off" if off else ""}"><div class="label">{_esc(label)}</div>'
            f'<div class="value">{_esc(value)}</div>{note_html}</div>')


# --------------------------------------------------------------------------- tables


def workload_table(jobs: pd.DataFrame, period_s: float, by: str = "workload") -> pd.DataFrame:
    """Per workload (or ``by="tenant"``): job counts by status, GPU-hours used, and wait and
    JCT statistics in seconds (wait over started jobs, JCT over completed jobs)."""
    rows = []
    for name, group in jobs.groupby(by, sort=False):
        status = group["status"]
        started = group["start_s"].notna()
        end = group["end_s"].fillna(period_s).clip(upper=period_s)
        gpu_hours = float((group["gpus"] * (end - group["start_s"]))[started].sum()) / 3600
        wait = group["wait_s"].dropna()
        jct = group["jct_s"].dropna()
        rows.append({
            by: name,
            "kind": ", ".join(sorted(set(group["kind"]))) if "kind" in group else "",
            "jobs": len(group),
            "completed": int((status == "completed").sum()),
            "rejected": int((status == "rejected").sum()),
            "unfinished": int((status == "unfinished").sum()),
            "gpu_hours": gpu_hours,
            "mean_gpus": float(group["gpus"].mean()),
            "mean_wait_s": float(wait.mean()) if len(wait) else None,
            "p95_wait_s": float(np.percentile(wait, 95)) if len(wait) else None,
            "mean_jct_s": float(jct.mean()) if len(jct) else None,
            "p95_jct_s": float(np.percentile(jct, 95)) if len(jct) else None,
        })
    return pd.DataFrame(rows)


_GROUP_DETAIL_KNOWN = {"gpu_hours", "jobs", "jobs_completed", "gpus_requested"}
"""Keys of ``details["workloads"|"tenants"]`` that the job table already shows."""


def _workload_section(result: Result, period: float, by: str) -> str:
    from scheduler.service_views import batch_jobs

    # Service replicas are not jobs with a wait and a JCT: their own section shows them.
    frame = workload_table(batch_jobs(result), period, by)
    if frame.empty:
        return '<p class="muted">No jobs were submitted (inference services: below).</p>'
    # Figures the run computed per group (slowdown, fairness...) join as extra columns.
    computed = (result.details or {}).get(f"{by}s") or {}
    extra = sorted({k for m in computed.values() if isinstance(m, dict) for k, v in m.items()
                    if k not in _GROUP_DETAIL_KNOWN and (_finite(v) or v is None)})
    headers = [by, "kind", "jobs", "completed", "rejected", "unfinished", "GPU-hours",
               "mean GPUs", "mean wait", "p95 wait", "mean JCT", "p95 JCT",
               *[k.replace("_", " ") for k in extra]]
    rows = []
    for r in frame.to_dict("records"):
        metrics = computed.get(str(r[by])) or {}
        rows.append([r[by], r["kind"], _number(r["jobs"]), _number(r["completed"]),
                     _number(r["rejected"]), _number(r["unfinished"]),
                     _number(r["gpu_hours"], 0), _number(r["mean_gpus"], 1),
                     human_duration(r["mean_wait_s"]), human_duration(r["p95_wait_s"]),
                     human_duration(r["mean_jct_s"]), human_duration(r["p95_jct_s"]),
                     *[format_metric(k, metrics.get(k)) for k in extra]])
    return _table(headers, rows, [False, False, *[True] * (10 + len(extra))])


SITE_COLUMNS = {
    "gpus": "GPUs", "gpu_utilization": "GPU utilization", "jobs_started": "jobs started",
    "peak_facility_power_mw": "peak power (MW)", "power_cap_mw": "power cap (MW)",
    "time_at_cap_s": "time at cap", "time_over_cap_s": "time over cap",
    "energy_facility_mwh": "facility energy (MWh)", "energy_it_mwh": "IT energy (MWh)",
    "carbon_t": "carbon (t CO2e)", "energy_cost_eur": "energy cost (EUR)",
}
"""Per-site summary keys shown in the sites table, in order, with their headings."""


def _site_value(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "gpu_utilization":
        return _pct(value)
    if key.endswith("_s"):
        return human_duration(value)
    if key.endswith(("_mwh", "_mw", "_t", "_eur")):
        return _quantity(value)
    return _number(value)


def _site_section(result: Result) -> str:
    from scheduler.plots import site_locations, site_names

    sites: dict[str, dict[str, Any]] = result.summary.get("sites") or {}
    if not sites:
        return '<p class="muted">No per-site metrics in this run.</p>'
    ordered = site_names(result)
    order = [n for n in ordered if n in sites] + [n for n in sites if n not in ordered]
    locations = site_locations(result)
    scenario_sites = {s.get("name"): s for s in _scenario(result).get("sites") or []
                      if isinstance(s, dict)}

    def shown(key: str) -> bool:  # a column with at least one value
        return any(m.get(key) is not None for m in sites.values())

    keys = [k for k in SITE_COLUMNS if shown(k)]
    keys += sorted(k for k in {k for m in sites.values() for k in m} - set(SITE_COLUMNS)
                   if shown(k) and all(_finite(m.get(k)) or m.get(k) is None
                                       for m in sites.values()))
    headers = ["site", "location", "PUE", *[SITE_COLUMNS.get(k, k) for k in keys]]
    rows = []
    for name in order:
        where = locations.get(name)
        pue = scenario_sites.get(name, {}).get("pue")
        rows.append([name,
                     f"{where[0]:.2f}\N{DEGREE SIGN}N\N{NO-BREAK SPACE}{where[1]:.2f}\N{DEGREE SIGN}E"
                     if where else "-", _number(pue, 2) if _finite(pue) else "-",
                     *[_site_value(k, sites[name].get(k)) for k in keys]])
    text = _table(headers, rows, [False, False, True, *[True] * len(keys)])
    missing = [label for key, label in (("peak_facility_power_mw", "power and energy"),
                                        ("carbon_t", "carbon"), ("energy_cost_eur", "cost"))
               if key not in keys]
    if missing:
        text += (f'<p class="muted">Not modelled in this run: {", ".join(missing)} '
                 "(carbon and cost need <code>grid</code> signals on the sites).</p>")
    return text


def _reasons_section(result: Result) -> str:
    details = result.details or {}
    parts = []
    rejected = details.get("rejected_reasons") or {}
    if rejected:
        rows = sorted(rejected.items(), key=lambda kv: -kv[1])
        parts.append("<h3>Rejected jobs (can never run), by reason</h3>")
        parts.append(_table(["reason", "jobs"], [[k, _number(v)] for k, v in rows],
                            [False, True]))
    else:
        parts.append("<p>No job was rejected.</p>")
    jobs = result.jobs
    if len(jobs) and "reason" in jobs:
        waiting = jobs[(jobs["status"] == "unfinished") & jobs["start_s"].isna()]
        if len(waiting):
            counts = waiting["reason"].replace("", "(none recorded)").value_counts()
            parts.append("<h3>Jobs still waiting at the end of the run, by last pending reason</h3>")
            parts.append(_table(["reason", "jobs"],
                                [[k, _number(int(v))] for k, v in counts.items()], [False, True]))
    from scheduler.plots import site_columns

    pending = site_columns(result.timeseries, "pending")
    if pending:
        parts.append("<h3>Pending jobs over the run, by reason</h3>")
        rows = [[reason, _number(float(result.timeseries[col].mean()), 2),
                 _number(float(result.timeseries[col].max()), 1)]
                for reason, col in pending.items()]
        parts.append(_table(["reason", "mean pending jobs", "peak (mean over one step)"], rows,
                            [False, True, True]))
    parts.append(_blockers_html(details))
    return "".join(parts)


def _blockers_html(details: dict[str, Any]) -> str:
    """Waiting GPU-hours by reason, and the heads of the queue that held jobs back."""
    by_reason = details.get("wait_gpu_hours_by_reason") or {}
    if not by_reason:
        return ""
    total = sum(by_reason.values()) or 1.0
    parts = ["<h3>Waiting GPU-hours, by reason</h3>",
             "<p>GPUs x hours spent waiting. Time behind the head of the line or for its "
             "reservation is a policy effect (the head blocks the queue), not a capacity "
             "shortage.</p>",
             _table(["reason", "GPU-hours", "share"],
                    [[k, _number(v, 1), _pct(v / total)] for k, v in by_reason.items()],
                    [False, True, True])]
    blockers = details.get("blockers") or []
    parts.append("<h3>Jobs that held the queue back</h3>")
    if not blockers:
        parts.append("<p>No head of the queue held another job back.</p>")
        return "".join(parts)
    parts.append("<p>Heads of the queue that could not start and held jobs behind them, "
                 "worst first: how long they held the queue and the GPU-hours the held jobs "
                 "waited meanwhile.</p>")
    rows = [[b["job_id"], b["workload"], _number(b["gpus"]), b["gpu_types"], b["site"] or "-",
             human_duration(b["first_blocked_s"]), human_duration(b["blocked_s"]),
             _number(b["held_gpu_hours"], 1), _number(b["max_jobs_held"])] for b in blockers]
    parts.append(_table(["job", "workload", "GPUs", "GPU types", "ran at", "first held (time)",
                         "held for", "GPU-hours held", "most jobs held"], rows,
                        [True, False, True, False, False, True, True, True, True]))
    return "".join(parts)


def _traces_section(result: Result) -> str:
    traces = (result.details or {}).get("traces") or {}
    if not traces:
        return '<p class="muted">No workload was read from a trace file.</p>'
    rows = [[name, _number(t.get("rows_read")), _number(t.get("rows_used")),
             _number(t.get("rows_skipped"))] for name, t in traces.items()]
    parts = [_table(["workload", "rows read", "rows used", "rows skipped"], rows,
                    [False, True, True, True])]
    for name, report in traces.items():
        skipped = report.get("skipped_reasons") or {}
        adjusted = report.get("adjusted") or {}
        examples = report.get("skipped_examples") or []
        if skipped:
            parts.append(f"<h3>{_esc(name)}: rows skipped, by reason</h3>")
            parts.append(_table(["reason", "rows"], [[k, _number(v)] for k, v in skipped.items()],
                                [False, True]))
        if adjusted:
            parts.append(f"<h3>{_esc(name)}: values adjusted</h3>")
            parts.append(_table(["adjustment", "rows"],
                                [[k, _number(v)] for k, v in adjusted.items()], [False, True]))
        if examples:
            parts.append(f"<details><summary>{_esc(name)}: examples of skipped rows</summary>"
                         f"<pre>{_esc(chr(10).join(str(e) for e in examples))}</pre></details>")
    return "".join(parts)


def _services_section(result: Result) -> str:
    """Per inference service: a summary line, its figure, latency, resources and sites."""
    from scheduler.report_services import service_blocks

    try:
        from scheduler import plots
        plots.require_matplotlib()
        with_figures = True
    except InputError:
        with_figures = False
    parts = ['<p>Replicas of a service are not counted as jobs in the wait, JCT, slowdown '
             "and fairness figures above; their requests are measured here.</p>"]
    for block in service_blocks(result, figures=with_figures):
        parts.append(f'<h3 id="service-{_esc(block.name)}">{_esc(block.name)}</h3>'
                     f"<p>{_esc(block.summary)}</p>")
        if block.figure is not None:
            parts.append(f'<figure><img alt="{_esc(block.name)} over time" '
                         f'src="data:image/png;base64,{_figure_png(block.figure)}">'
                         f"<figcaption>{_esc(block.name)}: request rate and backlog, ready "
                         "replicas, share of requests within the SLO and TTFT at the SLO "
                         "percentile per autoscaling step; dashed red: the targets."
                         "</figcaption></figure>")
        for table in block.tables:
            parts.append(f"<h4>{_esc(table.heading)}</h4>"
                         + _table(table.columns, table.rows, table.numeric))
    return "".join(parts)


def _period_section(result: Result) -> tuple[str, str, str] | None:
    """"By month" (quarter, year): threshold call-outs, the figure and the table."""
    from scheduler.report_periods import period_block

    try:
        from scheduler import plots
        plots.require_matplotlib()
        with_figure = True
    except InputError:
        with_figure = False
    block = period_block(result, figure=with_figure)
    if block is None:
        return None
    parts = [f'<p class="warn">{_esc(line)}</p>' for line in block.callouts]
    if block.figure is not None:
        parts.append(f'<figure><img alt="by {block.kind}" src="data:image/png;base64,'
                     f'{_figure_png(block.figure)}"><figcaption>By {block.kind}: GPUs online '
                     "and busy, waits of the jobs arriving in each period, facility power "
                     "(and the highest site peak over its cap), energy and carbon."
                     "</figcaption></figure>")
    parts.append(_table(block.columns, block.rows, block.numeric))
    parts.append("<p>Definitions: docs/timeline.md, \"Answers by period\"; the table is "
                 "<code>periods.csv</code>.</p>")
    return "periods", f"By {block.kind}", "".join(parts)


def _summary_section(summary: dict[str, Any]) -> str:
    rows = [[key, format_metric(key, value)] for key, value in sorted(summary.items())
            if key != "sites"]
    return _table(["metric", "value"], rows, [False, False])


# --------------------------------------------------------------------------- plots


def _figure_png(fig: Figure, dpi: int = 96) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots_section(result: Result) -> str:
    try:
        from scheduler import plots
        plots.require_matplotlib()
    except InputError:
        return ('<p class="warn">Figures need matplotlib, a dependency of clustersim that is '
                "missing here: <code>pip install matplotlib</code>, then run the report "
                "again.</p>")
    have = set(plots.available(result))
    parts = []
    for kind in plots.PLOTS:
        title = PLOT_TITLES[kind]
        if kind not in have:
            what = ("no site has a location in the scenario" if kind == "map"
                    else "not modelled in this run (no energy model)")
            parts.append(f'<h3 id="plot-{kind}">{_esc(title)}</h3><p class="muted">{_esc(what)}.</p>')
            continue
        data = _figure_png(plots.PLOTS[kind](result))
        parts.append(f'<figure id="plot-{kind}"><img alt="{_esc(title)}" '
                     f'src="data:image/png;base64,{data}"><figcaption>{_esc(title)}: '
                     f"{_esc(PLOT_CAPTIONS[kind])}</figcaption></figure>")
    return "".join(parts)


# --------------------------------------------------------------------------- the page


def _scenario(result: Result) -> dict[str, Any]:
    from scheduler.plots import scenario_data

    return scenario_data(result)


def _headline(summary: dict[str, Any]) -> str:
    submitted = summary.get("jobs_submitted") or 0

    def share(key: str) -> str:
        value: Any = summary.get(key)
        return f"{value / submitted:.1%} of submitted" if submitted and _finite(value) else ""

    cards = [
        _card("Jobs submitted", _number(summary.get("jobs_submitted"))),
        _card("Jobs completed", _number(summary.get("jobs_completed")), share("jobs_completed")),
        _card("Jobs rejected", _number(summary.get("jobs_rejected")), share("jobs_rejected")),
        _card("Jobs unfinished at the end", _number(summary.get("jobs_unfinished")),
              share("jobs_unfinished")),
        _card("GPU utilization", _pct(summary.get("gpu_utilization")),
              f"of {_number(summary.get('gpus_total'))} GPUs" if summary.get("gpus_total")
              else ""),
        _card("Wait (mean)", human_duration(summary.get("mean_wait_s")),
              f"p95 {human_duration(summary.get('p95_wait_s'))}, "
              f"median {human_duration(summary.get('p50_wait_s'))}"),
        _card("Job completion time (mean)", human_duration(summary.get("mean_jct_s")),
              f"p95 {human_duration(summary.get('p95_jct_s'))}, "
              f"median {human_duration(summary.get('p50_jct_s'))}"),
        _card("GPU-hours used", _number(summary.get("gpu_hours_busy"), 0)
              if _finite(summary.get("gpu_hours_busy")) else "-"),
    ]
    energy = [("Facility energy", "energy_facility_mwh", "MWh"),
              ("Peak facility power", "peak_facility_power_mw", "MW"),
              ("Carbon", "carbon_t", "t CO2e"), ("Energy cost", "energy_cost_eur", "EUR")]
    for label, key, unit in energy:
        value: Any = summary.get(key)
        if _finite(value):
            cards.append(_card(label, f"{_quantity(value)} {unit}"))
        else:
            cards.append(_card(label, "not modelled", off=True))
    if _finite(summary.get("inference_slo_attainment")):
        cards.append(_card("Inference requests within SLO",
                           _pct(summary.get("inference_slo_attainment")),
                           f"of {_number(summary.get('inference_requests'), 0)} requests"))
    return f'<div class="cards">{"".join(cards)}</div>'


def _simulated_dates(summary: dict[str, Any], period: float) -> str:
    """`` (Mon 2020-01-27 00:00 to Mon 2020-02-03 00:00, Paris time)`` when the run records
    its start date (runs saved before calendars existed do not)."""
    from scheduler.signals.dates import describe_start, parse_start

    start = summary.get("start_date")
    if not isinstance(start, str):
        return ""
    day = parse_start(start)
    return f" ({describe_start(day)} to {describe_start(day, period)}, Paris time)"


def render_report(result: Result) -> str:
    """The report as one HTML string (self-contained: inline CSS and images)."""
    from scheduler import __version__
    from scheduler.compare import policy_label

    summary = result.summary
    scenario = _scenario(result)
    period = float(summary.get("simulated_time_s") or 0.0)
    name = summary.get("scenario", scenario.get("name", "run"))
    policy = policy_label(result.scenario_text)
    facts = [f"seed {summary.get('seed')}", f"backend {summary.get('backend')}",
             f"{human_duration(period)} simulated{_simulated_dates(summary, period)}",
             f"{len(summary.get('sites') or {})} sites, {_number(summary.get('gpus_total'))} GPUs"]
    if policy:
        facts.append(f"policy {policy}")
    if scenario.get("drain"):
        facts.append("drained after the horizon")
    warn = ('<p class="warn">This run was interrupted: the figures are partial.</p>'
            if summary.get("interrupted") else "")
    warn += "".join(f'<p class="warn">Warning: {_esc(text)}</p>'
                    for text in summary.get("warnings") or [])
    if summary.get("warmup_s"):
        facts.append(f"job statistics over the {_number(summary.get('jobs_measured'))} jobs "
                     f"arriving after a {human_duration(summary['warmup_s'])} warm-up")
    jobs = result.jobs
    # A tenants table only when it says more than the workloads table (not one-to-one).
    pairs = (len(jobs[["workload", "tenant"]].drop_duplicates())
             if {"workload", "tenant"} <= set(jobs.columns) else 0)
    tenants_differ = pairs > 0 and jobs["tenant"].nunique() > 1 and not (
        pairs == jobs["workload"].nunique() == jobs["tenant"].nunique())
    sections = [
        ("headline", "Headline numbers", _headline(summary)),
        ("plots", "Figures", _plots_section(result)),
        ("sites", "Sites", _site_section(result)),
        ("workloads", "Workloads", _workload_section(result, period, "workload")),
    ]
    if (by_period := _period_section(result)) is not None:
        sections.insert(2, by_period)
    if tenants_differ:
        sections.append(("tenants", "Tenants", _workload_section(result, period, "tenant")))
    if (result.details or {}).get("services"):
        sections.append(("services", "Inference services", _services_section(result)))
    sections += [
        ("reasons", "Why jobs waited or were rejected", _reasons_section(result)),
        ("traces", "Trace read reports", _traces_section(result)),
        ("summary", "All summary metrics", _summary_section(summary)),
    ]
    shown = {"rejected_reasons", "traces", "trace_rows_read", "trace_rows_skipped",
             "workloads", "tenants", "services", "periods"}
    other = {k: v for k, v in (result.details or {}).items() if k not in shown}
    if other:
        sections.append(("details", "Other details",
                         "<details><summary>details.json (other entries)</summary>"
                         f"<pre>{_esc(json.dumps(other, indent=2, default=str))}</pre>"
                         "</details>"))
    scenario_text = (json.dumps(scenario, indent=2) if scenario else result.scenario_text) or \
        "(the scenario was not recorded with this run)"
    sections.append(("scenario", "Scenario",
                     "<p>The validated scenario that produced this run (units in SI: seconds, "
                     "watts). Run it again with <code>clustersim run scenario.json</code>.</p>"
                     f"<details><summary>scenario.json</summary><pre>{_esc(scenario_text)}</pre>"
                     "</details>"))
    nav = "".join(f'<a href="#{key}">{_esc(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{_esc(title)}</h2>{content}</section>'
                   for key, title, content in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>clustersim report: {_esc(name)}</title><style>{CSS}</style></head>"
            f"<body><main><h1>{_esc(name)}</h1>"
            f'<p class="sub">{_esc(" · ".join(facts))}</p>{warn}<nav>{nav}</nav>{body}'
            f'<p class="muted">clustersim {_esc(__version__)}; wall time '
            f"{_number(summary.get('wall_time_s'), 2)} s, "
            f"{_number(summary.get('events'))} events.</p>"
            "</main></body></html>\n")


def write_report(result: Result, path: str | Path) -> Path:
    """Write :func:`render_report` to ``path`` atomically; returns the path."""
    target = Path(path)
    text = render_report(result)
    atomic_write(target, lambda p: p.write_text(text, encoding="utf-8"))
    return target
