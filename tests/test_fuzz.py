"""Fuzzing (hypothesis) of the scenario loader, every trace reader and the signal files.

The one property: a random input either loads or raises :class:`InputError` (the exit-code-2
path, with a location in each problem); any other exception is a bug. Inputs are random bytes
and text, random nested structures dumped as YAML, YAML built from its own punctuation, and
mutations (deleted, inserted or replaced keys, values, fields and characters) of valid
scenarios and of the trace fixtures in tests/data/traces/. Derandomized, without an example
database, and bounded by ``max_examples`` so the file runs in well under a minute. Crashes
found here are pinned as ``test_regression_*`` in tests/test_bad_inputs.py.
"""

from __future__ import annotations

import copy
import gzip
import math
import os
from pathlib import Path
from typing import Any

import yaml
from conftest import ROOT, TINY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.errors import InputError
from scheduler.loading import load_scenario
from scheduler.signals import FileSignal, build_signal
from scheduler.traces import TraceSpec, read_trace

DATA = ROOT / "tests" / "data" / "traces"


SCALE = int(os.environ.get("CLUSTERSIM_FUZZ_SCALE", "1"))
"""A longer, random campaign: ``CLUSTERSIM_FUZZ_SCALE=50 pytest tests/test_fuzz.py`` runs 50
times the examples with fresh random inputs (the default run is derandomized for CI)."""


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=SCALE == 1,
                    database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def check_input_error(exc: InputError) -> None:
    """What the CLI prints: at least one problem, each on one line."""
    assert exc.problems
    for problem in exc.problems:
        assert "\n" not in str(problem), str(problem)


# =========================================================================== scenarios

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["2h", "90s", "-1h", "1e400", "inf", ".nan", "H100", "Z100", "fifo",
                     "poisson", "exponential", "lognormal", "8kW", "500MW", "", "~", "A", "B"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def load_text(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> None:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_scenario(path)
    except InputError as exc:
        check_input_error(exc)


@fuzz_settings(150)
@given(raw=st.binary(max_size=400))
def test_fuzz_scenario_random_bytes(tmp_path, raw):
    load_text(tmp_path, raw)


@fuzz_settings(150)
@given(text=st.text(max_size=300))
def test_fuzz_scenario_random_text(tmp_path, text):
    load_text(tmp_path, text.encode("utf-8", errors="replace"))


YAML_PIECES = st.sampled_from([
    "[", "]", "{", "}", ":", ": ", ", ", "- ", "\n", "\n  ", "\n    ", " ", "\t", "&a ", "*a",
    "&b ", "*b", "<<: ", "!!str ", "!!int ", "!!float ", "!!binary ", "!!set ", "!!python/name:x",
    "? ", "'", '"', "#", "---", "...", "|", ">", "%YAML 1.1\n", "name", "sites", "nodes",
    "duration", "workloads", "gpu", "count", "1e309", ".nan", "-.inf", "0x7f", "0o17", "1_000",
    "2h", "9" * 60, "~", "null", "true", "\\", "\\x00", "\u2028", "\ufeff",
])


@fuzz_settings(250)
@given(pieces=st.lists(YAML_PIECES, max_size=60))
def test_fuzz_scenario_yaml_punctuation(tmp_path, pieces):
    load_text(tmp_path, "".join(pieces))


@fuzz_settings(150)
@given(value=VALUES)
def test_fuzz_scenario_random_structures(tmp_path, value):
    load_text(tmp_path, yaml.safe_dump(value, allow_unicode=True))


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in nested dicts/lists (the root excluded)."""
    out = []
    items = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


def _mutate(data: dict, draw: st.DrawFn) -> dict:
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        action = draw(st.sampled_from(["delete", "replace", "insert", "duplicate", "huge"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(VALUES)
        elif action == "huge":
            parent[key] = draw(st.sampled_from([10**12, 1e300, -1e300, 2**64, 1e-300, 0, -1,
                                                10_000_000, "1e12h", "1e300MW"]))
        elif action == "insert":
            if isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=8))] = draw(VALUES)
            else:
                parent.insert(key, draw(VALUES))
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return data


SERVICE = {"name": "chat", "kind": "inference", "replica_gpus": 8,
           "requests": {"rate_per_second": 5, "profile": "chat"},
           "autoscale": {"mode": "slo", "max_replicas": 6}, "users": {"Lille": 1}}
RICH = copy.deepcopy(TINY)
RICH["workloads"].append(SERVICE)
RICH["workloads"][0]["checkpoint"] = {"interval": "30m"}
RICH["workloads"][1]["speedup"] = {"H100": 1.0, "B200": 2.0}
RICH["grid"] = {"carbon_g_per_kwh": {"profile": "fr-2020", "start": "2020-03-01"},
                "price_eur_per_mwh": 60}
RICH["sites"][0]["power_cap"] = "200kW"
RICH["sites"][0]["location"] = {"lat": 50.6, "lon": 3.1}
RICH["network"] = {"links": [{"a": "A", "b": "B", "latency_ms": 2, "bandwidth_gbps": 100}]}
RICH["failures"] = {"rate_per_gpu_hour": 1e-4}
RICH["policy"] = {"queue": "las", "placement": {"scores": [
    {"type": "site", "ranking": ["B", "A"]}, {"type": "carbon", "weight": 2}]}}


@fuzz_settings(300)
@given(data=st.data())
def test_fuzz_scenario_mutations(tmp_path, data):
    base = data.draw(st.sampled_from([TINY, RICH]))
    mutated = _mutate(base, data.draw)
    text = yaml.safe_dump(mutated, sort_keys=False, allow_unicode=True)
    if data.draw(st.booleans()):  # also as flow YAML / JSON-like text
        text = yaml.safe_dump(mutated, default_flow_style=True, allow_unicode=True)
    load_text(tmp_path, text)


# =========================================================================== traces

FIXTURES = {
    "tiresias": DATA / "tiresias" / "60_job.csv",
    "swf": DATA / "swf" / "nasa-ipsc-1993-head300.swf.gz",
    "alibaba-openb": DATA / "openb" / "openb_pod_list_default.csv.gz",
    "azure-llm": DATA / "azure-llm" / "code_head300.csv",
    "mooncake": DATA / "mooncake" / "conversation_head200.jsonl",
    "alibaba-dlrm": DATA / "dlrm" / "dlrm_sample.csv",
    "csv": DATA / "generic" / "example.csv",
}
SUFFIX = {"swf": ".swf", "mooncake": ".jsonl"}


def _fixture_lines(fmt: str, count: int = 12) -> list[str]:
    path = FIXTURES[fmt]
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        lines = []
        for line in handle:
            if fmt == "swf" and line.startswith(";") and len(lines) > 2:
                continue
            lines.append(line)
            if len(lines) >= count:
                break
    return lines


FIXTURE_LINES = {fmt: _fixture_lines(fmt) for fmt in FIXTURES}
TOKENS = st.sampled_from([
    "", " ", "nan", "NaN", "inf", "-inf", "1e309", "-1", "0", "-0", "1e300", "9" * 25, "9" * 5000,
    "1.5", "abc", '"', '""', "'", ",", ",,", "\t", "null", "None", "N/A", "2023-11-16 18:17:03",
    "2023-02-30 25:61:61", "2023-11-16T18:17:03+05:00", "{", "}", "[", "]", ":", "true",
    '{"timestamp": 1}', "\\u0000", "\x00", "\ufeff", "2h", "3 fortnights", "H100|B200",
])


def read_all(tmp_path: Path, fmt: str, text: str | bytes, name: str | None = None,
             **options: Any) -> None:
    path = tmp_path / (name or f"trace{SUFFIX.get(fmt, '.csv')}")
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    spec = TraceSpec(format=fmt, path=str(path), default_duration=60.0 if fmt in (
        "alibaba-openb",) else None, **options)
    try:
        with read_trace(spec, chunk_rows=7) as reader:
            for chunk in reader:
                assert len(chunk) >= 1
                assert (chunk.arrival_s >= 0).all() and (chunk.duration_s > 0).all()
                assert all(math.isfinite(x) for x in chunk.duration_s.tolist())
                assert (chunk.gpus >= 1).all()
    except InputError as exc:
        check_input_error(exc)


def _mutate_lines(lines: list[str], draw: st.DrawFn, fmt: str) -> str:
    lines = list(lines)
    sep = None if fmt == "swf" else ","
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["field", "field", "char", "delete", "duplicate",
                                       "swap", "truncate", "json"]))
        line = lines[i]
        fields = line.rstrip("\n").split(sep)
        if action == "field" and fmt != "mooncake" and fields:
            k = draw(st.integers(0, len(fields) - 1))
            fields[k] = draw(TOKENS)
            lines[i] = (" " if sep is None else sep).join(fields) + "\n"
        elif action in ("field", "json"):
            for old in ('"timestamp": ', '"input_length": ', '"output_length": ', '"hash_ids": '):
                if draw(st.booleans()) and old in line:
                    start = line.index(old) + len(old)
                    end = start
                    while end < len(line) and line[end] not in ",}":
                        end += 1
                    line = line[:start] + draw(TOKENS) + line[end:]
            lines[i] = line
        elif action == "char" and line:
            k = draw(st.integers(0, len(line) - 1))
            lines[i] = line[:k] + draw(st.text(max_size=3)) + line[k + 1:]
        elif action == "delete" and len(lines) > 1:
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, line)
        elif action == "swap" and len(lines) > 2:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "truncate":
            lines[i] = line[: draw(st.integers(0, len(line)))]
    return "".join(lines)


TRACE_OPTIONS = st.fixed_dictionaries({}, optional={
    "on_error": st.sampled_from(["error", "skip"]),
    "order": st.sampled_from(["auto", "check", "sort"]),
    "fractional_gpus": st.sampled_from(["round-up", "share"]),
    "limit": st.integers(1, 5),
    "start": st.sampled_from([0, 10, "1h"]),
    "time_scale": st.sampled_from([0.5, 1e6]),
    "duration_scale": st.sampled_from([1e-3, 1e6]),
})


@fuzz_settings(400)
@given(data=st.data())
def test_fuzz_trace_row_mutations(tmp_path, data):
    fmt = data.draw(st.sampled_from(sorted(FIXTURES)))
    text = _mutate_lines(FIXTURE_LINES[fmt], data.draw, fmt)
    read_all(tmp_path, fmt, text, **data.draw(TRACE_OPTIONS))


@fuzz_settings(200)
@given(fmt=st.sampled_from(sorted(FIXTURES)),
       rows=st.lists(st.lists(TOKENS, min_size=1, max_size=20), max_size=6),
       keep_header=st.booleans())
def test_fuzz_trace_random_rows(tmp_path, fmt, rows, keep_header):
    header = FIXTURE_LINES[fmt][:1] if keep_header and fmt not in ("swf", "mooncake") else []
    sep = " " if fmt == "swf" else ","
    text = "".join(header) + "".join(sep.join(row) + "\n" for row in rows)
    read_all(tmp_path, fmt, text)


@fuzz_settings(100)
@given(fmt=st.sampled_from(sorted(FIXTURES)), raw=st.binary(max_size=300),
       gz=st.booleans())
def test_fuzz_trace_random_bytes(tmp_path, fmt, raw, gz):
    name = f"trace{SUFFIX.get(fmt, '.csv')}" + (".gz" if gz else "")
    read_all(tmp_path, fmt, raw, name=name)


@fuzz_settings(60)
@given(fmt=st.sampled_from(sorted(FIXTURES)), cut=st.integers(0, 400),
       flip=st.integers(0, 400))
def test_fuzz_trace_damaged_gzip(tmp_path, fmt, cut, flip):
    body = bytearray(gzip.compress("".join(FIXTURE_LINES[fmt]).encode(), mtime=0))
    if flip < len(body):
        body[flip] ^= 0x5A
    read_all(tmp_path, fmt, bytes(body[: max(1, len(body) - cut)]),
             name=f"trace{SUFFIX.get(fmt, '.csv')}.gz")


# =========================================================================== signals

SIGNAL_LINES = ["time_s,carbon\n"] + [f"{h * 3600},{30 + (h * 7) % 11}\n" for h in range(10)]


@fuzz_settings(200)
@given(data=st.data())
def test_fuzz_signal_file_mutations(tmp_path, data):
    text = _mutate_lines(SIGNAL_LINES, data.draw, "csv")
    path = tmp_path / "carbon.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    spec = FileSignal(file=str(path), repeat=data.draw(st.booleans()),
                      time_unit=data.draw(st.sampled_from([None, "s", "h"])))
    try:
        signal = build_signal(spec, None, "grid.carbon_g_per_kwh")
    except InputError as exc:
        check_input_error(exc)
    else:
        assert math.isfinite(signal.integrate(0.0, 86400.0))
