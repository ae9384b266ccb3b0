"""Every figure renders on a small run, to PNG and SVG; quantities a run did not model give a
figure that says so; ``clustersim plot`` writes the files and rejects bad input with exit 2."""

from __future__ import annotations

import io
from typing import Any

import pytest
from conftest import run_cli, tiny_scenario

from scheduler import Result, simulate
from scheduler.plots import PLOTS, available


def located_scenario(**changes: Any) -> dict[str, Any]:
    """TINY with site locations, a power cap on A and grid signals on both sites."""
    data = tiny_scenario(duration="12h", **changes)
    data["sites"][0].update(location={"lat": 50.21, "lon": 3.15}, power_cap="60kW",
                            grid={"carbon_g_per_kwh": "fr-2024", "price_eur_per_mwh": 60})
    data["sites"][1].update(location={"lat": 51.0, "lon": 2.22},
                            grid={"carbon_g_per_kwh": 55, "price_eur_per_mwh": "day-ahead-fr"})
    return data


@pytest.fixture(scope="module")
def full() -> Result:
    return simulate(located_scenario(), seed=11)


@pytest.fixture(scope="module")
def plain() -> Result:
    return simulate(tiny_scenario(duration="12h"), seed=11)


def _text_of(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


@pytest.mark.parametrize("kind", list(PLOTS))
def test_every_plot_renders_png_and_svg(full, kind):
    fig = full.plot(kind)
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=60)
    fig.savefig(svg, format="svg")
    assert png.getvalue().startswith(b"\x89PNG") and len(png.getvalue()) > 5_000
    assert b"<svg" in svg.getvalue() and len(svg.getvalue()) > 10_000
    assert "not modelled" not in _text_of(fig)


def test_accessor_methods_return_figures(full):
    from matplotlib.figure import Figure

    assert set(full.plot.available()) == set(PLOTS)
    assert isinstance(full.plot.map(color="utilization"), Figure)
    assert isinstance(full.plot.queue(), Figure)
    with pytest.raises(ValueError, match="unknown plot"):
        full.plot("nope")


def test_missing_quantities_say_not_modelled(plain):
    # No grid signals, no locations: carbon and map have nothing to draw.
    assert "carbon" not in available(plain) and "map" not in available(plain)
    assert "not modelled" in _text_of(plain.plot.carbon())
    assert "no site has a location" in _text_of(plain.plot.map())
    # A result without any energy column (e.g. saved by an older version) still draws.
    bare = Result(plain.summary, plain.jobs,
                  plain.timeseries.drop(columns=[c for c in plain.timeseries.columns
                                                 if c.startswith("facility_power_mw")]),
                  plain.scenario_text)
    assert "power" not in available(bare)
    assert "not modelled" in _text_of(bare.plot.power())


def test_plot_cli_writes_files(full, tmp_path):
    run_dir = full.save(tmp_path / "run")
    code, out, err = run_cli("plot", str(run_dir), "--out", str(tmp_path / "fig.png"))
    assert code == 0, err
    assert out.count("wrote ") == len(PLOTS)
    for kind in PLOTS:
        assert (tmp_path / f"fig-{kind}.png").stat().st_size > 5_000
    code, _, err = run_cli("plot", str(run_dir), "--out", str(tmp_path / "map.svg"),
                           "--kind", "map")
    assert code == 0, err
    assert (tmp_path / "map.svg").read_text().count("<svg") == 1


@pytest.mark.parametrize("args, message", [
    (["--out", "x.gif"], "unsupported image type"),
    (["--out", "x.png", "--kind", "nope"], "invalid choice"),
])
def test_plot_cli_bad_options_exit_2(full, tmp_path, args, message):
    run_dir = full.save(tmp_path / "run")
    code, _, err = run_cli("plot", str(run_dir), *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_plot_cli_bad_directory_exits_2(tmp_path):
    code, _, err = run_cli("plot", str(tmp_path / "missing"), "--out", str(tmp_path / "x.png"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "no such directory" in err


def test_power_figure_peak_is_the_headline_peak(full):
    """One definition of peak power: the highest facility power at any instant. The time
    series keeps the highest instant of each step beside the step mean, so its maximum is
    the summary's peak exactly (same step function, same floats), and the figure plots it."""
    from scheduler.plots import _mw

    ts = full.timeseries
    peak = full.summary["peak_facility_power_mw"]
    assert ts["facility_power_peak_mw"].max() == peak
    # The mean over a step never exceeds the step's highest instant (up to the rounding of
    # the mean, a difference of prefix integrals: measured 3e-12 relative, allowed 1e-9).
    assert (ts["facility_power_mw"] <= ts["facility_power_peak_mw"] * (1 + 1e-9)).all()
    for name, site in full.summary["sites"].items():
        assert ts[f"facility_power_peak_mw[{name}]"].max() == site["peak_facility_power_mw"]
    fig = full.plot.power()
    fleet = fig.axes[0]
    plotted = max(max(line.get_ydata()) for line in fleet.get_lines())
    assert plotted == peak
    assert f"peak {_mw(peak)} MW" in fleet.get_title(loc="left")
    # Site B has no cap, so the fleet has none: no sum-of-caps line, and the title says so.
    assert "a site has no cap" in fleet.get_title(loc="left")


def test_power_figure_draws_the_fleet_against_the_sum_of_caps():
    data = located_scenario()
    data["sites"][1]["power_cap"] = "40kW"
    result = simulate(data, seed=11)
    fleet = result.plot.power().axes[0]
    # 60 kW + 40 kW = 0.1 MW, drawn as the fleet's cap line and named in its title.
    assert "sum of caps 0.1 MW" in fleet.get_title(loc="left")
    assert any(set(line.get_ydata()) == {0.1} for line in fleet.get_lines())
