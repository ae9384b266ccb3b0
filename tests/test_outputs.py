"""Output sets, paths, signals and untrusted text (issue 20: classes 1, 2, 4, 5, 8, 9, 10).

A run's files are one set (manifest.json written last; readers refuse anything else), signals
during the save leave either the old set or the new one and no temporary file, output paths
never replace links, devices or inputs, a second writer is refused, names cannot act on a
terminal or a spreadsheet, and closed pipes or full disks give one line, not a traceback.
Signal cases run in real subprocesses that signal themselves at a chosen point (a patched
writer), so they are deterministic and fast.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, SCENARIOS, run_cli, tiny_scenario

from scheduler import Result, simulate, tables
from scheduler.interrupt import StopControl
from scheduler.outputs import FolderLock, OutputError, atomic_write

PY = sys.executable


def write_scenario(folder: Path, data: dict, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()
                  if p.name.startswith(".") or p.name.endswith(".tmp"))


def conserved(summary: dict) -> bool:
    return summary["jobs_submitted"] == sum(summary[k] for k in (
        "jobs_completed", "jobs_rejected", "jobs_unfinished", "jobs_failed"))


@pytest.fixture(scope="module")
def small() -> Result:
    return simulate(tiny_scenario(duration="3h"), seed=2)


# =========================================================================== 1: one set


def test_save_writes_a_manifest_last_and_no_temporary_files(small, tmp_path):
    small.save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert set(manifest["files"]) == {"summary.json", "details.json", "scenario.json",
                                      "columns.json", "jobs.csv", "timeseries.csv"}
    assert leftovers(tmp_path) == []
    # Switching format removes the other format's tables: no stale file beside the set.
    pytest.importorskip("pyarrow")
    small.save(tmp_path, format="parquet")
    assert not (tmp_path / "jobs.csv").exists() and (tmp_path / "jobs.parquet").exists()
    Result.load(tmp_path)


def test_save_keeps_other_files_of_the_folder(small, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    small.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("failure", ["enospc", "keyboard"])
def test_failed_save_leaves_the_previous_set_whole(small, tmp_path, monkeypatch, failure):
    """A full disk (or Ctrl-C) while writing the tables: the old set is untouched, no
    temporary file or folder is left, and the old set still loads."""
    old = simulate(tiny_scenario(duration="1h"), seed=9)
    old.save(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = tables.write_csv

    def failing(frame, sink):
        real(frame.head(3), sink)  # a partial file, then the failure
        if failure == "enospc":
            raise OSError(errno.ENOSPC, "No space left on device")
        raise KeyboardInterrupt

    monkeypatch.setattr(tables, "write_csv", failing)
    with pytest.raises(OSError if failure == "enospc" else KeyboardInterrupt):
        small.save(tmp_path)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert Result.load(tmp_path).summary["jobs_submitted"] == old.summary["jobs_submitted"]


def test_cli_full_disk_is_exit_2_with_one_line(tmp_path, monkeypatch):
    def full(frame, sink):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tables, "write_csv", full)
    scenario = write_scenario(tmp_path, tiny_scenario(duration="1h"))
    code, _, err = run_cli("run", str(scenario), "--out", str(tmp_path / "out"), "--quiet")
    assert code == 2 and err.count("\n") == 1 and "No space left on device" in err, err
    assert not (tmp_path / "out").exists()  # created for this run, left empty: removed


# A driver: runs the CLI in a subprocess whose table writer signals the process itself
# (SIGNALS times) while jobs.csv is being written, or during the final renames.
SIGNAL_DRIVER = textwrap.dedent("""
    import os, signal, sys
    from scheduler import outputs, tables
    from scheduler.cli import main

    where, count, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    number = getattr(signal, name)
    real_write_csv, real_fsync = tables.write_csv, outputs._fsync_dir

    def write_csv(frame, sink):
        if where == "write" and "job_id" in frame.columns:
            for _ in range(count):
                os.kill(os.getpid(), number)
        return real_write_csv(frame, sink)

    def fsync_dir(folder):
        if where == "commit":
            for _ in range(count):
                os.kill(os.getpid(), number)
        return real_fsync(folder)

    tables.write_csv = write_csv
    outputs._fsync_dir = fsync_dir
    raise SystemExit(main(sys.argv[4:]))
""")


def run_driver(where: str, count: int, name: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-c", SIGNAL_DRIVER, where, str(count), name, *argv],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_signal_during_save_finishes_the_set_and_says_complete(tmp_path, name, code):
    """One signal after the simulation ended: the set is written whole, says
    interrupted: false, and the message agrees (no "partial results")."""
    out = tmp_path / "out"
    scenario = write_scenario(tmp_path, tiny_scenario(duration="2h"))
    proc = run_driver("write", 1, name, "run", str(scenario), "--out", str(out), "--quiet")
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "partial" not in proc.stderr
    assert "results are complete" in proc.stderr
    result = Result.load(out)
    assert result.summary["interrupted"] is False and result.summary["stop_reason"] is None
    assert leftovers(out) == []


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_second_signal_during_save_keeps_the_previous_set(tmp_path, name, code):
    """A second signal aborts the save: the previous run's set is left as it was."""
    out = tmp_path / "out"
    simulate(tiny_scenario(duration="1h"), seed=4).save(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    scenario = write_scenario(tmp_path, tiny_scenario(duration="2h"))
    proc = run_driver("write", 2, name, "run", str(scenario), "--out", str(out), "--quiet")
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    Result.load(out)


def test_signals_during_the_renames_wait_for_the_set(tmp_path):
    """SIGTERM twice while the files are moved into place: blocked until the set is whole."""
    out = tmp_path / "out"
    simulate(tiny_scenario(duration="1h"), seed=4).save(out)
    scenario = write_scenario(tmp_path, tiny_scenario(duration="2h"))
    proc = run_driver("commit", 2, "SIGTERM", "run", str(scenario), "--out", str(out),
                      "--quiet")
    assert proc.returncode == 143 and "Traceback" not in proc.stderr, proc.stderr
    assert Result.load(out).summary["simulated_time_s"] == 7200
    assert leftovers(out) == []


def test_stale_save_folder_of_a_killed_writer_is_removed(small, tmp_path):
    (tmp_path / ".clustersim-save-dead").mkdir()
    (tmp_path / ".clustersim-save-dead" / "jobs.csv").write_text("x")
    small.save(tmp_path)
    assert leftovers(tmp_path) == []


# =========================================================================== 2: stops


@pytest.mark.parametrize("scenario", ["carbon-aware.yaml", "hdf-2030-small.yaml", "mmc.yaml"])
def test_stop_before_the_first_event_gives_a_consistent_partial_set(scenario, tmp_path):
    """Was ValueError: need as many power times as values (scenarios with grid signals)."""
    stop = StopControl()
    stop.request("SIGTERM")
    result = simulate(SCENARIOS / scenario, stop=stop)
    s = result.summary
    assert s["interrupted"] and s["stop_reason"] == "SIGTERM" and s["simulated_time_s"] == 0
    assert conserved(s)
    result.save(tmp_path)
    Result.load(tmp_path)


def test_late_stop_request_does_not_mark_the_run_interrupted():
    stop = StopControl()
    result = simulate(tiny_scenario(duration="1h"), stop=stop)
    stop.request("SIGTERM")  # after the engine returned: recorded apart
    assert stop.reason is None and stop.late_reason == "SIGTERM"
    assert result.summary["interrupted"] is False


IMPORT_DRIVER = ("import sys, scheduler.cli as cli; print('ready', flush=True); "
                 "sys.exit(cli.main(sys.argv[1:]))")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_imports_is_a_clean_exit(sig, code):
    """Ctrl-C while NumPy, pandas and pydantic load printed a KeyboardInterrupt traceback.
    What the console script does (import scheduler.cli, call main), signalled as main starts
    loading the run's modules (they take far longer than the signal takes to arrive)."""
    proc = subprocess.Popen([PY, "-c", IMPORT_DRIVER, "run", str(SCENARIOS / "mmc.yaml")],
                            cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and err.startswith("interrupted"), err


# =========================================================================== 4: output paths


def test_report_and_plot_refuse_to_replace_links_and_devices(small, tmp_path):
    run_dir = small.save(tmp_path / "run")
    target = tmp_path / "target.html"
    target.write_text("keep")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    cases = [("report", str(run_dir), "--out", str(link)),
             ("report", str(run_dir), "--out", os.devnull),
             ("plot", str(run_dir), "--out", str(fifo), "--kind", "queue"),
             ("report", str(run_dir), "--out", str(run_dir / "jobs.csv"))]
    for argv in cases:
        code, _, err = run_cli(*argv)
        assert code == 2 and "Traceback" not in err and err.count("\n") == 1, (argv, err)
    assert link.is_symlink() and target.read_text() == "keep"
    assert Path(os.devnull).is_char_device() and fifo.is_fifo()
    Result.load(run_dir)
    with pytest.raises(OutputError, match="symbolic link"):
        atomic_write(link, lambda p: p.write_text("x"))


def test_run_out_dot_does_not_overwrite_the_input_trace(tmp_path, monkeypatch):
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,gpus,duration\n0,1,60\n10,2,120\n")
    data = tiny_scenario(duration="1h")
    data["workloads"] = [{"name": "t", "trace": {"format": "csv", "path": "jobs.csv"}}]
    scenario = write_scenario(tmp_path, data)
    before = trace.read_bytes()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("run", str(scenario), "--out", ".", "--quiet")
    assert code == 2 and "would overwrite the input" in err, err
    assert trace.read_bytes() == before


# =========================================================================== 5: concurrency


def test_second_writer_into_one_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    scenario = write_scenario(tmp_path, tiny_scenario(duration="1h"))
    with FolderLock(out):  # another process holds it (flock is per open file)
        proc = subprocess.run([PY, "-m", "scheduler", "run", str(scenario), "--out", str(out),
                               "--quiet"], capture_output=True, text=True, cwd=ROOT,
                              timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "another clustersim process is writing results" in proc.stderr
    assert list(out.iterdir()) == []


# =========================================================================== 8: untrusted text


def test_escape_sequences_in_names_do_not_reach_the_terminal(tmp_path):
    data = tiny_scenario(duration="1h")
    data["name"] = "evil\x1b]0;owned\x07"
    data["sites"][0]["name"] = "A\x1b[2J\x1b[31m"
    scenario = write_scenario(tmp_path, data)
    for argv in (["validate", str(scenario)], ["run", str(scenario)]):
        code, out, err = run_cli(*argv)
        assert code == 0, err
        assert "\x1b" not in out and "\\x1b" in out and "\x07" not in out


def test_formula_names_are_neutralised_in_csv_and_round_trip(tmp_path):
    data = tiny_scenario(duration="2h")
    data["sites"][0]["name"] = "@SUM(A1)"
    data["workloads"][0]["name"] = "=HYPERLINK(\"http://x\")"
    data["workloads"][0]["tenant"] = "+cmd|' /C calc'!A0"
    data["workloads"][1]["tenant"] = "-2+3"
    result = simulate(data, seed=1)
    result.save(tmp_path)
    cells = pd.read_csv(tmp_path / "jobs.csv", dtype=str, keep_default_na=False)
    for column in ("workload", "tenant", "site"):
        assert not cells[column].str.match(r"^[=+\-@]").any(), column
    assert (cells["workload"] == "'=HYPERLINK(\"http://x\")").any()
    loaded = Result.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.jobs, result.jobs, check_exact=True)


def test_trace_path_to_proc_environ_does_not_print_the_environment(tmp_path):
    data = tiny_scenario(duration="1h")
    data["workloads"] = [{"name": "t", "trace": {"format": "tiresias",
                                                 "path": "/proc/self/environ"}}]
    os.environ["CLUSTERSIM_TEST_SECRET"] = "hunter2"
    try:
        code, _, err = run_cli("run", str(write_scenario(tmp_path, data)), "--quiet")
    finally:
        del os.environ["CLUSTERSIM_TEST_SECRET"]
    assert code == 2 and "hunter2" not in err and "\x00" not in err, err
    assert "kernel pseudo-file" in err  # refused before reading (scheduler/bounded_io.py)
    # A regular file with the same kind of content: its header is not echoed either.
    copy = tmp_path / "environ.csv"
    copy.write_bytes(b"PATH=/usr/bin\x00CLUSTERSIM_TEST_SECRET=hunter2\x00HOME=/root\x00\n")
    data["workloads"][0]["trace"]["path"] = str(copy)
    code, _, err = run_cli("run", str(write_scenario(tmp_path, data)), "--quiet")
    assert code == 2 and "hunter2" not in err and "\x00" not in err, err
    assert "binary or control data, not shown" in err


def test_dollar_in_a_site_name_draws(tmp_path):
    data = tiny_scenario(duration="2h")
    data["sites"][0]["name"] = "A$x^{2$"
    data["sites"][0]["location"] = {"lat": 50.0, "lon": 3.0}
    run_dir = simulate(data, seed=1).save(tmp_path / "run")
    code, _, err = run_cli("report", str(run_dir))
    assert code == 0, err
    for kind in ("utilization", "map"):  # the site's name is a label in both
        code, _, err = run_cli("plot", str(run_dir), "--out", str(tmp_path / "f.svg"),
                               "--kind", kind)
        assert code == 0, err
        assert "A$x^{2$" in (tmp_path / "f.svg").read_text()


# =========================================================================== 9: pipes, disks


@pytest.mark.parametrize("argv", [["schema"], ["run", "{mmc}", "--json", "--set", "duration=2h"]])
def test_closed_pipe_is_a_quiet_exit(argv):
    argv = [a.replace("{mmc}", str(SCENARIOS / "mmc.yaml")) for a in argv]
    proc = subprocess.Popen([PY, "-m", "scheduler", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first write, like `| head -c 0`
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert proc.returncode == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err, err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_stdout_on_a_full_device_is_one_line():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([PY, "-m", "scheduler", "run", str(SCENARIOS / "mmc.yaml"),
                               "--set", "duration=2h"], stdout=full, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: cannot write the output: No space left on device"], proc.stderr


# =========================================================================== 10: seed


def test_seed_used_is_the_seed_recorded(tmp_path):
    scenario = write_scenario(tmp_path, tiny_scenario(duration="1h", seed=2030))
    code, _, err = run_cli("run", str(scenario), "--seed", "101", "--out", str(tmp_path / "o"),
                           "--quiet")
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "scenario.json").read_text())["seed"] == 101
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["seed"] == 101
    drawn = simulate({k: v for k, v in tiny_scenario(duration="1h").items() if k != "seed"})
    assert json.loads(drawn.scenario_text)["seed"] == drawn.summary["seed"]
