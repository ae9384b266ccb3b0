"""Sweeps as real processes: one sweep per folder at a time, workers that die with their
parent, a quiet Ctrl-C, and damaged runs tables in the folder a sweep resumes into.

Every case here runs ``python -m scheduler sweep`` in a subprocess (signals, locks and
orphans cannot be tested in-process) with a timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_cli, tiny_scenario

psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="signals, process groups and flock as on Linux")

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}


def write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A tiny 6 h scenario (runs of ~50 ms) and a long one (each run lasts minutes)."""
    write(tmp_path, "tiny.yaml", tiny_scenario(duration="6h"))
    long = tiny_scenario(duration="14d")
    long["workloads"][0]["arrival"]["rate_per_hour"] = 3000
    write(tmp_path, "long.yaml", long)
    return tmp_path


def start_sweep(folder: Path, sweep: Path, out: Path, *extra: str,
                new_session: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "scheduler", "sweep", str(sweep), "--out",
                             str(out), "--quiet", *extra], cwd=folder, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=new_session)


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pids: list[int]) -> list[int]:
    """The pids still running (zombies waiting for their reaper count as gone)."""
    living = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.append(pid)
        except psutil.NoSuchProcess:
            pass
    return living


def workers_of(proc: subprocess.Popen[str], count: int) -> list[int]:
    """Wait until ``proc`` has ``count`` busy child processes and return their pids."""
    def busy() -> list[int] | None:
        children = psutil.Process(proc.pid).children(recursive=True)
        return [c.pid for c in children] if len(children) >= count else None
    return wait_for(busy, 30, f"{count} workers")


def kill_all(pids: list[int]) -> None:
    for pid in alive(pids):
        os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- one sweep a folder


def test_two_concurrent_sweeps_into_one_folder_lose_no_rows(folder: Path) -> None:
    """Issue 20.5: two sweeps of 16 runs into one --out both exited 0 with 16 rows of 32.
    Now a second sweep (here of 4 runs) into a folder that a running sweep holds is refused (exit 2, naming
    the holder's pid) before it writes anything; run afterwards, it adds its rows."""
    first = write(folder, "a.yaml", {"scenario": "long.yaml", "seeds": [1]})
    second = write(folder, "b.yaml", {"scenario": "tiny.yaml", "seeds": list(range(101, 105))})
    out = folder / "out"
    a = start_sweep(folder, first, out, "--workers", "1")
    workers = workers_of(a, 1)  # a holds the folder and is busy with a minutes-long run
    try:
        b = start_sweep(folder, second, out, "--workers", "1")
        _, b_err = b.communicate(timeout=60)
        assert a.poll() is None
        assert b.returncode == 2, b_err
        assert "Traceback" not in b_err and len(b_err.strip().splitlines()) == 1
        assert f"another sweep (pid {a.pid}) is writing to this folder" in b_err
        assert not (out / "runs.csv").exists()
        a.send_signal(signal.SIGTERM)
        _, a_err = a.communicate(timeout=20)
        assert a.returncode == 143, a_err
    finally:
        kill_all([a.pid, *workers])
    code, _, err = run_cli("sweep", str(second), "--out", str(out), "--quiet")
    assert code == 0, err  # the lock went with its holder
    assert len(pd.read_csv(out / "runs.csv")) == 4


def test_a_held_lock_refuses_an_in_process_sweep(folder: Path) -> None:
    """The lock holds against ``sweep()`` from Python too, and is released afterwards."""
    from scheduler.sweeps.runner import SweepLock

    spec = write(folder, "a.yaml", {"scenario": "tiny.yaml", "seeds": [1]})
    out = folder / "out"
    out.mkdir()
    with SweepLock(out):
        code, _, err = run_cli("sweep", str(spec), "--out", str(out), "--quiet")
        assert code == 2 and f"pid {os.getpid()}" in err, err
    code, _, err = run_cli("sweep", str(spec), "--out", str(out), "--quiet")
    assert code == 0, err


# --------------------------------------------------------------------------- orphans and signals


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_exit_when_the_parent_is_killed(folder: Path, sig: signal.Signals) -> None:
    """Issue 20.6: after ``kill -9`` or ``kill`` of the parent, its workers ran on for more
    than 70 s at 280 MB each. Now they are gone within seconds."""
    spec = write(folder, "l.yaml", {"scenario": "long.yaml", "seeds": [1, 2]})
    proc = start_sweep(folder, spec, folder / "out", "--workers", "2")
    workers = workers_of(proc, 2)
    try:
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=20)
        wait_for(lambda: not alive(workers), 10, "the workers to exit")
    finally:
        kill_all([proc.pid, *workers])
    if sig == signal.SIGTERM:
        assert proc.returncode == 143, err
        assert err.startswith("interrupted by SIGTERM;") and len(err.splitlines()) == 1, err


def test_ctrl_c_of_a_local_sweep_is_one_line(folder: Path) -> None:
    """Ctrl-C reaches the whole process group, as from a terminal: exit 130, one line."""
    spec = write(folder, "l.yaml", {"scenario": "long.yaml", "seeds": [1, 2]})
    proc = start_sweep(folder, spec, folder / "out", "--workers", "2", new_session=True)
    workers = workers_of(proc, 2)
    try:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        wait_for(lambda: not alive(workers), 10, "the workers to exit")
    finally:
        kill_all([proc.pid, *workers])
    assert proc.returncode == 130, err
    assert err.startswith("interrupted by SIGINT;") and len(err.splitlines()) == 1, err


@pytest.mark.slow
def test_ctrl_c_of_a_dask_sweep_is_one_line(folder: Path) -> None:
    """Issue 20.6: Ctrl-C of a sweep on a local dask cluster printed worker tracebacks."""
    pytest.importorskip("dask.distributed")
    spec = write(folder, "l.yaml", {"scenario": "long.yaml", "seeds": [1, 2],
                                    "executor": "dask", "workers": 2})
    proc = start_sweep(folder, spec, folder / "out", new_session=True)
    workers = workers_of(proc, 3)  # dask's two workers and multiprocessing's resource tracker
    try:
        # A Ctrl-C while the local cluster starts (a second or so) is ignored: press again,
        # as a user would, until the sweep stops (later ones are ignored while it stops).
        deadline = time.monotonic() + 40
        while proc.poll() is None and time.monotonic() < deadline:
            os.killpg(proc.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
        _, err = proc.communicate(timeout=10)
        wait_for(lambda: not alive(workers), 15, "the workers to exit")
    finally:
        kill_all([proc.pid, *workers])
    assert proc.returncode == 130, err
    assert err.startswith("interrupted by SIGINT;") and len(err.splitlines()) == 1, err


# --------------------------------------------------------------------------- damaged runs tables


@pytest.mark.parametrize(("content", "fragment"), [
    (bytes(range(256)) * 8, "cannot read the runs table"),
    (b"run_id,status\n\x00\x00\x00\x00\n", "row 1 is not a sweep run"),
    (b"\x00" * 4096, "cannot read the runs table"),
], ids=["random-bytes", "nul-row", "all-nul"])
def test_a_damaged_runs_table_stops_a_resume_with_exit_2(folder: Path, content: bytes,
                                                         fragment: str) -> None:
    """Issue 20.9/20.10: random bytes in runs.csv gave a traceback, a NUL row was kept as a
    run. A table that is not a sweep's is refused before anything runs and left as it is."""
    spec = write(folder, "a.yaml", {"scenario": "tiny.yaml", "seeds": [1]})
    out = folder / "out"
    out.mkdir()
    (out / "runs.csv").write_bytes(content)
    code, _, err = run_cli("sweep", str(spec), "--out", str(out), "--quiet")
    assert code == 2, err
    assert "Traceback" not in err and fragment in err and "runs.csv" in err, err
    assert len(err.strip().splitlines()) == 1
    assert (out / "runs.csv").read_bytes() == content


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"], ids=["empty", "blank-lines"])
def test_an_empty_runs_table_is_a_sweep_with_no_runs_yet(folder: Path, content: bytes) -> None:
    spec = write(folder, "a.yaml", {"scenario": "tiny.yaml", "seeds": [1, 2]})
    out = folder / "out"
    out.mkdir()
    (out / "runs.csv").write_bytes(content)
    code, _, err = run_cli("sweep", str(spec), "--out", str(out), "--quiet")
    assert code == 0, err
    assert len(pd.read_csv(out / "runs.csv")) == 2
