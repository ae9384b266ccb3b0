"""Write scenarios/hdf-buildout.yaml (1:1) and hdf-buildout-small.yaml (1:100): the
Hauts-de-France fleet from 2026-01-05 to the end of 2032, built phase by phase.

Each row of ``scheduler/data/hdf_buildout.csv`` is a build phase of a site: the facility MW
it adds, the date its first nodes enter service, the months its ramp lasts and its GPU mix
(types of its build date), with the sources or the word "assumption" in ``basis``. GPUs of
a phase = MW / PUE x AI share x mix share / per-GPU all-in IT power (the rule of
scripts/make_hdf_scenarios.py, PUE and AI share from sites.csv), as 8-GPU nodes. A
site's power cap is a table by date: its cumulative phase MW x AI share from each phase's
date (Escaudain: its 700 MW RTE connection from 2030). Existing H100/H200 fleets are
swapped for newer generations at dates in ``swaps`` (same IT power, so fewer GPUs).
Training demand follows the build-out: a ``growth_by_date`` table by month whose factor is
the month's mean GPUs in service over those at the start, so that each workload asks for
the same share of the GPUs in service every month (DEMAND), and a
``duration_growth_by_date`` table whose factor is the month's mean speed of those GPUs over
the start's, so that the work keeps pace with faster generations (SIZES). Run:
python scripts/make_hdf_buildout.py
"""

from __future__ import annotations

import csv
import functools
import math
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from make_hdf_scenarios import ALL_IN_KW, GPUS_PER_NODE, mean_gpus  # noqa: E402

from scheduler.catalog import builtin_gpu_types  # noqa: E402
from scheduler.hardware_speed import hardware_speeds  # noqa: E402

START = date(2026, 1, 5)
"""A Monday (grid profiles keep their weekdays), the first full week of 2026."""
END = date(2033, 1, 1)
"""The horizon: 00:00 on 2033-01-01, seven years of 2026-2032 less four days."""
FULL_SCALE_YEAR = (date(2030, 1, 7), 365)
"""The 1:1 file's run window: the year from Monday 2030-01-07 (8.2 M jobs; the whole
timeline at 1:1, 44.5 M jobs, needs ~53 GB in memory or ~22 GB streamed by the memory
guard's estimates, so it is a `--set start=2026-01-05 --set duration=2553d` away)."""
ALL_IN_KW_2026 = {**ALL_IN_KW, "B300": 2.1, "GB300": 2.2, "MI355X": 2.1}
"""Per-GPU all-in IT power of the 2026 parts: ASSUMPTION, the B200/GB200 and MI300X figures
plus the extra board power (B300 +0.1 kW, GB300 +0.2 kW, MI355X +0.65 kW; catalog TDPs)."""
MONTH_DAYS = 365.25 / 12
AI_CAP_ESCAUDAIN_MW = 700.0
"""Escaudain's RTE connection (dcmag.fr: 'la capacite de RTE d'acheminer 700 megawatts')."""

# Research training of LLM-era clusters: ASSUMPTION, larger than the 2017-2020 traces of
# hdf-2030.yaml (median 1 GPU, 15 min): 30 % single-GPU jobs, 30 % 8-GPU, a tail to 1,024;
# lognormal durations, median 2 h, sigma 1.8 (mean ~10 h). About 400 GPU-hours per job, so
# a full-scale year holds 10-20 M jobs (the size the streaming benchmark targets) instead
# of ~90 M with the 2030 snapshot's mix.
RESEARCH_GPUS = {"choice": [1, 8, 16, 32, 64, 128, 256, 512, 1024],
                 "weights": [0.30, 0.30, 0.12, 0.10, 0.08, 0.05, 0.03, 0.015, 0.005]}
RESEARCH_DURATION = {"median_s": 7200.0, "sigma": 1.8, "cap_s": 14 * 86400.0}
SMALL_RESEARCH_GPUS = {"choice": [1, 2, 4, 8, 16, 32, 64, 128],
                       "weights": [0.60, 0.12, 0.10, 0.08, 0.05, 0.03, 0.015, 0.005]}
"""At 1:100, RESEARCH_GPUS / 8 (1 and 8 merge into 1): the 2026 fleet has 232 GPUs."""
FOUNDATION_GPUS = {"choice": [512, 1024, 2048, 4096], "weights": [0.4, 0.3, 0.2, 0.1]}
FOUNDATION_DURATION = {"median_s": 2 * 86400.0, "sigma": 0.8, "cap_s": 30 * 86400.0}
TARGET_SHARE = {"research": 0.45, "foundation": 0.25}
"""Shares of the GPUs in service the workloads ask for, every month (as hdf-2030.yaml)."""
DEMAND = ("ASSUMPTION: the fleet is built for its demand, so training demand follows the "
          "GPUs in service month by month (a planner's slip moves capacity, not demand)")
SIZES = ("ASSUMPTION: jobs grow with the hardware (larger models on faster GPUs), so a job's "
         "work is its H100 duration x the fleet's mean speed over the start's: each workload "
         "keeps its share of the GPUs in service busy as the fleet modernises, without more jobs")
FOUNDATION_SPEEDUP = {"H100": 1.0, "H200": 1.2, "B200": 2.2, "GB200": 2.5, "B300": 2.5,
                      "GB300": 2.5}
"""The foundation workload's speedups (H100..GB200 as hdf-2030.yaml; B300, GB300: GB200's)."""


def days_from_start(day: date) -> float:
    return float((day - START).days)


@functools.cache
def phases() -> list[dict]:
    return list(csv.DictReader((ROOT / "scheduler" / "data" / "hdf_buildout.csv").open()))


@functools.cache
def sites() -> dict[str, dict]:
    rows = csv.DictReader((ROOT / "scheduler" / "data" / "sites.csv").open())
    return {row["site"]: row for row in rows}


def phase_gpus(phase: dict, site: dict) -> list[tuple[str, float]]:
    """(GPU type, GPUs) of a phase at 1:1."""
    it_kw = float(phase["mw"]) * 1000 / float(site["pue"]) * float(site["ai_share"])
    out = []
    for part in phase["mix"].split(";"):
        gpu, share = part.split(":")
        out.append((gpu, it_kw * float(share) / ALL_IN_KW_2026[gpu]))
    return out


def swaps_of(phase: dict) -> dict[str, tuple[str, date]]:
    """Old type -> (new type, date) of a phase's swaps (``H100>B200@2028-06-01``)."""
    out = {}
    for item in filter(None, phase["swaps"].split(";")):
        old, rest = item.split(">")
        new, when = rest.split("@")
        out[old] = (new, date.fromisoformat(when))
    return out


@functools.cache
def gpus_by_type(day: date, scale: float = 1.0) -> dict[str, float]:
    """GPUs in service on ``day`` at ``scale`` by type (ramps and swaps as the scenario
    has them). Cached: the demand and size tables read every day of the timeline; callers
    must not change the dict."""
    out: dict[str, float] = {}
    table = sites()
    for phase in phases():
        swaps = swaps_of(phase)
        for gpu, gpus in phase_gpus(phase, table[phase["site"]]):
            nodes = round(gpus * scale / GPUS_PER_NODE)
            kind = gpu
            if gpu in swaps and day >= swaps[gpu][1]:
                kind = swaps[gpu][0]
                nodes = round(nodes * ALL_IN_KW_2026[gpu] / ALL_IN_KW_2026[kind])
            out[kind] = out.get(kind, 0.0) + nodes_in(phase, nodes, day) * GPUS_PER_NODE
    return out


def gpus_online(day: date, scale: float = 1.0) -> float:
    """GPUs in service on ``day`` at ``scale``."""
    return sum(gpus_by_type(day, scale).values())


def mean_speed(day: date, speeds: dict[str, float]) -> float:
    """Mean speed (H100 = 1) over the GPUs in service on ``day`` of the types in
    ``speeds`` (those a workload may run on)."""
    counts = gpus_by_type(day)
    usable = sum(n for gpu, n in counts.items() if gpu in speeds)
    return sum(n * speeds[gpu] for gpu, n in counts.items() if gpu in speeds) / usable


def nodes_in(phase: dict, nodes: int, day: date) -> int:
    """Nodes of a ramped phase in service on ``day`` (the scheduler's tranche rule)."""
    elapsed = (day - date.fromisoformat(phase["online"])).days
    if elapsed < 0:
        return 0
    months = int(phase["ramp_months"])
    if months == 0:
        return nodes
    tranches = int(elapsed // MONTH_DAYS) + 1
    return min(nodes, math.ceil(tranches * nodes / months - 1e-9))


def month_starts() -> list[date]:
    """The first day of every month from START's to END's (exclusive)."""
    out, day = [], date(START.year, START.month, 1)
    while day < END:
        out.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def monthly_means(measure: Callable[[date], float]) -> list[tuple[date, float]]:
    """(first of month, the month's daily mean of ``measure`` over its value at START). The
    first row is dated START's month, before START: in force from time 0."""
    base = measure(START)
    rows = []
    for first in month_starts():
        last = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        days = [date.fromordinal(d) for d in range(max(first, START).toordinal(),
                                                   min(last, END).toordinal())]
        rows.append((first, sum(measure(d) for d in days) / len(days) / base))
    return rows


def demand_table() -> list[tuple[date, float]]:
    """(first of month, factor): the month's mean GPUs in service over those at START."""
    return monthly_means(gpus_online)


def size_table(speeds: dict[str, float]) -> list[tuple[date, float]]:
    """(first of month, factor): the month's mean speed of the GPUs in service a workload
    may use over that at START (SIZES)."""
    return monthly_means(lambda day: mean_speed(day, speeds))


def research_speeds() -> dict[str, float]:
    """Speeds (H100 = 1) the engine gives the research workload (class ``generic``,
    durations on H100: the two-term roofline and MLPerf calibration) on each type built."""
    types = builtin_gpu_types()
    names = sorted({gpu for phase in phases() for gpu, _ in phase_gpus(phase, sites()[phase["site"]])}
                   | {new for phase in phases() for new, _ in swaps_of(phase).values()})
    speeds = hardware_speeds("generic", [types[n] for n in names], names.index("H100"))
    return dict(zip(names, speeds.tolist(), strict=True))


def _table_lines(key: str, rows: list[tuple[date, float]], indent: int) -> list[str]:
    """A growth table in YAML: ``key`` at ``indent`` spaces, then a row where the factor
    changes."""
    kept: list[tuple[date, str]] = []
    for day, factor in rows:
        if not kept or kept[-1][1] != f"{factor:.4g}":
            kept.append((day, f"{factor:.4g}"))
    pad = " " * indent
    return [f"{pad}{key}", *(f"{pad}  - {{since: {day}, factor: {factor}}}"
                            for day, factor in kept)]


def _lognormal_mean(spec: dict) -> float:
    return spec["median_s"] * math.exp(spec["sigma"] ** 2 / 2)


def _fmt_weights(spec: dict) -> str:
    return (f"{{choice: {spec['choice']}, weights: {spec['weights']}}}")


def _site_lines(name: str, site: dict, rows: list[dict], scale: float) -> list[str]:
    lines = [f"  - name: {name}  # {site['basis']}; {float(site['full_mw']):g} MW announced ceiling",
             f"    location: {{lat: {site['lat']}, lon: {site['lon']}}}",
             f"    pue: {site['pue']}"]
    if not rows:
        return [*lines, "    nodes: []  # no build phase before 2033"]
    steps, total = [], 0.0
    for phase in rows:
        total += float(phase["mw"])
        cap_mw = total * float(site["ai_share"]) * scale
        if name == "Escaudain":  # the grid connection, not the phase, bounds it
            cap_mw = AI_CAP_ESCAUDAIN_MW * float(site["ai_share"]) * scale
        if not steps or steps[-1][1] != cap_mw:
            steps.append((phase["online"], cap_mw))
    lines.append("    # Cap by date: the MW of the phases built so far x AI share"
                 + (" (Escaudain: its 700 MW connection from 2030)" if name == "Escaudain" else ""))
    lines.append("    power_cap: [" + ", ".join(f"{{from: {day}, cap: {mw:.4g}MW}}"
                                               for day, mw in steps) + "]")
    lines.append("    nodes:")
    for phase in rows:
        lines.append(f"      # {float(phase['mw']):g} MW from {phase['online']}: {phase['basis']}")
        swaps = swaps_of(phase)
        for gpu, gpus in phase_gpus(phase, site):
            nodes = round(gpus * scale / GPUS_PER_NODE)
            if nodes < 1:
                continue
            parts = [f"gpu: {gpu}", f"gpus_per_node: {GPUS_PER_NODE}", f"count: {nodes}",
                     f"online: {phase['online']}"]
            months = int(phase["ramp_months"])
            if months:
                parts.append(f"ramp: {{fraction_per_month: {1 / months:.6g}}}")
            if gpu in swaps:
                new, when = swaps[gpu]
                count = max(1, round(nodes * ALL_IN_KW_2026[gpu] / ALL_IN_KW_2026[new]))
                parts.append(f"swap: {{at: {when}, gpu: {new}, count: {count}}}")
            lines.append("      - {" + ", ".join(parts) + "}")
    return lines


def _workload_lines(scale: float, research_gpus: dict, foundation_gpus: dict) -> list[str]:
    base_gpus = gpus_online(START)
    out = []
    for name, gpus_spec, dur in (("research", research_gpus, RESEARCH_DURATION),
                                 ("foundation", foundation_gpus, FOUNDATION_DURATION)):
        rate = (TARGET_SHARE[name] * base_gpus * scale
                / (mean_gpus(gpus_spec) * _lognormal_mean(dur) / 3600))
        growth = (_table_lines("growth_by_date: &demand", demand_table(), 6)
                  if name == "research" else ["      growth_by_date: *demand"])
        speeds = research_speeds() if name == "research" else FOUNDATION_SPEEDUP
        out += [f"  - name: {name}", "    kind: training",
                f"    # {TARGET_SHARE[name]:.0%} of the GPUs in service, month by month: the rate at",
                "    # the start x the month's GPUs in service over the start's (ASSUMPTION: the",
                "    # fleet is built for its demand; the research table is shared by anchor).",
                "    arrival:", "      process: poisson", f"      rate_per_hour: {rate:.4g}",
                *growth,
                f"    gpus: {_fmt_weights(gpus_spec)}",
                f"    duration: {{distribution: lognormal, median: {dur['median_s']:g}s, "
                f"sigma: {dur['sigma']}, cap: {dur['cap_s'] / 86400:g}d}}",
                "    # Jobs grow with the fleet's speed (ASSUMPTION, SIZES): durations on H100 x",
                "    # the month's mean speed of the GPUs in service it may use over the start's.",
                *_table_lines("duration_growth_by_date:", size_table(speeds), 4)]
        if name == "research":
            out += ["    tenant: research", "    reference_gpu: H100",
                    "    checkpoint: {interval: 1h, overhead: 30s, restart: 5m}"]
        else:
            out += ["    gpu_types: [H100, H200, B200, GB200, B300, GB300]", "    tenant: labs",
                    "    priority: 10",
                    "    checkpoint: {interval: 30m, overhead: 30s, restart: 5m, size_gb_per_gpu: 20}",
                    "    # H100..GB200 as hdf-2030.yaml; B300 and GB300: ASSUMPTION, GB200's 2.5",
                    "    # (Blackwell Ultra raises FP4, not BF16: gpu_types_2026.csv).",
                    "    speedup: {" + ", ".join(f"{gpu}: {speed:g}" for gpu, speed
                                                 in FOUNDATION_SPEEDUP.items()) + "}"]
    return out


def window_lines(window: tuple[date, int] | None) -> list[str]:
    """``start``/``duration``: the whole timeline, or ``window`` = (a Monday, days)."""
    if window is None:
        return [f"start: {START}  # a Monday",
                f"duration: {days_from_start(END):g}d  # to 2033-01-01 00:00"]
    first, days = window
    return [f"# The year from {first} (dates below keep their meaning whatever the start); the",
            f"# whole timeline: --set start={START} --set duration={days_from_start(END):g}d.",
            f"start: {first}  # a Monday", f"duration: {days}d"]


def scenario_text(scale: float, name: str, comment: str, foundation_gpus: dict,
                  research_gpus: dict = RESEARCH_GPUS,
                  window: tuple[date, int] | None = None) -> str:
    table = sites()
    by_site: dict[str, list[dict]] = {}
    for phase in phases():
        by_site.setdefault(phase["site"], []).append(phase)
    lines = [f"# {comment}",
             "# Generated by scripts/make_hdf_buildout.py from scheduler/data/hdf_buildout.csv",
             "# and sites.csv (PROVENANCE.md; docs/hdf-reference-scenario.md, 'Build-out').",
             f"name: {name}", "seed: 2026", *window_lines(window),
             "# French grid as hdf-2030.yaml (the 2020 shape at 2024-25 levels; day-ahead shape).",
             "grid:", "  carbon_g_per_kwh: fr-2024", "  price_eur_per_mwh: day-ahead-fr",
             "# Llama 3's interruption rate: ~2e-5 failures per GPU-hour; 4 h to repair a node.",
             "failures: {rate_per_gpu_hour: 2.0e-5, repair: 4h}", "sites:"]
    for site_name, site in table.items():
        lines += _site_lines(site_name, site, by_site.get(site_name, []), scale)
    lines += ["workloads:", *_workload_lines(scale, research_gpus, foundation_gpus),
              "# EASY backfilling: a job waiting for a site not built yet holds a reservation",
              "# for its online date while smaller jobs run (strict FIFO would idle the fleet).",
              "policy:", "  queue: easy-backfill", "  placement:", "    scores:",
              "      - {type: packing, weight: 1}", "      - {type: locality, weight: 1}", ""]
    return "\n".join(lines)


def files() -> dict[str, str]:
    """File name under scenarios/ -> its text."""
    return {
        "hdf-buildout.yaml": scenario_text(
            1.0, "hdf-buildout", "Hauts-de-France build-out 2026-2032 at full scale (1:1).",
            FOUNDATION_GPUS, window=FULL_SCALE_YEAR),
        "hdf-buildout-small.yaml": scenario_text(
            0.01, "hdf-buildout-small", "Hauts-de-France build-out 2026-2032 at 1:100 "
            "(jobs 1/8 the size, so that they fit the small sites).",
            {"choice": [64, 128, 256, 512], "weights": FOUNDATION_GPUS["weights"]},
            SMALL_RESEARCH_GPUS),
    }


def main() -> None:
    for name, text in files().items():
        (ROOT / "scenarios" / name).write_text(text)


if __name__ == "__main__":
    main()
