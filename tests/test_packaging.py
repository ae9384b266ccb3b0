"""Packaging and the scenario files: every scenario validates and runs with a short horizon;
importing the packages never imports CuPy; the schema command works."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, SCENARIOS, run_cli

# Sweep files (a base scenario plus a grid) live beside the scenarios; test them elsewhere.
SCENARIO_FILES = sorted(p for p in SCENARIOS.glob("*.yaml")
                        if "scenario" not in (yaml.safe_load(p.read_text()) or {}))


def test_import_does_not_import_cupy():
    code = "import sys, scheduler, gpu, scheduler.cli; print('cupy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.name for p in SCENARIO_FILES])
def test_scenario_validates(path):
    code, out, err = run_cli("validate", str(path))
    assert code == 0, err
    assert "valid" in out


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.name for p in SCENARIO_FILES])
def test_scenario_runs_short(path, tmp_path):
    code, _, err = run_cli("run", str(path), "--set", "duration=2h", "--out", str(tmp_path),
                             "--quiet")
    assert code == 0, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["jobs_submitted"] == (summary["jobs_completed"] + summary["jobs_rejected"]
                                         + summary["jobs_unfinished"] + summary["jobs_failed"])
    for name in ("jobs.csv", "timeseries.csv", "scenario.json"):
        assert (tmp_path / name).stat().st_size > 0


def test_schema_is_json_schema():
    code, out, _ = run_cli("schema")
    assert code == 0
    schema = json.loads(out)
    assert "sites" in schema["properties"] and "workloads" in schema["required"]


def test_python_dash_m_runs():
    proc = subprocess.run([sys.executable, "-m", "scheduler", "run", str(SCENARIOS / "mmc.yaml"),
                           "--set", "duration=10h"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "jobs submitted" in proc.stdout


def test_figures_and_parquet_need_no_extra():
    """Issue 18: `pip install -e .` gives plots and Parquet; `dev` is test tools only."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {dep.split(">")[0].split("=")[0].strip() for dep in project["dependencies"]}
    assert {"matplotlib", "pyarrow", "pandas", "numpy", "simpy"} <= core
    extras = project["optional-dependencies"]
    assert extras["analysis"] == []  # kept so that old '.[analysis]' install lines still work
    dev = {dep.split(">")[0].split("=")[0].split("[")[0].strip() for dep in extras["dev"]}
    assert not dev & core, "runtime packages belong in the core dependencies"
    assert "pytest" in dev
