"""``clustersim report``: one self-contained HTML page, checked in headless Chromium (the
screenshot is not blank, the DOM shows the headline numbers); bad directories exit 2.

The browser test runs wherever Chromium is installed; without it, it is skipped locally and
fails under CI (``CI`` set), where .ci/run installs the Debian package.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli
from test_plots import located_scenario

from scheduler import Result, simulate
from scheduler.report import render_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("CI is set but Chromium is not installed (.ci/run installs the Debian "
                    "package `chromium`)")
    pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test")


def _headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
               "--window-size=1280,2000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(profile)})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    result = simulate(located_scenario(), seed=11)
    return result.save(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def report(run_dir) -> Path:
    code, out, err = run_cli("report", str(run_dir))
    assert code == 0, err
    assert "report written to" in out
    return run_dir / "report.html"


def test_report_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|src=\"(?!data:)|url\(", text, re.IGNORECASE)
    assert text.count('src="data:image/png;base64,') == 6  # every figure, embedded
    for section in ("Headline numbers", "Sites", "Workloads", "Why jobs waited",
                    "Trace read reports", "All summary metrics", "scenario.json"):
        assert section in text


def test_report_in_headless_chromium(report, run_dir, tmp_path):
    import matplotlib.image

    browser = _chromium()
    url = report.resolve().as_uri()
    shot = tmp_path / "report.png"
    proc = _headless(browser, tmp_path / "profile", f"--screenshot={shot}", url)
    assert shot.exists(), proc.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    # Not blank: plenty of non-white pixels and real contrast.
    assert pixels.std() > 0.05
    assert (pixels.mean(axis=2) < 0.9).mean() > 0.03

    dom = _headless(browser, tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    html = dom.stdout
    assert f"{summary['jobs_submitted']:,}" in html
    assert f"{summary['gpu_utilization'] * 100:.1f}%" in html
    assert "Headline numbers" in html and html.count("<img") == 6


def test_report_numbers_are_readable(run_dir):
    result = Result.load(run_dir)
    result.summary["jobs_submitted"] = 1_234_567
    text = render_report(result)
    assert "1,234,567" in text  # thousands separators
    assert "t CO2e" in text and "MWh" in text  # units with the numbers


def test_report_without_energy_says_not_modelled(tmp_path):
    from conftest import tiny_scenario

    result = simulate(tiny_scenario(duration="6h"), seed=2)
    text = render_report(result)
    assert "not modelled" in text
    assert text.count('src="data:image/png;base64,') == 4  # no carbon figure, no map


@pytest.mark.parametrize("setup, message", [
    ("missing", "no such directory"),
    ("empty", "no summary.json"),
    ("corrupt", "cannot read"),
    ("file", "not a directory"),
])
def test_report_bad_directory_exits_2(tmp_path, setup, message):
    target = tmp_path / "run"
    if setup == "empty":
        target.mkdir()
    elif setup == "corrupt":
        target.mkdir()
        (target / "summary.json").write_text("{not json")
    elif setup == "file":
        target.write_text("x")
    code, out, err = run_cli("report", str(target))
    assert code == 2 and out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- other pages


def _check_page(browser: str, page: Path, tmp_path: Path, images: int) -> str:
    """Screenshot not blank, DOM with ``images`` images; returns the DOM."""
    import matplotlib.image

    shot = tmp_path / f"{page.stem}.png"
    url = page.resolve().as_uri()
    proc = _headless(browser, tmp_path / "profile", f"--screenshot={shot}", url)
    assert shot.exists(), proc.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.std() > 0.05 and (pixels.mean(axis=2) < 0.9).mean() > 0.03
    dom = _headless(browser, tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<img") == images
    return dom.stdout


def test_compare_page_in_headless_chromium(run_dir, tmp_path):
    browser = _chromium()
    reps = tmp_path / "reps"
    for seed in (1, 2):
        simulate({**located_scenario(), "duration": "4h"}, seed=seed).save(reps / f"rep-{seed}")
    page = tmp_path / "compare.html"
    code, _, err = run_cli("compare", str(run_dir), str(reps), "--out", str(page))
    assert code == 0, err
    html = _check_page(browser, page, tmp_path, images=2)
    assert "Headline metrics" in html and f"{reps} (2 runs)" in html
    assert "\N{PLUS-MINUS SIGN}" in html  # the interval of the replications


def test_sweep_report_in_headless_chromium(tmp_path):
    import pandas as pd

    from scheduler.sweeps.report import write_sweep_report

    # A runs table as a sweep writes it (2 node counts x 2 queues x 2 seeds), no simulation.
    rows = [{"run_id": f"{k:016x}", "status": "ok", "sites.0.nodes.0.count": count,
             "policy.queue": queue, "seed": seed, "mean_wait_s": 600.0 * seed / count,
             "p95_wait_s": 3000.0 * seed / count, "gpu_utilization": 0.5 + 0.1 * seed}
            for k, (count, queue, seed) in enumerate(
                (c, q, s) for c in (2, 4) for q in ("fifo", "sjf") for s in (1, 2))]
    folder = tmp_path / "sweep"
    folder.mkdir()
    page = write_sweep_report(folder, runs=pd.DataFrame(rows),
                              parameters=["sites.0.nodes.0.count", "policy.queue"])
    html = _check_page(_chromium(), page, tmp_path, images=3 * 2)
    assert "mean wait against policy.queue" in html and "4 parameter points" in html


SERVICE = {"name": "chat", "kind": "inference", "replica_gpus": 4,
           "requests": {"rate_per_second": 6, "profile": "chat"},
           "autoscale": {"mode": "slo", "interval": "10m", "scale_up_delay": "5m",
                         "max_replicas": 4}}


@pytest.fixture(scope="module")
def service_run_dir(tmp_path_factory) -> Path:
    data = located_scenario()
    data["workloads"] = [*data["workloads"], SERVICE]
    data["policy"] = {"queue": "priority"}
    result = simulate(data, seed=11)
    out = result.save(tmp_path_factory.mktemp("service-run"))
    code, _, err = run_cli("report", str(out))
    assert code == 0, err
    return out


def _section(text: str, key: str) -> str:
    start = text.index(f'<section id="{key}">')
    return text[start:text.index("</section>", start)]


def test_report_has_an_inference_section(service_run_dir):
    text = (service_run_dir / "report.html").read_text(encoding="utf-8")
    services = _section(text, "services")
    for heading in ('id="service-chat"', "Latency against the targets", "GPUs and energy",
                    "Where the replicas ran", "TTFT p90", "kWh per 1,000 requests"):
        assert heading in services
    assert services.count('src="data:image/png;base64,') == 1  # the service's figure
    assert text.count('src="data:image/png;base64,') == 7
    # Replicas are not in the workloads table (their jobs have no wait or JCT to show).
    assert "<td>chat</td>" not in _section(text, "workloads")
    assert "<td>small</td>" in _section(text, "workloads")
    assert "Inference requests within SLO" in _section(text, "headline")


def test_report_inference_section_in_headless_chromium(service_run_dir, tmp_path):
    import matplotlib.image

    browser = _chromium()
    url = (service_run_dir / "report.html").resolve().as_uri() + "#services"
    dom = _headless(browser, tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    details = json.loads((service_run_dir / "details.json").read_text())["services"]["chat"]
    html = dom.stdout
    assert "Inference services" in html and html.count("<img") == 7
    assert f"{details['requests']:,.0f} requests" in html
    assert f"{details['slo_attainment'] * 100:.1f}%" in html
    shot = tmp_path / "services.png"
    proc = _headless(browser, tmp_path / "profile", "--window-size=1280,9000",
                     f"--screenshot={shot}", url)
    assert shot.exists(), proc.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.std() > 0.05 and (pixels.mean(axis=2) < 0.9).mean() > 0.03
