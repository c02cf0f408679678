"""The layer viewer widget shows what a forward hook sees, and asks for ablations."""

import numpy as np
import torch

from gan_explorer.core.analysis.layers import channel_grid, example_input, layer_view, list_layers, render_ablated
from gan_explorer.core.models import build_model
from gan_explorer.gui.widgets.layer_viewer import LayerViewerWidget
from tests.conftest import TINY


def test_selecting_a_layer_shows_the_hooked_activations_and_ablation_changes_the_image(qtbot):
    torch.manual_seed(0)
    model = build_model("stylegan", **TINY["stylegan"]).eval()
    ws = example_input(model, seed=2)
    layers = list_layers(model)
    widget = LayerViewerWidget()
    qtbot.addWidget(widget)
    widget.set_layers(layers)
    assert widget.table.rowCount() == len(layers)
    assert widget.table.item(1, 2).text() == "32 x 4 x 4"

    def show(name, channel, db, per_channel):   # what the window does on the worker
        view = layer_view(model, ws, name, channel=None if channel < 0 else channel, db=db,
                          per_channel=per_channel, layers=layers)
        widget.show_view(view.grid, view.stats, view.spectrum)
    widget.sigViewRequested.connect(show)

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
        widget.ablate_button.click()
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
