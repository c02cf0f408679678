"""The latent map widget: clicking a point, the current-latent marker, colours, thumbnails on zoom."""

import numpy as np
import torch
from PySide6.QtCore import QPointF, Qt

from gan_explorer.core.analysis.latent_map import compute_map
from gan_explorer.core.models import build_model
from gan_explorer.gui.widgets.latent_map import LatentMapWidget
from tests.conftest import TINY


def _map():
    torch.manual_seed(0)
    model = build_model("vae", **TINY["vae"]).eval()
    return model, compute_map(model, num=40, thumbnail_size=8, batch_size=20)


def _click(qtbot, widget, xy):
    vb = widget.plot.getViewBox()
    scene = vb.mapViewToScene(QPointF(float(xy[0]), float(xy[1])))
    pos = widget.plot.mapFromScene(scene)
    qtbot.mouseClick(widget.plot.viewport(), Qt.LeftButton, pos=pos)


def test_clicking_a_point_names_the_latent_that_renders_it(qtbot):
    model, m = _map()
    widget = LatentMapWidget()
    qtbot.addWidget(widget)
    widget.resize(500, 500)
    widget.show()
    widget.set_map(m.points, m.thumbnails, m.colors, m.color_source, "vae: 40 codes")
    qtbot.waitExposed(widget)
    target = int(np.argmax(m.points[:, 0]))   # the rightmost point: not hidden under another
    with qtbot.waitSignal(widget.sigPointClicked, timeout=2000) as blocker:
        _click(qtbot, widget, m.points[target])
    index = blocker.args[0]
    assert np.allclose(m.points[index], m.points[target], atol=1e-3 * np.ptp(m.points))
    # The clicked index renders that point's latent: the code the map placed there.
    ws = m.ws(model, index)
    assert np.allclose(m.project_ws(ws)[0], m.points[index], atol=1e-4)


def test_the_current_marker_follows_latent_moves(qtbot):
    model, m = _map()
    widget = LatentMapWidget()
    qtbot.addWidget(widget)
    widget.set_map(m.points, None, m.colors)
    assert widget.current_position() is None
    ws = m.ws(model, 3)
    widget.set_current(m.project_ws(ws)[0])
    first = widget.current_position()
    assert np.allclose(first, m.points[3], atol=1e-4)
    moved = ws + 0.8 * torch.from_numpy(np.ones(ws.shape[-1], np.float32))   # a slider moved
    widget.set_current(m.project_ws(moved)[0])
    assert np.allclose(widget.current_position(), m.project_ws(moved)[0], atol=1e-5)
    assert not np.allclose(widget.current_position(), first, atol=1e-3)
    widget.set_bookmarks(m.points[:2], ["a", "b"])
    widget.set_path(m.points[:5])
    assert len(widget.bookmarks.data) == 2 and len(widget.path.xData) == 5


def test_colour_by_a_factor_and_thumbnails_when_zoomed(qtbot):
    _, m = _map()
    widget = LatentMapWidget()
    qtbot.addWidget(widget)
    widget.resize(400, 400)
    widget.set_map(m.points, m.thumbnails, m.colors, m.color_source)
    with qtbot.waitSignal(widget.sigColorByChanged) as blocker:
        widget.set_color_by("skin_tone")
    assert blocker.args == ["skin_tone"]
    brushes = {b.color().name() for b in widget.scatter.data["brush"]}
    assert len(brushes) > 10                                  # a gradient, not one grey
    assert "skin tone (true factors of the data)" in widget.legend.text()
    assert 5 < widget.shown_sprites() <= 40                   # one per thumbnail-sized cell
    widget.zoom_to(m.points[7], 1e-4 * np.ptp(m.points))     # zoomed onto one point: its own image
    assert widget.shown_sprites() == 1
    sprite = next(s for s in widget._sprites if s.isVisible())
    assert np.array_equal(sprite.image, m.thumbnails[7][::-1])
    widget.help_button.click()
    assert widget.help.isVisibleTo(widget) and "Each dot is one latent" in widget.help.text()
