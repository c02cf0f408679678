"""The layer viewer widget shows what a forward hook sees, and asks for ablations; in a ~350 px
dock its layer names, controls and statistics plot all fit."""

import numpy as np
import pyqtgraph as pg
import pytest
import torch
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QPushButton, QToolButton

from gan_explorer.core.analysis.layers import channel_grid, example_input, layer_view, list_layers, render_ablated
from gan_explorer.core.models import build_model
from gan_explorer.gui.widgets.layer_viewer import LayerViewerWidget, short_layer_names
from tests.conftest import TINY


def _stylegan_view(qtbot, width=None, height=640):
    """A layer viewer over a tiny StyleGAN, answering its requests as the window does (on the worker)."""
    torch.manual_seed(0)
    model = build_model("stylegan", **TINY["stylegan"]).eval()
    ws = example_input(model, seed=2)
    layers = list_layers(model)
    widget = LayerViewerWidget()
    qtbot.addWidget(widget)
    widget.set_layers(layers)

    def show(name, channel, db, per_channel):
        view = layer_view(model, ws, name, channel=None if channel < 0 else channel, db=db,
                          per_channel=per_channel, layers=layers)
        widget.show_view(view.grid, view.stats, view.spectrum)
    widget.sigViewRequested.connect(show)
    if width is not None:
        widget.resize(width, height)
        widget.show()
        qtbot.waitExposed(widget)
    return widget, model, ws, layers


def test_selecting_a_layer_shows_the_hooked_activations_and_ablation_changes_the_image(qtbot):
    widget, model, ws, layers = _stylegan_view(qtbot)
    assert widget.table.rowCount() == len(layers)
    assert widget.table.item(1, 2).text() == "32 x 4 x 4"

    name = "synthesis.b16.conv0"
    with qtbot.waitSignal(widget.sigViewRequested) as blocker:
        widget.select_layer(name)
    assert blocker.args == [name, -1, False, True]
    hooked = []
    handle = dict(model.named_modules())[name].register_forward_hook(lambda _m, _i, o: hooked.append(o.clone()))
    with torch.no_grad():
        model.synthesize(ws)
    handle.remove()
    assert np.array_equal(widget.grid_item.image, channel_grid(hooked[0][0].numpy()))
    assert np.allclose(widget.mean_curve.yData, hooked[0][0].mean(dim=(1, 2)).numpy(), atol=1e-6)
    assert widget.spectrum_view.isVisibleTo(widget)

    widget.db.setChecked(True)
    assert np.array_equal(widget.grid_item.image, channel_grid(hooked[0][0].numpy(), db=True))

    widget.channel.setValue(3)
    widget.scale.setValue(0.0)
    with qtbot.waitSignal(widget.sigAblate) as blocker:
        qtbot.mouseClick(widget.ablate_button, Qt.LeftButton)
    assert blocker.args == [name, [3], 0.0]
    with torch.no_grad():
        plain = model.synthesize(ws)
    ablated = render_ablated(model, ws, *blocker.args)
    assert (ablated - plain).abs().max() > 1e-4


def test_a_vector_layer_hides_the_spectrum(qtbot):
    model = build_model("gan", **TINY["gan"]).eval()
    ws = example_input(model)
    widget = LayerViewerWidget()
    qtbot.addWidget(widget)
    widget.set_layers(list_layers(model))
    view = layer_view(model, ws, "generator.1")
    widget.show_view(view.grid, view.stats, view.spectrum)
    assert not widget.spectrum_view.isVisibleTo(widget)
    assert len(widget.max_curve.yData) == 32
    widget.help_button.click()
    assert "aliasing" in widget.help.text() and widget.help.isVisibleTo(widget)


@pytest.mark.parametrize("names, shown", [
    (["synthesis.b4.conv1", "synthesis.b16.conv1.affine", "synthesis"], ["b4.conv1", "b16.conv1.affine", "synthesis"]),
    (["generator.main.0", "generator.main.1", "generator"], ["main.0", "main.1", "generator"]),
    (["mapping.fc0", "synthesis.b4.conv1"], ["mapping.fc0", "synthesis.b4.conv1"]),  # nothing shared
    (["decoder.project", "decoder.main.0"], ["project", "main.0"]),
])
def test_short_layer_names_drop_the_shared_prefix(names, shown):
    assert short_layer_names(names) == shown


def test_layer_names_show_what_tells_them_apart_with_the_full_name_as_tooltip(qtbot):
    widget, _, _, layers = _stylegan_view(qtbot, 350)
    names = [layer.name for layer in layers]
    row = names.index("synthesis.b16.conv1")
    cell = widget.table.item(row, 0)
    assert cell.text() == "b16.conv1" and cell.toolTip() == "synthesis.b16.conv1"
    assert widget.table.item(row, 1).toolTip() == "synthesis.b16.conv1"
    assert len({widget.table.item(i, 0).text() for i in range(len(names))}) == len(names)  # all distinct
    # The name column is wide enough for every short name: none is elided.
    metrics = widget.table.fontMetrics()
    widest = max(metrics.horizontalAdvance(widget.table.item(i, 0).text()) for i in range(len(names)))
    assert widget.table.columnWidth(0) >= widest
    # Clicking a row asks for the layer by its full name.
    widget.table.scrollToItem(cell)
    rect = widget.table.visualItemRect(cell)
    with qtbot.waitSignal(widget.sigViewRequested) as blocker:
        qtbot.mouseClick(widget.table.viewport(), Qt.LeftButton, pos=rect.center())
    assert blocker.args[0] == "synthesis.b16.conv1"


def test_everything_fits_a_350_px_wide_dock(qtbot):
    """Issue #25: in the Understand dock (~350 px wide) the names were cut to 'synthesis…' and the
    statistics plot was clipped under its legend."""
    widget, *_ = _stylegan_view(qtbot, 350)
    widget.select_layer("synthesis.b16.conv0")
    assert widget.minimumSizeHint().width() <= 350
    inside = widget.rect()
    plot = widget.stats_plot
    plot_rect = QRect(plot.mapTo(widget, plot.rect().topLeft()), plot.size())
    assert inside.contains(plot_rect) and plot.width() >= 150 and plot.height() >= 100, plot_rect
    item = plot.getPlotItem()
    box = item.getViewBox().sceneBoundingRect()
    assert box.width() > 80 and box.height() > 50  # room left for the curves themselves
    assert not any(isinstance(i, pg.LegendItem) and i.isVisible() and i.sceneBoundingRect().intersects(box)
                   for i in item.scene().items())
    assert all(key in item.titleLabel.text for key in ("mean", "std", "max"))
    assert len(widget.max_curve.yData) == 32
    for button in widget.findChildren(QPushButton) + widget.findChildren(QToolButton):
        if button.isVisible():
            rect = QRect(button.mapTo(widget, button.rect().topLeft()), button.size())
            assert inside.contains(rect), button.text()
    with qtbot.waitSignal(widget.sigAblate) as blocker:
        qtbot.mouseClick(widget.reset_button, Qt.LeftButton)
    assert blocker.args == ["synthesis.b16.conv0", [], 1.0]
