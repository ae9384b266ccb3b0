"""Memory a run will need, estimated from the scenario before anything is built.

A scenario can be valid and still need more memory than the machine has: every generated
job costs about :data:`BYTES_PER_JOB` while it waits (its arrays, the queue's bookkeeping,
its record for the results), so 45 million jobs need ~54 GB. :func:`check_memory` refuses
such a run at once, with the estimate and the limit, instead of letting it swap or be killed
hours later. A streamed run keeps only its live jobs until the end, which costs about
:data:`BYTES_PER_STREAMED_JOB`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from scheduler.errors import InputError
from scheduler.growth import mean_growth
from scheduler.scenario import InferenceWorkload, Scenario, TraceWorkload, TrainingWorkload

BYTES_PER_JOB = 1200
"""Peak resident bytes per generated job, measured (issue 20.7) as the growth of the peak
RSS of ``simulate`` between 100,000 and 400,000 jobs of 1 GPU that all wait on a 56-GPU
cluster: 1,134 B/job (1,156-1,223 B/job including fixed costs); jobs that finish at once
cost ~800 B/job. Rounded up so the estimate errs on the safe side."""
BYTES_PER_STREAMED_JOB = 500
"""The same for a streamed run (``--stream``, docs/streaming.md), whose records go to disk
as it goes: its peak is the end, where the summary and per-job table are built. Measured on
the 1:1 build-out's year 2030 (8,242,515 jobs, one segment each on average): peak RSS 3,406
MiB, 383 B/job above the run's 392 MiB; rounded up for mixes with more segments per job.
It assumes the jobs alive stay few: a run whose queue grows without bound holds them all."""
LIMIT_ENV = "CLUSTERSIM_MEMORY_LIMIT"
"""Environment variable that sets the limit (``16GB``, ``512MB``, bytes): for a machine
shared with other work, or a container whose limit the checks below cannot see."""
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*([kmgt]i?)?b?\s*$", re.IGNORECASE)


def expected_jobs(scenario: Scenario) -> float:
    """Jobs the generated workloads are expected to submit over the horizon (traces and
    services are left out: a trace is bounded by its file and ``limit``, services by their
    replica counts)."""
    return sum(workload_expected_jobs(workload, scenario) for workload in scenario.workloads
               if not isinstance(workload, TraceWorkload | InferenceWorkload))


def workload_expected_jobs(workload: TrainingWorkload, scenario: Scenario) -> float:
    """A generated workload's expected jobs: rate x horizon x the growth's mean factor, at
    most ``max_jobs``."""
    expected = (workload.arrival.rate_per_hour * scenario.duration / 3600.0
                * mean_growth(workload, scenario))
    return expected if workload.max_jobs is None else min(expected, workload.max_jobs)


def parse_size(text: str) -> int:
    """Bytes from ``"16GB"``, ``"512 MiB"`` or plain digits (decimal units, ``i``: binary)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"cannot read {text!r} as a size; write e.g. 16GB, 512MB")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


def _cgroup_headroom() -> int | None:
    """Bytes left under this process's cgroup v2 memory limit (containers), if it has one."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        used = (base / "memory.current").read_text().strip()
    except OSError:
        return None
    if not (limit.isdigit() and used.isdigit()):  # "max": no limit
        return None
    return max(0, int(limit) - int(used))


def available_memory() -> tuple[int | None, str]:
    """(bytes, where the figure comes from): the environment's limit if set, else the
    memory the OS can give without swapping (psutil, else ``sysconf``), lowered to the
    cgroup's headroom; (None, ...) when none of these can be read."""
    text = os.environ.get(LIMIT_ENV)
    if text:
        try:
            return parse_size(text), LIMIT_ENV
        except ValueError as exc:
            raise InputError(str(exc), LIMIT_ENV) from None
    available: int | None = None
    source = "available memory"
    try:
        import psutil

        available = int(psutil.virtual_memory().available)
    except ImportError:  # psutil comes with dask; without it, free pages (an underestimate)
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = None
    headroom = _cgroup_headroom()
    if headroom is not None and (available is None or headroom < available):
        available, source = headroom, "memory left under the container's limit"
    return available, source


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


def check_memory(scenario: Scenario, streamed: bool = False) -> None:
    """Raise :class:`InputError` when the run's estimated memory exceeds what is available
    (``streamed``: the run streams its records to disk)."""
    jobs = expected_jobs(scenario)
    per_job = BYTES_PER_STREAMED_JOB if streamed else BYTES_PER_JOB
    estimate = jobs * per_job
    if estimate < 256 * 2**20:  # small runs: not worth asking the OS
        return
    limit, source = available_memory()
    if limit is None or estimate <= limit:
        return
    stream = ("" if streamed or jobs * BYTES_PER_STREAMED_JOB > limit else
              f", stream the run (--stream, stream_to=: ~{BYTES_PER_STREAMED_JOB} bytes per job)")
    raise InputError(f"about {jobs:,.0f} jobs need an estimated {_gb(estimate)} of memory "
                     f"({per_job:,} bytes per job), more than the {_gb(limit)} of "
                     f"{source}; lower the rates, shorten duration or set max_jobs{stream} "
                     f"(or set {LIMIT_ENV})", "workloads")
