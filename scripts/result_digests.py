"""Digests of run outputs, to show that a change leaves results identical (or to say which).

Each case runs one scenario (file, seed, ``--set`` overrides) and hashes what a user reads:
summary.json without ``wall_time_s``, details.json, jobs.csv and timeseries.csv as written by
:meth:`Result.save`. ``tests/test_digests.py`` pins the quick cases; this script runs them all
(``--all`` adds the 1:1 regional scenario, ~3 minutes) and can write or check a digest file::

    python scripts/result_digests.py --write tests/data/digests.json
    python scripts/result_digests.py --check tests/data/digests.json [--all]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

QUICK_CASES: dict[str, tuple[str, int | None, tuple[str, ...]]] = {
    "mmc": ("mmc.yaml", None, ()),
    "mmc-seed7-easy": ("mmc.yaml", 7, ("policy.queue=easy-backfill",)),
    "philly-fifo": ("philly-6214e9.yaml", 1, ()),
    "philly-sjf": ("philly-6214e9.yaml", 1, ("policy={queue: sjf}",)),
    "philly-easy": ("philly-6214e9.yaml", 1, ("policy={queue: easy-backfill}",)),
    "philly-speed-gain": ("philly-6214e9.yaml", 1, ("policy={queue: speed-gain}",)),
    "philly-las-short": ("philly-6214e9.yaml", 1, ("policy={queue: las}", "duration=15d", "drain=false")),
    "philly-las-failures": ("philly-6214e9.yaml", 5, (
        "policy={queue: las, las: {thresholds_gpu_hours: [1, 10]}}", "duration=10d",
        "drain=false", "failures={rate_per_gpu_hour: 0.002, repair: 2h}")),
    "openb": ("openb.yaml", 1, ()),
    "carbon-aware": ("carbon-aware.yaml", None, ()),
    "hdf-small": ("hdf-2030-small.yaml", None, ()),
    "hdf-small-seed1-easy": ("hdf-2030-small.yaml", 1, ("policy.queue=easy-backfill",
                                                        "duration=2d")),
    "hdf-small-priority-preempt": ("hdf-2030-small.yaml", 3, (
        "policy.queue=priority", "policy.priority={preempt: true}", "duration=2d")),
    "hdf-small-sjf-quota": ("hdf-2030-small.yaml", 2, (
        "policy.queue=sjf", "policy.quotas={research: 4000}", "duration=2d")),
}
FULL_CASES = {"hdf-2030": ("hdf-2030.yaml", None, ())}


def digest(case: tuple[str, int | None, tuple[str, ...]]) -> str:
    """sha256 over the saved outputs of one run (wall time excluded)."""
    from scheduler import simulate

    scenario, seed, overrides = case
    result = simulate(SCENARIOS / scenario, seed=seed, overrides=overrides)
    result.summary.pop("wall_time_s", None)
    h = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp:
        out = result.save(tmp)
        for name in ("summary.json", "details.json", "jobs.csv", "timeseries.csv"):
            h.update(name.encode())
            h.update((out / name).read_bytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path)
    parser.add_argument("--check", type=Path)
    parser.add_argument("--all", action="store_true", help="add the 1:1 regional scenario")
    parser.add_argument("cases", nargs="*", help="case names (default: all quick ones)")
    args = parser.parse_args(argv)
    cases = {**QUICK_CASES, **(FULL_CASES if args.all else {})}
    names = args.cases or list(cases)
    stored = json.loads(args.check.read_text()) if args.check else {}
    digests, bad = {}, 0
    for name in names:
        digests[name] = digest(cases[name])
        verdict = ""
        if args.check:
            verdict = "same" if stored.get(name) == digests[name] else "DIFFERENT"
            bad += verdict == "DIFFERENT"
        print(f"{name:30s} {digests[name][:16]} {verdict}", flush=True)
    if args.write:
        previous = json.loads(args.write.read_text()) if args.write.exists() else {}
        args.write.write_text(json.dumps({**previous, **digests}, indent=2, sort_keys=True) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
