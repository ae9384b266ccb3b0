"""The slipped-site what-if of docs/timeline.md: runs scenarios/buildout-slip.yaml (Bethune
online at 180 or 360 days) and draws its months side by side into docs/buildout-slip.png::

    PYTHONPATH=. python scripts/slip_whatif.py [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from scheduler import sweep
    from scheduler.period_plots import side_by_side_figure
    from scheduler.sweeps.periods import point_tables, read_sweep_periods

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="sweep folder (default: a temporary one)")
    parser.add_argument("--figure", type=Path, default=ROOT / "docs" / "buildout-slip.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        runs = sweep(ROOT / "scenarios" / "buildout-slip.yaml", out=folder, workers=2,
                     progress=False)
        periods = read_sweep_periods(folder)
        assert periods is not None
        tables = point_tables(periods, runs.attrs["parameters"])
        side_by_side_figure({f"Bethune {k.split('=')[1]}": v for k, v in tables.items()},
                            title="Bethune online at 180 d vs 360 d (buildout-example, "
                                  "seed 2027)").savefig(args.figure, dpi=60)
        columns = ["period", "gpus_online_mean", "gpu_utilization", "p95_wait_s",
                   "queued_jobs_mean", "jobs_never_started", "energy_facility_mwh"]
        for label, table in tables.items():
            print(label)
            print(table[columns].to_string(index=False))
        print(runs[["sites.2.nodes.0.online", "jobs_submitted", "jobs_completed",
                    "jobs_unfinished", "gpu_utilization", "p95_wait_s",
                    "energy_facility_mwh"]].to_string(index=False))
    print(f"figure written to {args.figure}")


if __name__ == "__main__":
    main()
