"""Figure polish (issue 18, item 9): map labels clear of each other and of other sites'
markers, no colour bar when every site has the same value, an empty site said in words."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import SCENARIOS

from scheduler import simulate

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def reference():
    # 16 sites, one of them without GPUs, all on the scenario's one grid.
    return simulate(SCENARIOS / "hdf-2030-small.yaml", overrides=["duration=2h"], seed=1)


def _rect_hits_circle(box, cx, cy, r) -> bool:
    nearest_x = min(max(cx, box.x0), box.x1)
    nearest_y = min(max(cy, box.y0), box.y1)
    return (nearest_x - cx) ** 2 + (nearest_y - cy) ** 2 < r * r


def test_map_labels_do_not_overlap_labels_or_other_markers(reference):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = reference.plot.map()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    renderer = canvas.get_renderer()
    labels = [t for t in ax.texts if "GPU" in t.get_text()]
    assert len(labels) == 16
    from matplotlib.text import Text

    # The text's own box (an Annotation's extent would include its leader line).
    boxes = [Text.get_window_extent(t, renderer) for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    built = ax.collections[0]  # the sites with GPUs
    centres = ax.transData.transform(built.get_offsets())
    radii = np.sqrt(built.get_sizes()) / 2 * fig.dpi / 72.0
    names = [t.get_text().split("\n")[0] for t in labels]
    for label, box in zip(labels, boxes, strict=True):
        own = np.hypot(*(centres - ax.transData.transform(label.xy)).T).argmin()
        for k, (centre, radius) in enumerate(zip(centres, radii, strict=True)):
            if k != own:
                assert not _rect_hits_circle(box, *centre, radius), names


def test_no_colour_bar_when_every_site_shares_one_value(reference):
    fig = reference.plot.map(color="carbon")  # one grid for all: one mean carbon
    assert len(fig.axes) == 1
    assert any("at every site" in t.get_text() for t in fig.axes[0].texts)
    fig = reference.plot.map(color="utilization")  # utilizations differ: a colour bar
    assert len(fig.axes) == 2


def test_an_empty_site_is_said_in_words(reference):
    fig = reference.plot.utilization()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "no GPUs at this site" in texts
    assert any(t.get_text() == "Elesmes-Vieux-Reng\n(no GPUs)"
               for t in reference.plot.map().axes[0].texts)
