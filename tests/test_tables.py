"""Tables written through pyarrow (scheduler.tables) and hashed as written (outputs)."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from conftest import tiny_scenario

from scheduler import tables
from scheduler.outputs import write_set
from scheduler.results import Result, _read_csv

FLOATS = [0.0, -0.0, 1.4996509064390449, 1e-05, 1e20, 5e-324, 1 / 3, np.nan, np.inf, 123.5]


def tricky_frame() -> pd.DataFrame:
    n = len(FLOATS)
    return pd.DataFrame({
        "job_id": np.arange(n, dtype=np.int64),
        "site": pd.Series(["Lille", "a,b", "", 'q"r', "é", "line\nbreak", "nan", "NA",
                           "None", " padded "], dtype="str"),
        "wait_s": np.array(FLOATS),
        "preemptions": np.arange(n, dtype=np.int32),
    })


def csv_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    tables.write_csv(frame, sink)
    return sink.getvalue()


def test_csv_reads_back_every_value_exactly():
    frame = tricky_frame()
    text = csv_bytes(frame)
    path_dtypes = {c: str(t) for c, t in frame.dtypes.items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_bytes(text)
        back = _read_csv(path, path_dtypes)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)


def test_csv_layout_is_plain_csv_in_column_order():
    text = csv_bytes(tricky_frame()).decode("utf-8")
    lines = text.split("\n")
    assert lines[0] == "job_id,site,wait_s,preemptions"  # header unquoted, frame's order
    assert lines[1] == '0,"Lille",0,0'  # text quoted, 0.0 as its shortest form
    assert lines[2] == '1,"a,b",-0,1'
    assert lines[3] == '2,"",1.4996509064390449,2'  # empty text is "", floats round-trip
    assert lines[4] == '3,"q""r",0.00001,3'
    assert '7,"NA",,7' in lines  # NaN is an empty cell
    assert text.endswith("\n")
    # Any CSV reader sees the same cells as pandas' own writer gave.
    ours = pd.read_csv(io.StringIO(text), keep_default_na=False, dtype=str)
    pandas = pd.read_csv(io.StringIO(tricky_frame().to_csv(index=False)),
                         keep_default_na=False, dtype=str)
    pd.testing.assert_series_equal(ours["site"], pandas["site"])
    def floats(cells: pd.Series) -> list[float]:
        return [float(cell) if cell else np.nan for cell in cells]

    np.testing.assert_array_equal(floats(ours["wait_s"]), floats(pandas["wait_s"]))


def test_empty_table_is_its_header():
    frame = tricky_frame().head(0)
    assert csv_bytes(frame) == b"job_id,site,wait_s,preemptions\n"


def test_a_column_arrow_cannot_type_is_written_by_pandas():
    frame = pd.DataFrame({"x": pd.Series([1, "a", 2.5], dtype=object), "y": [1.0, 2.0, 3.0]})
    text = csv_bytes(frame).decode()
    assert text == frame.to_csv(index=False, lineterminator="\n")


def test_manifest_hash_is_of_the_bytes_on_disk(tmp_path):
    frame = tricky_frame()
    write_set(tmp_path, {"t.csv": lambda sink: tables.write_csv(frame, sink),
                         "t.parquet": lambda sink: tables.write_parquet(frame, sink)}, [])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for name in ("t.csv", "t.parquet"):
        data = (tmp_path / name).read_bytes()
        assert manifest["files"][name] == {"bytes": len(data),
                                           "sha256": hashlib.sha256(data).hexdigest()}
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), frame)


def test_saved_run_reloads_identically_in_both_formats(tmp_path):
    from scheduler import simulate

    result = simulate(tiny_scenario(duration="3h"), seed=4)
    for fmt in ("csv", "parquet"):
        result.save(tmp_path / fmt, format=fmt)
        loaded = Result.load(tmp_path / fmt)
        pd.testing.assert_frame_equal(loaded.jobs, result.jobs, check_exact=True)
        pd.testing.assert_frame_equal(loaded.timeseries, result.timeseries, check_exact=True)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    tables.write_parquet(frame, sink)
    return sink.getvalue()


def test_a_large_table_is_written_piece_by_piece_as_if_at_once(monkeypatch):
    # More rows than one piece, a text column missing in the whole first piece: typed from
    # every row, so the pieces agree. CSV: the same bytes as one piece; Parquet: the same
    # values and dtypes (row groups follow the pieces).
    n = 11
    frame = pd.DataFrame({"job_id": np.arange(n, dtype=np.int64),
                          "site": pd.Series([None] * 5 + ["Lille"] * 6, dtype=object),
                          "wait_s": np.linspace(0, 1, n)})
    whole_csv, whole_parquet = csv_bytes(frame), parquet_bytes(frame)
    monkeypatch.setattr(tables, "ROWS_PER_PIECE", 4)
    assert csv_bytes(frame) == whole_csv
    pieced = pd.read_parquet(io.BytesIO(parquet_bytes(frame)))
    pd.testing.assert_frame_equal(pieced, pd.read_parquet(io.BytesIO(whole_parquet)))
    assert pq_row_groups(parquet_bytes(frame)) == 3


def pq_row_groups(data: bytes) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(io.BytesIO(data)).metadata.num_row_groups)


def test_pieces_are_parquet_row_groups_so_the_file_is_unchanged():
    # At the real piece size (Parquet's default row group) a file written piece by piece
    # is byte for byte the one pyarrow writes at once.
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = tables.ROWS_PER_PIECE + 3
    frame = pd.DataFrame({"job_id": np.arange(n, dtype=np.int64),
                          "gpus": np.ones(n, dtype=np.int8)})
    at_once = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), at_once)
    assert parquet_bytes(frame) == at_once.getvalue()
