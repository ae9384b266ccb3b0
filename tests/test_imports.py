"""No import cycle in scheduler/ or gpu/ (scripts/import_cycles.py, every import counted,
lazy and TYPE_CHECKING ones too). The results, plots, report and compare modules read each
other in one direction only: cli -> report -> plots, compare, results; results -> plots
(the ``plot`` accessor); plots reads a run through a protocol and imports none of them."""

from __future__ import annotations

import importlib.util

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("import_cycles",
                                               ROOT / "scripts" / "import_cycles.py")
assert _spec is not None and _spec.loader is not None
import_cycles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_cycles)

KNOWN: list[list[str]] = []
"""Cycles tolerated for now (none: new ones may not join)."""

def test_no_new_import_cycle():
    found = [group for package in ("scheduler", "gpu")
             for group in import_cycles.cycles(import_cycles.imports(package))]
    assert [g for g in found if g not in KNOWN] == []


def test_results_plots_report_compare_form_no_cycle():
    graph = import_cycles.imports("scheduler")
    assert not graph["scheduler.plots"] & {"scheduler.results", "scheduler.report",
                                            "scheduler.compare", "scheduler.cli"}
    assert "scheduler.report" not in graph["scheduler.results"]
    assert "scheduler.cli" not in graph["scheduler.report"] | graph["scheduler.plots"]


def test_cli_plot_kinds_match_the_plots():
    from scheduler.cli import PLOT_FORMATS, PLOT_KINDS
    from scheduler.plots import PLOT_FORMATS as FORMATS
    from scheduler.plots import PLOTS

    assert tuple(PLOTS) == PLOT_KINDS and PLOT_FORMATS == FORMATS
