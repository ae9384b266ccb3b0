"""Trace replay readers (scheduler.traces): hand-written fixtures with hand-checked values,
committed copies of real traces (tests/data/traces), malformed rows, options, streaming, and
the full public traces when a ``shared/data/traces`` folder is present (skipped otherwise)."""

from __future__ import annotations

import gzip
import os
import random
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from scheduler.errors import InputError
from scheduler.traces import (
    FORMATS,
    TRACE_FORMATS,
    TraceChunk,
    TraceReport,
    TraceSpec,
    format_trace_stats,
    read_openb_nodes,
    read_trace,
    trace_stats,
)
from scheduler.traces.reader import MAX_FAN_IN

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "traces"


def _shared_traces() -> Path | None:
    candidates = [os.environ.get("CLUSTERSIM_SHARED_TRACES", ""),
                  str(ROOT / "shared" / "data" / "traces"),
                  str(ROOT.parent / "shared" / "data" / "traces")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "philly-vc").is_dir():
            return Path(candidate)
    return None


SHARED = _shared_traces()
needs_shared = pytest.mark.skipif(SHARED is None, reason="shared/data/traces not present")


def read_all(fmt: str, path: Path | str, chunk_rows: int = 65536,
             **options: object) -> tuple[TraceChunk, TraceReport]:
    """Every chunk of a trace, concatenated, and the final report."""
    spec = TraceSpec.model_validate({"format": fmt, "path": str(path), **options})
    reader = read_trace(spec, chunk_rows=chunk_rows)
    chunks = list(reader)
    assert reader.report.complete
    return concat(chunks, FORMATS[fmt].extra), reader.report


def concat(chunks: list[TraceChunk], extra: tuple[tuple[str, object], ...] = ()) -> TraceChunk:
    if not chunks:
        empty_obj = np.empty(0, dtype=object)
        return TraceChunk(np.empty(0), np.empty(0, np.int32), np.empty(0, np.float32),
                          np.empty(0), empty_obj, empty_obj, empty_obj, np.empty(0, np.int64),
                          {name: np.empty(0) for name, _ in extra})
    return TraceChunk(
        arrival_s=np.concatenate([c.arrival_s for c in chunks]),
        gpus=np.concatenate([c.gpus for c in chunks]),
        gpu_fraction=np.concatenate([c.gpu_fraction for c in chunks]),
        duration_s=np.concatenate([c.duration_s for c in chunks]),
        gpu_type=np.concatenate([c.gpu_type for c in chunks]),
        tenant=np.concatenate([c.tenant for c in chunks]),
        kind=np.concatenate([c.kind for c in chunks]),
        line=np.concatenate([c.line for c in chunks]),
        extra={name: np.concatenate([c.extra[name] for c in chunks]) for name in chunks[0].extra},
    )


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def check_invariants(chunk: TraceChunk, report: TraceReport) -> None:
    assert report.rows_read == report.rows_used + report.rows_skipped
    assert report.rows_skipped == sum(report.skipped_reasons.values())
    assert len(chunk) == report.rows_used
    assert np.all(np.diff(chunk.arrival_s) >= 0)
    assert np.all(chunk.duration_s > 0)
    assert np.all(chunk.gpus >= 1)
    assert np.all((chunk.gpu_fraction > 0) & (chunk.gpu_fraction <= 1))
    assert set(chunk.kind.tolist()) <= {"training", "inference"}


TIRESIAS = """job_id,num_gpu,submit_time,iterations,model_name,duration,interval
0,1,0,100,resnet50,3600,10
1,4,10,200,vgg16,120,50
2,8,60,,bert,0,0
"""

# --------------------------------------------------------------------------- tiresias


def test_tiresias_hand_written(tmp_path: Path) -> None:
    jobs, report = read_all("tiresias", write(tmp_path, "t.csv", TIRESIAS))
    assert jobs.arrival_s.tolist() == [0.0, 10.0, 60.0]
    assert jobs.gpus.tolist() == [1, 4, 8]
    assert jobs.duration_s.tolist() == [3600.0, 120.0, 1.0]  # 0 -> zero_duration (1 s)
    assert jobs.gpu_fraction.tolist() == [1.0, 1.0, 1.0]
    assert jobs.line.tolist() == [2, 3, 4]
    assert jobs.kind.tolist() == ["training"] * 3
    assert jobs.tenant.tolist() == ["", "", ""]
    assert jobs.gpu_type.tolist() == ["", "", ""]
    assert jobs.extra["id"].tolist() == ["0", "1", "2"]
    assert jobs.extra["model_name"].tolist() == ["resnet50", "vgg16", "bert"]
    assert jobs.extra["iterations"].tolist() == [100, 200, -1]
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (3, 3, 0)
    assert report.adjusted == {"zero duration set to zero_duration": 1}
    assert jobs.gpus.dtype == np.int32 and jobs.gpu_fraction.dtype == np.float32
    assert jobs.arrival_s.dtype == np.float64 and jobs.line.dtype == np.int64


def test_tiresias_60_job_sample() -> None:
    jobs, report = read_all("tiresias", DATA / "tiresias" / "60_job.csv")
    check_invariants(jobs, report)
    assert report.rows_used == 60
    # first rows: 0,1,0,606,vgg19,164,30 and 1,8,30,133,vgg11,147,23
    assert jobs.arrival_s[:2].tolist() == [0.0, 30.0]
    assert jobs.gpus[:2].tolist() == [1, 8]
    assert jobs.duration_s[:2].tolist() == [164.0, 147.0]
    assert jobs.extra["model_name"][0] == "vgg19"
    assert sorted(zip(*np.unique(jobs.gpus, return_counts=True), strict=True)) == \
        [(1, 30), (2, 10), (4, 10), (8, 10)]


def test_philly_vc_fixture() -> None:
    jobs, report = read_all("tiresias", DATA / "philly-vc" / "6214e9.csv")
    check_invariants(jobs, report)
    assert report.rows_used == 1985
    assert jobs.line[0] == 2 and jobs.line[-1] == 1986
    assert jobs.duration_s[0] == 3828694.0
    assert jobs.arrival_s[-1] == 4184082.0  # last row: 1984,1,4184082,62738,resnet50,5505,0
    assert int(jobs.gpus.max()) == 8


# --------------------------------------------------------------------------- swf

SWF = """; Version: 2.2
; MaxProcs: 128
    1   0  5  100  4 -1 -1  4  200 -1  1  7  1 -1  1 -1 -1 -1
    2  10 -1   -1 -1 -1 -1  8  300 -1  0  7  1 -1  1 -1 -1 -1
    3  20 -1    0  2 -1 -1 -1   -1 -1  5  3  1 -1  0 -1 -1 -1
    4  30 -1    0  2 -1 -1 -1   -1 -1  1  3  1 -1  0 -1 -1 -1

    5  40 -1   50  2 -1 -1 -1   -1 -1  2  3  1 -1  0 -1 -1 -1
    6  50 -1   60  3 -1 -1 -1   -1 -1 -1 -1 -1 -1  0 -1 -1 -1
"""


def test_swf_hand_written(tmp_path: Path) -> None:
    jobs, report = read_all("swf", write(tmp_path, "t.swf", SWF), swf_gpus_per_processor=0.5)
    check_invariants(jobs, report)
    assert jobs.extra["id"].tolist() == [1, 2, 4, 6]
    assert jobs.line.tolist() == [3, 4, 6, 9]
    assert jobs.arrival_s.tolist() == [0.0, 10.0, 30.0, 50.0]
    # 4 procs x 0.5; requested 8 procs (allocated -1) x 0.5; 2 x 0.5; 3 x 0.5 = 1.5 -> 2
    assert jobs.gpus.tolist() == [2, 4, 1, 2]
    # run time; requested time (run time -1); 0 -> 1 s; run time
    assert jobs.duration_s.tolist() == [100.0, 300.0, 1.0, 60.0]
    assert jobs.tenant.tolist() == ["7", "7", "3", ""]
    assert jobs.extra["status"].tolist() == [1, 0, 1, -1]
    assert jobs.extra["wait_s"].tolist() == [5.0, -1.0, -1.0, -1.0]
    assert report.rows_read == 6
    assert report.skipped_reasons == {
        "cancelled before running": 1,
        "SWF partial-execution record (the job's summary line is used)": 1,
    }
    assert report.adjusted == {"run time unknown: requested time used": 1,
                               "zero duration set to zero_duration": 1,
                               "fractional GPU count rounded up": 1}
    assert "MaxProcs: 128" in report.notes


def test_swf_fixture_gzip() -> None:
    jobs, report = read_all("swf", DATA / "swf" / "nasa-ipsc-1993-head300.swf.gz")
    check_invariants(jobs, report)
    assert report.rows_used == 300
    # first job line (after 32 header lines): 1 0 -1 1451 128 ... user 1
    assert jobs.line[0] == 33
    assert (jobs.arrival_s[0], jobs.duration_s[0], jobs.gpus[0], jobs.tenant[0]) == \
        (0.0, 1451.0, 128, "1")
    assert jobs.arrival_s[-1] == 288452.0


# --------------------------------------------------------------------------- openb

OPENB = """name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
p0,1000,1024,0,0,,BE,Running,0,100,0
p1,2000,2048,1,500,,LS,Running,10,110,20
p2,8000,4096,8,1000,V100M16|V100M32,BE,Succeeded,20,1020,20
p3,1000,1024,1,1000,,BE,Pending,30,90,
"""


def test_openb_round_up(tmp_path: Path) -> None:
    jobs, report = read_all("alibaba-openb", write(tmp_path, "pods.csv", OPENB))
    check_invariants(jobs, report)
    assert jobs.extra["id"].tolist() == ["p1", "p2", "p3"]
    assert jobs.arrival_s.tolist() == [10.0, 20.0, 30.0]
    assert jobs.gpus.tolist() == [1, 8, 1]
    assert jobs.gpu_fraction.tolist() == [1.0, 1.0, 1.0]
    # deletion - scheduled; deletion - scheduled; pending: deletion - creation
    assert jobs.duration_s.tolist() == [90.0, 1000.0, 60.0]
    assert jobs.gpu_type.tolist() == ["", "V100M16|V100M32", ""]
    assert jobs.extra["gpu_milli"].tolist() == [500, 1000, 1000]
    assert jobs.extra["qos"].tolist() == ["LS", "BE", "BE"]
    assert jobs.extra["pod_phase"].tolist() == ["Running", "Succeeded", "Pending"]
    assert report.skipped_reasons == {"cpu-only pod": 1}
    assert report.adjusted == {"GPU share rounded up to one whole GPU": 1}


def test_openb_share(tmp_path: Path) -> None:
    jobs, report = read_all("alibaba-openb", write(tmp_path, "pods.csv", OPENB),
                            fractional_gpus="share")
    assert jobs.gpus.tolist() == [1, 8, 1]
    assert jobs.gpu_fraction.tolist() == [0.5, 1.0, 1.0]
    assert jobs.gpu_demand.tolist() == [0.5, 8.0, 1.0]
    assert report.adjusted == {}


def test_openb_without_times(tmp_path: Path) -> None:
    path = write(tmp_path, "multigpu.csv",
                 "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1,1,2,1000\np1,1,1,0,0\n")
    with pytest.raises(InputError, match="default_duration"):
        read_all("alibaba-openb", path)
    jobs, report = read_all("alibaba-openb", path, default_duration="1h")
    assert jobs.arrival_s.tolist() == [0.0] and jobs.duration_s.tolist() == [3600.0]
    assert report.skipped_reasons == {"cpu-only pod": 1}


def test_openb_fixture() -> None:
    jobs, report = read_all("alibaba-openb", DATA / "openb" / "openb_pod_list_default.csv.gz")
    check_invariants(jobs, report)
    assert (report.rows_read, report.rows_used) == (8152, 7064)
    assert report.skipped_reasons == {"cpu-only pod": 1088}
    assert report.adjusted["GPU share rounded up to one whole GPU"] == 3078
    assert jobs.extra["id"][0] == "openb-pod-0000"
    assert jobs.duration_s[0] == 12537496.0  # 0 -> 12537496, scheduled at 0
    shared, _ = read_all("alibaba-openb", DATA / "openb" / "openb_pod_list_default.csv.gz",
                         fractional_gpus="share")
    assert int(np.count_nonzero(shared.gpu_fraction < 1)) == 3078
    assert shared.gpu_fraction[1] == pytest.approx(0.46)  # openb-pod-0001: gpu_milli 460


def test_openb_nodes() -> None:
    groups = read_openb_nodes(DATA / "openb" / "openb_node_list_gpu_node.csv")
    assert sum(count for _, _, count in groups) == 1213
    assert sum(gpus * count for _, gpus, count in groups) == 6212
    assert ("G2", 8, 549) in groups and ("P100", 2, 131) in groups
    assert groups == sorted(groups)


def test_openb_nodes_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\n"
                                        "n0,1,1,0,\nn1,1,1,x,T4\nn2,1,1,2,\n")
    with pytest.raises(InputError) as info:
        read_openb_nodes(path)
    wheres = [p.where for p in info.value.problems]
    assert wheres == [f"{path}:3", f"{path}:4"]
    assert "gpu" in str(info.value) and "'x'" in str(info.value)


# --------------------------------------------------------------------------- LLM requests

AZURE = """TIMESTAMP,ContextTokens,GeneratedTokens
2023-11-16 18:17:03.5000000,1000,10
2023-11-16 18:17:04.0000000,5000,100
2023-11-16 18:18:03.5,0,1
"""


def test_azure_llm_hand_written(tmp_path: Path) -> None:
    jobs, report = read_all("azure-llm", write(tmp_path, "a.csv", AZURE))
    check_invariants(jobs, report)
    assert jobs.arrival_s.tolist() == [0.0, 0.5, 60.0]
    # 1000 / 5000 + 10 x 0.03; 5000 / 5000 + 100 x 0.03; 0 + 1 x 0.03
    assert jobs.duration_s.tolist() == pytest.approx([0.5, 4.0, 0.03])
    assert jobs.kind.tolist() == ["inference"] * 3
    assert jobs.gpus.tolist() == [1, 1, 1]
    assert jobs.extra["input_tokens"].tolist() == [1000, 5000, 0]
    assert jobs.extra["output_tokens"].tolist() == [10, 100, 1]
    fixed, _ = read_all("azure-llm", tmp_path / "a.csv", default_duration="2s")
    assert fixed.duration_s.tolist() == [2.0, 2.0, 2.0]


def test_azure_llm_fixtures() -> None:
    for name in ("code_head300.csv", "conv_head300.csv"):
        jobs, report = read_all("azure-llm", DATA / "azure-llm" / name)
        check_invariants(jobs, report)
        assert report.rows_used == 300
        assert jobs.arrival_s[0] == 0.0
    code, _ = read_all("azure-llm", DATA / "azure-llm" / "code_head300.csv")
    # 2023-11-16 18:17:03.9799600 -> 18:17:04.0319600
    assert code.arrival_s[1] == pytest.approx(0.052)
    assert code.extra["input_tokens"][:2].tolist() == [4808, 3180]


MOONCAKE = """{"timestamp": 0, "input_length": 512, "output_length": 2, "hash_ids": [1, 2]}

{"timestamp": 1500, "input_length": 1024, "output_length": 10, "hash_ids": []}
"""


def test_mooncake_hand_written(tmp_path: Path) -> None:
    jobs, report = read_all("mooncake", write(tmp_path, "m.jsonl", MOONCAKE))
    check_invariants(jobs, report)
    assert jobs.arrival_s.tolist() == [0.0, 1.5]
    assert jobs.line.tolist() == [1, 3]
    assert jobs.duration_s.tolist() == pytest.approx([512 / 5000 + 0.06, 1024 / 5000 + 0.3])
    assert jobs.extra["prefix_blocks"].tolist() == [2, 0]
    assert jobs.extra["output_tokens"].tolist() == [2, 10]
    assert jobs.kind.tolist() == ["inference", "inference"]


def test_mooncake_fixture() -> None:
    jobs, report = read_all("mooncake", DATA / "mooncake" / "conversation_head200.jsonl")
    check_invariants(jobs, report)
    assert report.rows_used == 200
    assert jobs.extra["input_tokens"][0] == 6758 and jobs.extra["prefix_blocks"][0] == 14


# --------------------------------------------------------------------------- DLRM

DLRM_HEADER = ("instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,"
               "rdma_request,rdma_limit,memory_request,memory_limit,disk_request,disk_limit,"
               "max_instance_per_node,creation_time,scheduled_time,deletion_time\n")
DLRM = DLRM_HEADER + """i0,HN,app_0,12,12,1,1,25,25,120.0,120.0,680.0,800.0,8,,,
i1,CN,app_1,64,64,0,0,1,1,320.0,320.0,255.0,300.0,-1,500.0,500.0,600.0
i2,HN,app_2,12,12,1,1,25,25,120.0,120.0,680.0,800.0,8,300.0,310.0,
i3,HN,app_0,12,12,1,1,25,25,120.0,120.0,680.0,800.0,8,,,200.0
i4,HN,app_3,12,12,1,1,25,25,120.0,120.0,680.0,800.0,-1,100.0,100.0,1000.0
"""


def test_dlrm_hand_written(tmp_path: Path) -> None:
    jobs, report = read_all("alibaba-dlrm", write(tmp_path, "d.csv", DLRM))
    check_invariants(jobs, report)
    # sorted by (arrival, line); i0 and i3 existed before the trace start
    assert jobs.extra["id"].tolist() == ["i0", "i3", "i4", "i2"]
    assert jobs.arrival_s.tolist() == [0.0, 0.0, 100.0, 300.0]
    # trace end = latest time in the file = 1000: i0 0..1000, i3 0..200, i4, i2 310..1000
    assert jobs.duration_s.tolist() == [1000.0, 200.0, 900.0, 690.0]
    assert jobs.tenant.tolist() == ["app_0", "app_0", "app_3", "app_2"]
    assert jobs.extra["open_start"].tolist() == [True, True, False, False]
    assert jobs.extra["open_end"].tolist() == [True, False, False, True]
    assert jobs.extra["max_instance_per_node"].tolist() == [8, 8, -1, 8]
    assert jobs.line.tolist() == [2, 5, 6, 4]
    assert report.skipped_reasons == {"cpu-only instance": 1}
    assert report.adjusted == {"existed before the trace start: arrival 0": 2,
                               "alive at the trace end: runs until trace_end": 2}
    explicit, _ = read_all("alibaba-dlrm", tmp_path / "d.csv", trace_end="2000s")
    assert explicit.duration_s.tolist() == [2000.0, 200.0, 900.0, 1690.0]


def test_dlrm_fixture() -> None:
    jobs, report = read_all("alibaba-dlrm", DATA / "dlrm" / "dlrm_sample.csv")
    check_invariants(jobs, report)
    assert (report.rows_read, report.rows_used) == (300, 98)
    assert report.skipped_reasons == {"cpu-only instance": 202}
    assert report.adjusted["zero duration set to zero_duration"] == 2  # e.g. instance_17763


# --------------------------------------------------------------------------- generic CSV


def test_generic_csv_example() -> None:
    jobs, report = read_all("csv", DATA / "generic" / "example.csv")
    check_invariants(jobs, report)
    assert jobs.arrival_s.tolist() == [0.0, 90.0, 600.0, 3600.0]
    assert jobs.gpus.tolist() == [8, 1, 4, 1]
    assert jobs.duration_s.tolist() == [7200.0, 600.0, 5400.0, 1.0]
    assert jobs.gpu_type.tolist() == ["H100", "", "H100|H200", ""]
    assert jobs.tenant.tolist() == ["research", "product", "research", ""]
    assert jobs.kind.tolist() == ["training", "inference", "training", "training"]
    assert jobs.gpu_fraction.tolist() == [1.0, 1.0, 1.0, 1.0]
    assert report.adjusted == {"GPU share rounded up to one whole GPU": 1,
                               "zero duration set to zero_duration": 1}
    shared, _ = read_all("csv", DATA / "generic" / "example.csv", fractional_gpus="share")
    assert shared.gpu_fraction.tolist() == [1.0, 0.5, 1.0, 1.0]


def test_generic_csv_extra_columns_noted(tmp_path: Path) -> None:
    _, report = read_all("csv", write(tmp_path, "g.csv", "arrival,gpus,duration,job\n0,1,5,a\n"))
    assert report.notes == ["columns ignored: job"]


# --------------------------------------------------------------------------- malformed rows

BAD_ROWS = [
    ("tiresias", "job_id,num_gpu,submit_time,duration\n0,1,0,10\n1,abc,5,10\n", 3, "num_gpu",
     "'abc'"),
    ("tiresias", "job_id,num_gpu,submit_time,duration\n0,1,0,10\n1,2,5,-3\n", 3, "duration",
     "'-3'"),
    ("tiresias", "job_id,num_gpu,submit_time,duration\n0,1,0,10\n1,2,5\n", 3, "row",
     "expected 4"),
    ("tiresias", "job_id,num_gpu,submit_time,duration\n0,1,0,10\n1,0,5,10\n", 3, "num_gpu",
     ">= 1"),
    ("swf", "1 0 -1 10 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n2 5 -1 10 1\n", 2, "row",
     "18 SWF fields"),
    ("swf", "1 0 -1 10 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n"
            "2 5 -1 -1 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n", 2, "run time (field 4)",
     "requested time"),
    ("alibaba-openb", OPENB.splitlines()[0] + "\np,1,1,1,1500,,LS,Running,0,10,0\n", 2,
     "gpu_milli", "'1500'"),
    ("alibaba-openb", OPENB.splitlines()[0] + "\np,1,1,1,1000,,LS,Running,50,10,50\n", 2,
     "deletion_time - scheduled_time", "-40"),
    ("azure-llm", "TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,1,1\n", 2, "TIMESTAMP",
     "'yesterday'"),
    ("mooncake", '{"timestamp": 0, "input_length": 1, "output_length": 1}\n{"timestamp": 1,\n',
     2, "json", "not valid JSON"),
    ("mooncake", '{"timestamp": -5, "input_length": 1, "output_length": 1}\n', 1, "timestamp",
     "-5"),
    ("alibaba-dlrm", DLRM_HEADER + "i0,HN,a,1,1,1,1,1,1,1,1,1,1,1,20,20,10\n", 2,
     "deletion_time - start", "-10"),
    ("csv", "arrival,gpus,duration\n0,1,1h\n5,1,2 fortnights\n", 3, "duration",
     "2 fortnights"),
    ("csv", "arrival,gpus,duration,kind\n0,1,1,serving\n", 2, "kind", "'serving'"),
]


@pytest.mark.parametrize(("fmt", "text", "line", "column", "shown"), BAD_ROWS)
def test_malformed_row_error(tmp_path: Path, fmt: str, text: str, line: int, column: str,
                             shown: str) -> None:
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(InputError) as info:
        read_all(fmt, path)
    [problem] = info.value.problems
    assert problem.where == f"{path}:{line}"
    assert problem.message.startswith(f"{column}:")
    assert shown in problem.message


@pytest.mark.parametrize(("fmt", "text", "line", "column", "shown"), BAD_ROWS)
def test_malformed_row_skip(tmp_path: Path, fmt: str, text: str, line: int, column: str,
                            shown: str) -> None:
    path = write(tmp_path, "bad.txt", text)
    _, report = read_all(fmt, path, on_error="skip")
    assert report.rows_skipped >= 1
    assert sum(report.skipped_reasons.values()) == report.rows_skipped
    assert any(example.startswith(f"{path}:{line}: {column}:")
               for example in report.skipped_examples)


def test_skip_mode_counts_every_reason(tmp_path: Path) -> None:
    text = ("job_id,num_gpu,submit_time,duration\n0,1,0,10\n1,x,1,10\n2,1,2,y\n"
            "3,1,3\n4,2,4,10\n5,1,5,-1\n")
    jobs, report = read_all("tiresias", write(tmp_path, "t.csv", text), on_error="skip")
    assert jobs.extra["id"].tolist() == ["0", "4"]
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (6, 2, 4)
    assert report.skipped_reasons == {"invalid num_gpu": 1, "invalid duration": 2,
                                      "wrong number of fields": 1}
    assert [e.split(": ")[0] for e in report.skipped_examples] == \
        [f"{tmp_path / 't.csv'}:{n}" for n in (3, 4, 5, 7)]
    assert "skipped 2: invalid duration" in report.summary()


def test_header_problems(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_all("tiresias", write(tmp_path, "h.csv", "job_id,gpus,submit_time,duration\n"))
    assert info.value.problems[0].where == f"{tmp_path / 'h.csv'}:1"
    assert "num_gpu" in info.value.problems[0].message
    with pytest.raises(InputError, match="empty"):
        read_all("csv", write(tmp_path, "e.csv", "\n\n"))
    with pytest.raises(InputError, match="not found"):
        read_all("csv", tmp_path / "missing.csv")
    with pytest.raises(InputError, match="is a directory"):
        read_all("csv", tmp_path)


def test_unsorted_trace(tmp_path: Path) -> None:
    text = "arrival,gpus,duration\n0,1,10\n50,2,10\n20,4,10\n60,8,10\n"
    path = write(tmp_path, "u.csv", text)
    with pytest.raises(InputError) as info:
        read_all("csv", path)
    assert info.value.problems[0].where == f"{path}:4"
    assert "not sorted" in info.value.problems[0].message
    jobs, report = read_all("csv", path, on_error="skip")
    assert jobs.gpus.tolist() == [1, 2, 8]
    assert report.skipped_reasons == {"arrival out of order": 1}
    jobs, report = read_all("csv", path, order="sort")
    assert jobs.gpus.tolist() == [1, 4, 2, 8]
    assert jobs.line.tolist() == [2, 4, 3, 5]


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match="cannot read"):
        read_all("tiresias", path)


# --------------------------------------------------------------------------- options


def test_time_and_duration_scale(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", TIRESIAS)
    jobs, _ = read_all("tiresias", path, time_scale=0.5, duration_scale=2.0)
    assert jobs.arrival_s.tolist() == [0.0, 5.0, 30.0]
    assert jobs.duration_s.tolist() == [7200.0, 240.0, 2.0]


def test_start_end_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", TIRESIAS)
    jobs, report = read_all("tiresias", path, start=10)
    assert jobs.arrival_s.tolist() == [0.0, 50.0]
    assert report.skipped_reasons == {"before start": 1}
    jobs, report = read_all("tiresias", path, start="5s", time_scale=2.0)
    assert jobs.arrival_s.tolist() == [10.0, 110.0]
    jobs, report = read_all("tiresias", path, end="1m")
    assert jobs.arrival_s.tolist() == [0.0, 10.0]
    assert report.rows_read == 2  # streamed: reading stops at the row that passes end
    jobs, report = read_all("tiresias", path, limit=2)
    assert jobs.extra["id"].tolist() == ["0", "1"]
    assert (report.rows_read, report.rows_used) == (2, 2)
    jobs, report = read_all("tiresias", path, limit=2, order="sort")
    assert jobs.extra["id"].tolist() == ["0", "1"]
    assert (report.rows_read, report.skipped_reasons) == (3, {"beyond limit": 1})
    jobs, report = read_all("tiresias", path, start=5, end=60, order="sort")
    assert jobs.extra["id"].tolist() == ["1"]
    assert report.skipped_reasons == {"before start": 1, "at or after end": 1}


def test_limit_stops_reading(tmp_path: Path) -> None:
    """Rows after the limit are never parsed: a bad row there is not reached."""
    path = write(tmp_path, "t.csv", TIRESIAS + "3,oops,70,1,x,1,1\n")
    jobs, _ = read_all("tiresias", path, limit=3)
    assert len(jobs) == 3


def test_gzip_same_as_plain(tmp_path: Path) -> None:
    plain = write(tmp_path, "t.csv", TIRESIAS)
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(TIRESIAS.encode()))
    a, _ = read_all("tiresias", plain)
    b, _ = read_all("tiresias", packed)
    assert a.arrival_s.tolist() == b.arrival_s.tolist()
    assert a.duration_s.tolist() == b.duration_s.tolist()
    assert a.line.tolist() == b.line.tolist()


def test_spec_validation() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        TraceSpec.model_validate({"format": "csv", "path": "x", "speed": 2})
    with pytest.raises(ValidationError):
        TraceSpec(format="csv", path="x", time_scale=0)
    with pytest.raises(ValidationError, match="must be after start"):
        TraceSpec.model_validate({"format": "csv", "path": "x", "start": "2h", "end": "1h"})
    with pytest.raises(ValidationError):
        TraceSpec.model_validate({"format": "parquet", "path": "x"})
    spec = TraceSpec.model_validate({"format": "csv", "path": "x", "start": "1d",
                                     "default_duration": "90s"})
    assert (spec.start, spec.default_duration) == (86400.0, 90.0)
    assert set(TRACE_FORMATS) == set(FORMATS)
    schema = TraceSpec.model_json_schema()
    assert all(prop.get("description") for prop in schema["properties"].values())


def test_relative_path_base_dir(tmp_path: Path) -> None:
    write(tmp_path, "t.csv", TIRESIAS)
    reader = read_trace(TraceSpec(format="tiresias", path="t.csv"), base_dir=tmp_path)
    assert sum(len(c) for c in reader) == 3


# --------------------------------------------------------------------------- streaming


def test_chunks_bounded_and_incremental() -> None:
    spec = TraceSpec(format="tiresias", path=str(DATA / "philly-vc" / "6214e9.csv"))
    reader = read_trace(spec, chunk_rows=100)
    first = next(reader)
    assert len(first) == 100
    assert reader.report.rows_used == 100 and not reader.report.complete
    sizes = [len(first)]
    last = first.arrival_s[-1]
    for chunk in reader:
        sizes.append(len(chunk))
        assert chunk.arrival_s[0] >= last
        last = chunk.arrival_s[-1]
    assert max(sizes) == 100 and len(sizes) == 20 and sum(sizes) == 1985
    assert reader.report.complete


def test_error_raised_only_when_reached(tmp_path: Path) -> None:
    rows = "".join(f"{i},1,{i},1,m,5,1\n" for i in range(50))
    path = write(tmp_path, "t.csv", TIRESIAS.splitlines()[0] + "\n" + rows + "50,x,50,1,m,5,1\n")
    reader = read_trace(TraceSpec(format="tiresias", path=str(path)), chunk_rows=10)
    got = [len(next(reader)) for _ in range(5)]
    assert got == [10] * 5
    with pytest.raises(InputError, match=":52"):
        next(reader)


def test_external_sort_many_runs(tmp_path: Path) -> None:
    """More runs than the merge fan-in: runs are merged in two levels, in bounded memory."""
    rng = random.Random(4)
    arrivals = [rng.randrange(0, 500) for _ in range(1000)]
    text = "arrival,gpus,duration\n" + "".join(f"{a},1,{i + 1}\n" for i, a in enumerate(arrivals))
    path = write(tmp_path, "u.csv", text)
    chunk_rows = 7
    assert len(arrivals) / chunk_rows > MAX_FAN_IN
    spec = TraceSpec(format="csv", path=str(path), order="sort")
    reader = read_trace(spec, chunk_rows=chunk_rows)
    chunks = list(reader)
    assert max(len(c) for c in chunks) <= chunk_rows
    jobs = concat(chunks)
    expected = sorted((a, i + 2) for i, a in enumerate(arrivals))  # (arrival, line)
    assert list(zip(jobs.arrival_s.tolist(), jobs.line.tolist(), strict=True)) == \
        [(float(a), line) for a, line in expected]
    assert jobs.duration_s.tolist() == [float(line - 1) for _, line in expected]
    assert reader.report.rows_used == 1000


def test_close_early(tmp_path: Path) -> None:
    spec = TraceSpec(format="csv", path=str(DATA / "generic" / "example.csv"), order="sort")
    with read_trace(spec, chunk_rows=1) as reader:
        assert len(next(reader)) == 1
    assert not reader.report.complete


# --------------------------------------------------------------------------- stats


def test_trace_stats_60_jobs() -> None:
    stats = trace_stats(DATA / "tiresias" / "60_job.csv", "tiresias")
    assert (stats["rows_read"], stats["rows_used"], stats["rows_skipped"]) == (60, 60, 0)
    assert stats["gpus"]["counts"] == {1: 30, 2: 10, 4: 10, 8: 10}
    assert (stats["gpus"]["p50"], stats["gpus"]["p90"], stats["gpus"]["max"]) == (1, 8, 8)
    assert stats["gpus"]["mean"] == pytest.approx(170 / 60)
    assert stats["first_arrival_s"] == 0.0
    assert stats["duration_s"]["max"] == 1800.0
    assert stats["kinds"] == {"training": 60}
    assert stats["gpu_demand"]["peak"] >= stats["gpu_demand"]["p99"] >= stats["gpu_demand"]["p50"]
    text = format_trace_stats(stats)
    assert "60 read, 60 used, 0 skipped" in text and "GPUs/job" in text


def test_trace_stats_demand_hand_checked(tmp_path: Path) -> None:
    # 0-100 s: 2 GPUs; 50-100 s: +4 -> 6; 100-150: 4; arrivals span 0..50
    path = write(tmp_path, "g.csv", "arrival,gpus,duration\n0,2,100\n50,4,100\n")
    stats = trace_stats(path, "csv")
    assert stats["gpu_demand"]["peak"] == 6.0
    assert stats["gpu_demand"]["mean"] == pytest.approx(2.0)  # 2 GPUs over [0, 50)
    assert stats["gpu_hours"] == pytest.approx(600 / 3600)


def test_trace_stats_options_and_errors() -> None:
    stats = trace_stats(DATA / "tiresias" / "60_job.csv", "tiresias", limit=10)
    assert stats["rows_used"] == 10
    with pytest.raises(InputError, match="time_scale"):
        trace_stats(DATA / "tiresias" / "60_job.csv", "tiresias", time_scale=-1.0)


# --------------------------------------------------------------------------- scenarios


def test_scenario_files_point_at_fixtures() -> None:
    from scheduler.catalog import builtin_gpu_types

    for name in ("philly-6214e9.yaml", "openb.yaml"):
        file = ROOT / "scenarios" / name
        data = yaml.safe_load(file.read_text())
        known = set(builtin_gpu_types()) | set(data.get("gpu_types", {}))
        for site in data["sites"]:
            for group in site["nodes"]:
                assert group["gpu"] in known
        for workload in data["workloads"]:
            spec = TraceSpec.model_validate(workload["trace"])
            path = (file.parent / spec.path).resolve()
            assert path.is_file() and str(path).startswith(str(DATA))
    openb = yaml.safe_load((ROOT / "scenarios" / "openb.yaml").read_text())
    groups = sorted((g["gpu"], g["gpus_per_node"], g["count"])
                    for g in openb["sites"][0]["nodes"])
    assert groups == read_openb_nodes(DATA / "openb" / "openb_node_list_gpu_node.csv")


# --------------------------------------------------------------------------- real traces

REAL = [
    # (format, files relative to shared/data/traces, rows read, used, skipped reasons)
    ("tiresias", ["philly-vc/*.csv"], 13716, 13716, {}),
    ("tiresias", ["tiresias-sample/60_job.csv"], 60, 60, {}),
    ("swf", ["swf/NASA-iPSC-1993-3.1-cln.swf.gz"], 18239, 18239, {}),
    ("alibaba-openb", ["alibaba-openb/openb_pod_list_default.csv"], 8152, 7064,
     {"cpu-only pod": 1088}),
    ("alibaba-openb", ["alibaba-openb/openb_pod_list_gpuspec33.csv"], 8152, 7064,
     {"cpu-only pod": 1088}),
    ("azure-llm", ["azure-llm-2023/AzureLLMInferenceTrace_code.csv"], 8819, 8819, {}),
    ("azure-llm", ["azure-llm-2023/AzureLLMInferenceTrace_conv.csv"], 19366, 19366, {}),
    ("mooncake", ["mooncake/conversation_trace.jsonl"], 12031, 12031, {}),
    ("mooncake", ["mooncake/synthetic_trace.jsonl"], 3993, 3993, {}),
    ("alibaba-dlrm", ["alibaba-dlrm-2025/disaggregated_DLRM_trace.csv"], 23871, 7386,
     {"cpu-only instance": 16485}),
]


@needs_shared
@pytest.mark.parametrize(("fmt", "patterns", "read", "used", "reasons"), REAL,
                         ids=[r[1][0] for r in REAL])
def test_real_trace(fmt: str, patterns: list[str], read: int, used: int,
                    reasons: dict[str, int]) -> None:
    """Row counts of the public traces. Philly VC files: PROVENANCE.md says about 14,000
    jobs; the 15 files hold 13,716."""
    assert SHARED is not None
    files = sorted(p for pattern in patterns for p in SHARED.glob(pattern))
    assert files
    total_read = total_used = 0
    total_reasons: dict[str, int] = {}
    for file in files:
        jobs, report = read_all(fmt, file, chunk_rows=4096)
        check_invariants(jobs, report)
        total_read += report.rows_read
        total_used += report.rows_used
        for reason, n in report.skipped_reasons.items():
            total_reasons[reason] = total_reasons.get(reason, 0) + n
    assert (total_read, total_used, total_reasons) == (read, used, reasons)


@needs_shared
def test_real_openb_unsorted_variant() -> None:
    assert SHARED is not None
    path = SHARED / "alibaba-openb" / "openb_pod_list_gpushare100.csv"
    with pytest.raises(InputError, match="not sorted"):
        read_all("alibaba-openb", path)
    jobs, report = read_all("alibaba-openb", path, order="sort", fractional_gpus="share")
    check_invariants(jobs, report)
    assert (report.rows_read, report.rows_used) == (8152, 7064)
    assert np.all(jobs.gpu_fraction < 1)


@needs_shared
def test_real_openb_nodes() -> None:
    assert SHARED is not None
    groups = read_openb_nodes(SHARED / "alibaba-openb" / "openb_node_list_all_node.csv")
    assert sum(gpus * count for _, gpus, count in groups) == 6212
    assert sum(count for _, _, count in groups) == 1523 - 310  # CPU-only nodes left out
