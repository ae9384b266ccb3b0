"""The bounded reader (scheduler/bounded_io.py): limits counted while reading, gzip output
bounded by its compressed size, only regular files; and the reason given for trace rows
whose GPU type the scenario does not have (issue 20, classes 3 and 10)."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_scenario

from scheduler.bounded_io import ReadLimits, check_regular, open_text, read_bytes, read_text
from scheduler.errors import InputError

SMALL = ReadLimits(max_bytes=100, max_lines=5, kind="test files")


def test_limits_are_checked_while_reading_and_name_file_and_limit(tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("x\n" * 6)  # 12 bytes, 6 lines
    with pytest.raises(InputError) as caught:
        read_bytes(lines, SMALL)
    assert str(caught.value) == f"{lines}: more than 5 lines; test files are limited to 5"
    wide = tmp_path / "wide.txt"
    wide.write_text("x" * 101)
    with pytest.raises(InputError, match=r"wide.txt: more than 100 bytes; test files are "
                                         r"limited to 100"):
        read_bytes(wide, SMALL)
    exact = tmp_path / "exact.txt"
    exact.write_text("abcd\n" * 5)  # 25 bytes, 5 lines: at the limits, accepted
    assert read_text(exact, SMALL) == "abcd\n" * 5


def test_a_stream_fails_at_the_limit_without_reading_the_rest(tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" * 1_000_000)
    limits = ReadLimits(max_bytes=10**9, max_lines=1000, kind="test files")
    with open_text(big, limits) as handle:
        with pytest.raises(InputError, match="more than 1,000 lines"):
            for _ in handle:
                pass
        assert handle.buffer.bytes_read < 64 * 1024  # type: ignore[attr-defined]


def test_gzip_bomb_fails_fast_and_real_gzip_passes(tmp_path):
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"\n" * 50_000_000, 9))  # ~50 kB
    limits = ReadLimits(max_bytes=10**12, max_lines=10**12, kind="test files")
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"bomb.csv.gz: decompresses to more than 4,194,304 "
                                         r"bytes, over 25 times its"):
        read_bytes(bomb, limits)
    assert time.perf_counter() - started < 2
    real = tmp_path / "real.csv.gz"
    rows = "".join(f"{i},{i * 37 % 1000},{i * 3600}\n" for i in range(200_000))
    real.write_bytes(gzip.compress(rows.encode()))
    assert read_text(real, limits) == rows
    assert read_bytes(real, limits, decompress=False) == real.read_bytes()


def test_nul_bytes_undecodable_text_and_damaged_gzip_are_input_errors(tmp_path):
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"a: 1\x00")
    with pytest.raises(InputError, match=r"binary file .* expected YAML"):
        read_text(binary, SMALL, expected="YAML")
    latin = tmp_path / "l.txt"
    latin.write_bytes(b"caf\xe9")
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte 3\)"):
        read_text(latin, SMALL)
    damaged = tmp_path / "d.csv.gz"
    damaged.write_bytes(gzip.compress(b"x,y\n" * 100)[:-8])  # no trailer
    with pytest.raises(InputError, match="cannot read: Compressed file ended"):
        read_text(damaged, ReadLimits(10**6, 10**6, "test files"))


def test_field_locates_open_errors_and_names_the_file(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError) as caught:
        read_bytes(missing, SMALL, field="sites.0.grid.carbon_g_per_kwh")
    assert str(caught.value) == f"sites.0.grid.carbon_g_per_kwh: file not found: {missing}"
    with pytest.raises(InputError) as caught:
        check_regular(tmp_path, field="workloads.0.duration")
    assert str(caught.value) == (f"workloads.0.duration: {tmp_path} is a directory, "
                                 "expected a file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_devices_are_refused_before_reading(tmp_path):
    """In-process too: opening is non-blocking, so no writer is needed for the test to end."""
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a pipe"):
        read_bytes(fifo, SMALL)
    if Path("/dev/null").exists():
        with pytest.raises(InputError, match="is a device"):
            read_bytes(Path("/dev/null"), SMALL)


# =========================================================================== unknown GPU types


def z100_trace_scenario(tmp_path: Path) -> dict:
    trace = tmp_path / "t.csv"
    trace.write_text("arrival,gpus,duration,gpu_type\n0,1,60,Z100\n10,1,60,H100\n"
                     "20,1,60,Z100|H100\n")
    data = tiny_scenario(duration="2h")
    data["workloads"] = [{"name": "t", "trace": {"format": "csv", "path": str(trace)}}]
    return data


def test_regression_unknown_trace_gpu_type_is_reported_with_its_reason(tmp_path):
    """Issue 20, class 10: a row asking for ``Z100`` was only "larger than any allowed node
    group can hold". The source now records the real reason for its type key, and the trace
    report says which types are unknown and from which line."""
    from scheduler.cluster import Cluster
    from scheduler.loading import validate_data
    from scheduler.sources import TenantNames, trace_source

    scenario = validate_data(z100_trace_scenario(tmp_path))
    type_index = Cluster(scenario).type_index
    source = trace_source(scenario, type_index, 0, TenantNames())
    chunk = next(iter(source.chunks()))
    z100 = source.type_keys["Z100"]
    assert chunk.type_key.tolist() == [z100, source.type_keys["H100"],
                                       source.type_keys["Z100|H100"]]
    assert not np.any(source.type_masks[z100])
    assert source.type_reasons == {
        z100: f"GPU type 'Z100' is not in the scenario (it has {', '.join(sorted(type_index))})"}
    assert source.report is not None
    notes = source.report.notes
    assert any("'Z100' (first at line 2)" in note and "can never run" in note for note in notes)
    assert any("'Z100' (first at line 4)" in note and "ignored" in note for note in notes)


def test_unknown_trace_gpu_type_is_the_jobs_rejection_reason(tmp_path):
    from scheduler import simulate

    jobs = simulate(z100_trace_scenario(tmp_path)).jobs
    rejected = jobs[jobs["status"] == "rejected"]
    assert len(rejected) == 1
    assert rejected["reason"].iloc[0].startswith("GPU type 'Z100' is not in the scenario")
