"""``clustersim run --stream``: where a run streams its records, and the option's checks
(kept apart from :mod:`scheduler.job_spill` so the command line starts without pyarrow)."""

from __future__ import annotations

from pathlib import Path

from scheduler.errors import InputError

STREAM_FOLDER = "stream"
"""Under ``--out DIR``: ``DIR/stream/job_rows.parquet`` and ``DIR/stream/segments.parquet``."""


def check_stream_option(stream: bool, out: Path | None, replications: int | None) -> None:
    """``--stream`` needs a folder to stream to, and runs one simulation."""
    if not stream:
        return
    if out is None:
        raise InputError("needs --out DIR (the records are streamed to DIR/stream/)", "--stream")
    if replications is not None:
        raise InputError("cannot be combined with --replications", "--stream")


def stream_folder(out: Path | None) -> Path:
    """The folder a streaming run writes its records to."""
    if out is None:
        raise InputError("needs --out DIR", "--stream")
    return out / STREAM_FOLDER
