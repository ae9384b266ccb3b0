"""The 2026 parts of the GPU catalog (issue 18, item 6): present, sourced, usable."""

from __future__ import annotations

import csv
from importlib import resources

from conftest import tiny_scenario

from scheduler.catalog import builtin_gpu_types
from scheduler.loading import validate_data

NEW = {"B300": (1100, 288), "GB300": (1400, 288), "MI355X": (1400, 288), "MI350X": (1000, 288)}


def test_new_parts_are_in_the_catalog_with_their_datasheet_figures():
    catalog = builtin_gpu_types()
    for name, (busy_w, memory_gb) in NEW.items():
        gpu = catalog[name]
        assert (gpu.busy_w, gpu.memory_gb) == (busy_w, memory_gb), name
        assert 0.1 <= gpu.idle_w / gpu.busy_w <= 0.13  # the 12 % idle rule of gpu_types.csv
    assert catalog["H100"].busy_w == 700  # the copied catalog is unchanged


def test_every_row_says_its_sources_and_assumptions():
    path = resources.files("scheduler") / "data" / "gpu_types_2026.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["gpu"] for row in rows} == set(NEW)
    for row in rows:
        assert "ASSUMPTION" in row["basis"] and ("NVIDIA" in row["basis"]
                                                  or "The Register" in row["basis"])
    provenance = (resources.files("scheduler") / "data" / "PROVENANCE.md").read_text()
    assert "gpu_types_2026.csv" in provenance


def test_a_scenario_can_use_them_without_gpu_types():
    data = tiny_scenario()
    data["sites"][0]["nodes"].append({"gpu": "GB300", "gpus_per_node": 4, "count": 2})
    data["sites"][1]["nodes"].append({"gpu": "MI355X", "gpus_per_node": 8, "count": 1})
    scenario = validate_data(data)
    assert [g.gpu for g in scenario.sites[0].nodes][-1] == "GB300"
