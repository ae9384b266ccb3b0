"""Speeds from the hardware: the roofline of the catalog's figures, MLPerf-calibrated."""

from __future__ import annotations

import numpy as np
import pytest

from scheduler import simulate
from scheduler.catalog import builtin_gpu_types
from scheduler.errors import InputError
from scheduler.hardware_speed import hardware_speeds, model_class_names, model_classes

CATALOG = builtin_gpu_types()


def speeds(model_class: str, names: list[str], reference: int = 0,
           memory: float | None = None) -> np.ndarray:
    return hardware_speeds(model_class, [CATALOG[n] for n in names], reference, memory)


def test_calibrated_classes_reproduce_the_mlperf_speedups():
    # MLPerf Training v4.1 per-GPU B200 / H100 (data/speed_calibration.csv): 2.0, 2.2, 1.7.
    for name, measured in (("llm-pretrain", 2.0), ("llm-finetune", 2.2), ("vision", 1.7)):
        assert speeds(name, ["H100", "B200"])[1] == pytest.approx(measured, rel=1e-12)


def test_generic_class_is_the_roofline_by_hand():
    # c = 0.5: 1 / (0.5 x 989/989 + 0.5 x 3.35/4.8) for H200; the GB200 row by the same rule.
    expected_h200 = 1.0 / (0.5 + 0.5 * 3.35 / 4.8)
    expected_gb200 = 1.0 / (0.5 * 989 / 2500 + 0.5 * 3.35 / 8.0)
    got = speeds("generic", ["H100", "H200", "GB200"])
    assert got == pytest.approx([1.0, expected_h200, expected_gb200], rel=1e-12)


def test_speeds_are_relative_to_the_reference_type():
    on_h100 = speeds("llm-finetune", ["H100", "B200", "MI300X"], reference=0)
    on_b200 = speeds("llm-finetune", ["H100", "B200", "MI300X"], reference=1)
    assert on_b200 == pytest.approx(on_h100 / on_h100[1], rel=1e-12)
    assert speeds("uniform", ["H100", "B200"]).tolist() == [1.0, 1.0]


def test_memory_need_excludes_small_types():
    # 100 GB per GPU: the 80 GB H100 cannot run it; H200 (141 GB) can.
    got = speeds("generic", ["H100", "H200"], memory=100.0)
    assert got[0] == 0.0 and got[1] > 1.0


def test_every_class_has_a_compute_share_between_0_and_1():
    assert set(model_class_names()) == {"uniform", *model_classes()}
    for spec in model_classes().values():
        assert 0.0 <= spec.compute_share <= 1.0


def two_type_trace(tmp_path, workload: dict, jobs: str = "0,8,2h\n") -> dict:
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,gpus,duration\n" + jobs)
    return {
        "seed": 1, "duration": "1d", "drain": True,
        "sites": [{"name": "A", "nodes": [{"gpu": "B200", "gpus_per_node": 8, "count": 1},
                                          {"gpu": "H100", "gpus_per_node": 8, "count": 1}]}],
        "workloads": [{"name": "w", "trace": {"format": "csv", "path": str(trace)},
                       **workload}],
        "policy": {"queue": "fifo"},
    }


def test_a_run_uses_the_hardware_speed(tmp_path):
    # Durations on H100 (reference_gpu); the job lands on B200 (first group): 2 h / 2.0.
    result = simulate(two_type_trace(tmp_path, {"model_class": "llm-pretrain",
                                                "reference_gpu": "H100"}))
    job = result.jobs.iloc[0]
    assert job["end_s"] - job["start_s"] == pytest.approx(3600.0, rel=1e-9)


def test_an_explicit_speedup_table_wins(tmp_path):
    result = simulate(two_type_trace(tmp_path, {"model_class": "llm-pretrain",
                                                "speedup": {"B200": 4.0}}))
    job = result.jobs.iloc[0]
    assert job["end_s"] - job["start_s"] == pytest.approx(1800.0, rel=1e-9)


def test_the_default_reference_is_the_fleets_first_type(tmp_path):
    # B200 comes first in the site: durations are B200 durations, speed 1 there.
    result = simulate(two_type_trace(tmp_path, {}))
    job = result.jobs.iloc[0]
    assert job["end_s"] - job["start_s"] == pytest.approx(7200.0, rel=1e-9)


def test_a_job_needing_more_memory_than_any_type_is_rejected(tmp_path):
    result = simulate(two_type_trace(tmp_path, {"memory_gb_per_gpu": 500}))
    assert result.summary["jobs_rejected"] == 1
    assert "memory" in result.jobs.iloc[0]["reason"]


def test_memory_need_steers_to_the_types_that_hold_it(tmp_path):
    # Two 8-GPU jobs, 150 GB per GPU: only B200 (180 GB) holds them, so they run one after
    # the other there though an H100 node is free.
    result = simulate(two_type_trace(tmp_path, {"memory_gb_per_gpu": 150},
                                     jobs="0,8,1h\n0,8,1h\n"))
    starts = sorted(result.jobs["start_s"])
    assert starts == [0.0, 3600.0]
    assert set(result.jobs["site"]) == {"A"}


def test_unknown_model_class_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"workloads\.0\.model_class"):
        simulate(two_type_trace(tmp_path, {"model_class": "quantum"}))


def test_the_docs_table_of_speeds_is_current():
    # docs/policies-and-plugins.md lists B200, H200, MI300X over H100 per class (2 decimals).
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "policies-and-plugins.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")
            and line.split("|")[1].strip().strip("`") in model_class_names()]
    assert {row.split("|")[1].strip().strip("`") for row in rows} == set(model_class_names())
    for row in rows:
        cells = [cell.strip() for cell in row.split("|")[1:-1]]
        name = cells[0].strip("`")
        got = speeds(name, ["H100", "B200", "H200", "MI300X"])
        for cell, value in zip(cells[2:5], got[1:], strict=True):
            assert float(cell.split()[0]) == pytest.approx(value, abs=0.006), (name, cell)
