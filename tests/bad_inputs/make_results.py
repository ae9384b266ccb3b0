"""Regenerate tests/bad_inputs/results/: one saved run of a tiny scenario per folder, each
damaged in one way (``python tests/bad_inputs/make_results.py``). Folders without
``manifest.json`` stand for sets written by older versions (or edited by hand), which
Result.load still reads, checking that they agree with themselves."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import tiny_scenario  # noqa: E402

from scheduler import simulate  # noqa: E402


def main() -> None:
    base = HERE / "results"
    shutil.rmtree(base, ignore_errors=True)
    run = simulate(tiny_scenario(duration="2h", timeseries_step="10m"), seed=1)
    run.summary["wall_time_s"] = 0.5

    def make(name: str, manifest: bool = False) -> Path:
        folder = run.save(base / name)
        if not manifest:
            (folder / "manifest.json").unlink()
        return folder

    def edit_summary(folder: Path, change: object) -> None:
        summary = json.loads((folder / "summary.json").read_text())
        change(summary)  # type: ignore[operator]
        (folder / "summary.json").write_text(json.dumps(summary, indent=2))

    def cut_lines(path: Path, keep: slice) -> None:
        lines = path.read_text().splitlines(True)
        path.write_text("".join(lines[keep]))

    (make("summary_is_a_list") / "summary.json").write_text("[1, 2]\n")
    (make("summary_not_json") / "summary.json").write_text("{not json")
    edit_summary(make("summary_string_counts"),
                 lambda s: s.update(jobs_completed=str(s["jobs_completed"])))
    edit_summary(make("summary_bool_count"), lambda s: s.update(jobs_failed=True))
    edit_summary(make("summary_counts_disagree"),
                 lambda s: s.update(jobs_submitted=s["jobs_submitted"] + 5,
                                    jobs_unfinished=s["jobs_unfinished"] + 5))
    edit_summary(make("summary_not_conserved"),
                 lambda s: s.update(jobs_completed=s["jobs_completed"] + 1))
    edit_summary(make("summary_status_disagrees"),
                 lambda s: s.update(jobs_completed=s["jobs_completed"] - 1,
                                    jobs_unfinished=s["jobs_unfinished"] + 1))
    cut_lines(make("jobs_header_only") / "jobs.csv", slice(0, 1))
    cut_lines(make("timeseries_truncated_at_a_row") / "timeseries.csv", slice(0, 6))
    path = make("timeseries_cut_mid_row") / "timeseries.csv"
    path.write_text(path.read_text()[:-9])
    (make("timeseries_missing") / "timeseries.csv").unlink()
    folder = make("manifest_incomplete", manifest=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(complete=False, files={})
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    cut_lines(make("manifest_file_changed", manifest=True) / "jobs.csv", slice(0, -1))
    (make("manifest_file_missing", manifest=True) / "timeseries.csv").unlink()
    (make("manifest_not_json", manifest=True) / "manifest.json").write_text("[")


if __name__ == "__main__":
    main()
