"""Every control, clicked (issue #25).

Opens each shipped demo, each official-format fixture and a tiny CycleGAN in a window, visits every
tab of the Sliders dock, the Latent dock and every tab of the Understand dock, and activates every
enabled button, every enabled menu action (file dialogs, input dialogs and message boxes answered
with canned values; our own dialogs closed) and every entry of every enabled combo box. Each job a
control starts is waited for, or cancelled (the long analyses). The test fails on:

- an ERROR record of the "gan_explorer" logger (a failed job, a failed render, a broken listener);
- an exception raised in a Qt slot (pytest-qt's own capture);
- a `sigError` of the window that is not an expected one-line message for an impossible action;
- a control that shows another state than the one rendered: after every step, the seed, ψ, cutoff,
  noise and move boxes, the condition selector, the edits line and every slider bank equal
  `window.latent.state`, and once idle `window.viewer.last_result` was rendered from that state
  (its ws equal a fresh `ws_for_state` of the same model);
- an enabled button, action or combo entry that the walk did not activate (a new control must be
  added here).
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication, QComboBox, QDialog, QFileDialog, QInputDialog, QMenu, QMessageBox, QProgressBar, QPushButton,
    QTabBar, QToolButton,
)

from gan_explorer.core.analysis.attribute import MIN_PER_CLASS
from gan_explorer.core.explorer.conditions import class_of, current_condition, factor_range
from gan_explorer.core.render import ws_for_state
from gan_explorer.resources import demo_models
from tests.gui.conftest import FIXTURES

OFFICIAL = [FIXTURES / "stylegan_official" / name for name in ("sg2ada_64.pkl", "sg3t_64.pkl", "sg2ada_cond_32.pkl")]
OFFICIAL.append(FIXTURES / "rosinality" / "rosi_32.pt")
MODELS = [pytest.param(str(p), True, id=p.stem) for p in demo_models()]
MODELS += [pytest.param(str(p), True, id=p.stem) for p in OFFICIAL]
MODELS.append(pytest.param("cyclegan", True, id="cyclegan-tiny"))
MODELS.append(pytest.param(str(demo_models()[0]), False, id=f"{demo_models()[0].stem}-async"))

# Menu actions the walk leaves alone, and why.
NOT_TRIGGERED = {
    "Quit": "closes the window",
    "Fast renderer (OpenVINO / ONNX Runtime)": "loads an inference engine into the test process (tests/core/"
                                               "backends cover it, ordered last by tests/conftest.py)",
}
# One-line messages for an impossible action that the walk may meet: pattern -> why it is expected.
EXPECTED_ERRORS: dict[str, str] = {}
# Bugs outside the widgets that this test found and that are not fixed yet: pattern -> where. A walk
# that meets one goes on to the end and is then reported as an expected failure naming it; remove
# the entry once the bug is fixed.
JOB_TIMEOUT_MS = 120_000
# Models whose images cost a lot on a CPU (StyleGAN3's filtered up- and downsampling): the Understand
# dock's jobs are cancelled as soon as they start instead of being run or stopped at their first report.
# Their directions' preview strips and projections too.
SLOW = {"sg3t_64"}
# The model on which the analyses also run to their end with every map method and two metrics, and
# from which every demo is opened; the others open one demo: the one named here, else the DCGAN.
THOROUGH = "stylegan-faces64"
OTHER_DEMO = {"dcgan-faces32-glasses": "vae-faces32", "sg2ada_cond_32": "stylegan-faces64",
              "cyclegan_tiny": "stylegan-faces64"}


class ErrorRecords(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def expected(message: str) -> bool:
    return any(re.search(pattern, message) for pattern in EXPECTED_ERRORS)


def tiny_cyclegan(path: Path) -> Path:
    from gan_explorer.core.io.checkpoint import save_model
    from gan_explorer.core.models import build_model
    from tests.conftest import TINY

    torch.manual_seed(2)
    model = build_model("cyclegan", **TINY["cyclegan"])
    return save_model(model, path, provenance={"data": "faces:32", "data_b": "faces:32"})


class Answers:
    """Canned answers for every dialog a control may open; each question is recorded."""

    def __init__(self, folder: Path, picture: Path, run_dir: Path):
        self.folder, self.picture, self.run_dir = folder, picture, run_dir
        self.saved: dict[str, Path] = {}  # suffix -> the latest file a save dialog named
        self.asked: list[str] = []

    def save(self, _parent, caption, name="", _filter="", *_args, **_kwargs):
        self.asked.append(caption)
        path = self.folder / Path(name or "out.bin").name
        self.saved[path.suffix] = path
        return str(path), ""

    def open(self, _parent, caption, *_args, **_kwargs):
        self.asked.append(caption)
        wanted = {"Open": ".png", "Open latent": ".npy", "Import directions": ".json"}.get(caption)
        if wanted is None:  # a picture to project, encode or translate
            return str(self.picture), ""
        path = self.saved.get(wanted)
        if path is None and caption == "Open":
            path = self.picture  # nothing exported yet: a plain picture
        return (str(path), "") if path is not None and path.exists() else ("", "")

    def directory(self, _parent, caption, *_args, **_kwargs):
        self.asked.append(caption)
        return str(self.run_dir)

    def text(self, _parent, title, _label, *_args, text="", **_kwargs):
        self.asked.append(title)
        return (text or "named"), True

    def item(self, _parent, title, _label, items, current=0, *_args, **_kwargs):
        self.asked.append(title)
        return (items[current], True) if items else ("", False)

    def message(self, _parent, title, *_args, **_kwargs):
        self.asked.append(title)
        return QMessageBox.Ok

    def url(self, url):
        self.asked.append(url.toString())
        return True

    def install(self, monkeypatch):
        monkeypatch.setattr(QFileDialog, "getSaveFileName", self.save)
        monkeypatch.setattr(QFileDialog, "getOpenFileName", self.open)
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", self.directory)
        monkeypatch.setattr(QInputDialog, "getText", self.text)
        monkeypatch.setattr(QInputDialog, "getItem", self.item)
        for name in ("information", "warning", "critical", "question", "about"):
            monkeypatch.setattr(QMessageBox, name, self.message)
        monkeypatch.setattr(QDesktopServices, "openUrl", self.url)


def uncovered_point(view) -> tuple[float, float]:
    """The map point farthest from every marker drawn above the points (the current latent's ring,
    the bookmarks' stars, the path), so that a click there reaches the point."""
    path_x, path_y = view.path.getData()  # (None, None) when there is no path
    marks = [view.current_position(), *zip(*view.bookmarks.getData()), *zip(path_x if path_x is not None else (),
                                                                          path_y if path_y is not None else ())]
    marks = np.array([m for m in marks if m is not None], np.float64).reshape(-1, 2)
    points = view.points.astype(np.float64)
    if not len(marks):
        return tuple(points[0])
    free = np.linalg.norm(points[:, None] - marks[None], axis=2).min(axis=1)
    return tuple(points[int(np.argmax(free))])


def describe(widget) -> str:
    text = widget.text() if hasattr(widget, "text") else ""
    owner = widget.parent()
    while owner is not None and type(owner).__module__.startswith("PySide6"):
        owner = owner.parent()
    return f"{type(owner).__name__ if owner is not None else '?'}: {text or widget.toolTip()!r}"


class Walk:
    """Clicks controls of one window, waits for or cancels their jobs and checks the window's state."""

    def __init__(self, window, qtbot, path: str, answers: Answers):
        self.window, self.qtbot, self.answers = window, qtbot, answers
        self.path = path
        self.slow = Path(path).stem in SLOW
        self.sync = window.explorer.session.sync
        self.thorough = Path(path).stem == THOROUGH and self.sync
        self.model = None  # a fresh copy of the open model, for the renders' ws
        self.model_path = None
        self.handles = []
        self.cancel_long = False
        self.errors: list[str] = []
        self.clicked: set = set()       # buttons and actions activated
        self.seen: dict = {}            # enabled, visible buttons met while walking -> description
        self.combos_seen: dict = {}     # enabled, visible combos -> description
        self.combos_done: set = set()
        self.actions_done: set = set()
        self.steps = 0
        self.times: list = []  # (seconds, step)
        window.sigError.connect(self.errors.append)
        window.viewer.events.job_started.connect(self._job_started)

    # --- jobs -------------------------------------------------------------------------------------
    def _job_started(self, handle):
        self.handles.append(handle)
        if self.cancel_long and self.sync:  # a synchronous job runs inside submit: cancel at its first report
            if self.slow:
                handle.cancel()  # (or before its first unit of work)
            else:
                handle.on_progress(lambda _p, h=handle: h.cancel())

    def settle(self):
        """Every job started has ended, and the latest render request is on screen."""
        viewer, session = self.window.viewer, self.window.explorer.session

        def idle():
            QApplication.processEvents()
            if not all(h.finished for h in self.handles):
                return False
            if not self.sync and not session.wait_until_idle(0.01):
                return False
            if viewer.info is None or viewer.token != viewer._requested_token:
                return False  # a model asked for is not open yet
            return not viewer.explorable or viewer._shown_request == viewer._next_request

        self.qtbot.waitUntil(idle, timeout=JOB_TIMEOUT_MS)

    def step(self, name, action, long: bool = False):
        """Do `action` (a click, a choice), wait for what it started, check the window."""
        self.cancel_long = long
        t0 = time.perf_counter()
        started = len(self.handles)
        result = action()
        if long and not self.sync:  # a real Cancel click while the job runs
            for handle in self.handles[started:]:
                if not handle.finished:
                    handle.cancel()
        self.settle()
        self.cancel_long = False
        self.steps += 1
        self.check(name)
        self.times.append((time.perf_counter() - t0, name))
        return result

    # --- activating controls -------------------------------------------------------------------------
    def click(self, button, long: bool = False, name: str | None = None):
        assert button.isEnabled() and button.isVisible(), f"{describe(button)} is not clickable"
        self.clicked.add(button)
        return self.step(name or describe(button), lambda: self.qtbot.mouseClick(button, Qt.LeftButton), long)

    def click_cancel(self, run_button, cancel_button):
        """Async: start a long job with its button and stop it with its Cancel button."""
        self.clicked.add(run_button)
        self.qtbot.mouseClick(run_button, Qt.LeftButton)
        assert cancel_button.isEnabled(), f"{describe(cancel_button)} stayed disabled while its job ran"
        self.click(cancel_button)

    def choose_all(self, combo, keep=None, long: bool = False):
        """Every enabled entry of `combo`, one after the other; then `keep` (text) or the first entry."""
        if not (combo.isEnabled() and combo.isVisible()):
            return
        self.combos_done.add(combo)
        model = combo.model()
        for i in range(combo.count()):
            if model.flags(model.index(i, 0)) & Qt.ItemIsEnabled:
                self.step(f"{describe(combo)} = {combo.itemText(i)}", lambda i=i: combo.setCurrentIndex(i), long)
        target = combo.findText(keep) if keep is not None else 0
        self.step(f"{describe(combo)} back", lambda: combo.setCurrentIndex(max(target, 0)))

    def trigger(self, action):
        self.actions_done.add(action)
        self.clicked.add(action)
        self.step(f"menu {action.text()}", action.trigger)

    def drag(self, slider, value):
        """A slider moved as the mouse does: pressed, moved, released (one undo step, a full frame at the end)."""
        def move():
            slider.setSliderDown(True)
            slider.setValue(value)
            slider.setSliderDown(False)  # emits sliderReleased
        self.step(f"drag {describe(slider)} to {value}", move)

    def click_cell(self, grid, r, c):
        point = grid.cell_rect(r, c).center()
        self.step(f"cell {r},{c} of {describe(grid)}",
                  lambda: self.qtbot.mouseClick(grid, Qt.LeftButton, pos=point))

    def note_controls(self, *roots):
        for root in roots:
            for button in root.findChildren(QPushButton) + root.findChildren(QToolButton):
                if isinstance(button.parent(), QTabBar):
                    continue  # a tab bar's own scroll arrows
                if button.isEnabled() and button.isVisible():
                    self.seen.setdefault(button, describe(button))
            for combo in root.findChildren(QComboBox):
                if combo.isEnabled() and combo.isVisible():
                    self.combos_seen.setdefault(combo, describe(combo))

    # --- the check ----------------------------------------------------------------------------------------
    def fresh_model(self):
        from gan_explorer.core.io.models import open_model

        info = self.window.viewer.info
        if self.model_path != info.path:
            self.model = open_model(info.path)
            self.model_path = info.path
        return self.model

    def check(self, name):
        w = self.window
        self.note_controls(w.latent_dock, w.tabs.currentWidget(), w.understand.currentWidget())
        errors = [e for e in self.errors if not expected(e)]
        assert not errors, f"after {name}: the window reported {errors}"
        info, state = w.viewer.info, w.latent.state
        self.check_idle_controls(name)
        if info is None or info.is_translation:
            return
        self.check_models_shown(name)
        lp = w.latent_panel
        shown = {"seed": lp.seed.value(), "psi": lp.psi.value(), "psi slider": lp.psi_slider.value(),
                 "cutoff": lp.cutoff.value(), "noise": lp.noise_mode.currentText(), "noise seed": lp.noise_seed.value(),
                 "move": (lp.translate_x.value(), lp.translate_y.value(), lp.rotate.value())}
        psi = round(state.truncation_psi, 2)
        wanted = {"seed": state.seed, "psi": psi, "psi slider": min(max(round(psi * 100), -100), 200),
                  "cutoff": state.truncation_cutoff or 0, "noise": state.noise_mode, "noise seed": state.noise_seed,
                  "move": tuple(round(v, 2) for v in state.transform)}
        shown["move"] = tuple(round(v, 2) for v in shown["move"])
        assert shown == wanted, f"after {name}: the Latent dock shows {shown}, the state is {wanted}"
        edited = w.latent.edited
        assert lp.reset_edits_btn.isEnabled() == edited and w.reset_edits_action.isEnabled() == edited, name
        assert (lp.edits.text() == "no edits") != edited, f"after {name}: edits line {lp.edits.text()!r}"
        assert w.undo_action.isEnabled() == w.latent.history.can_undo(), name
        assert w.redo_action.isEnabled() == w.latent.history.can_redo(), name
        if info.c_dim:
            cond = lp.condition
            if info.c_kind == "class":
                assert cond.classes.currentIndex() == class_of(info, state.condition), f"after {name}: class"
            else:
                for factor, value in zip(info.c_names, current_condition(info, state.condition)):
                    low, high = factor_range(factor)
                    slider = cond.factor_sliders[factor][0]
                    assert slider.value() == round((value - low) / (high - low) * 100), f"after {name}: {factor}"
        banks = {"Z": (w.z_panel.bank, {int(d): v for d, v in state.z_edits}),
                 "W": (w.w_panel.bank, w.latent.w_values()),
                 "Directions": (w.directions_panel.bank, w.explorer.directions.values())}
        library = w.explorer.directions.library_values()
        names = w.library_panel.bank.names
        banks["Library"] = (w.library_panel.bank, {names.index(n): v for n, v in library.items() if n in names})
        for tab, (bank, values) in banks.items():
            got = {k: v for k, v in bank.values.items() if v}
            want = {k: v for k, v in values.items() if v}
            assert got.keys() == want.keys() and all(abs(got[k] - want[k]) < 1e-6 for k in got), \
                f"after {name}: the {tab} bank holds {got}, the state {want}"
            for row, item in enumerate(bank.visible_items()):
                slider = bank.sliders[row]
                position = min(max(round(values.get(item, 0.0) * 100), slider.minimum()), slider.maximum())
                assert slider.value() == position, f"after {name}: {tab} slider {item} at {slider.value()}, " \
                                                   f"the state says {position}"
        result = w.viewer.last_result
        assert result is not None and result.error is None and not result.preview, f"after {name}: {result}"
        with torch.no_grad():
            expected_ws = ws_for_state(self.fresh_model(), state)[0].cpu().numpy()
        assert np.allclose(result.ws, expected_ws, atol=1e-5, rtol=1e-4), \
            f"after {name}: the image shown was not rendered from the state (max diff " \
            f"{np.abs(result.ws - expected_ws).max():.3g})"

    def check_idle_controls(self, name):
        """Nothing runs now: no Cancel is offered, every job's own button is back."""
        w = self.window
        for root in (w.slider_dock, w.understand_dock, w.latent_dock, w.perform_dock, w.animate_dock, w.parts_dock):
            busy = [describe(b) for b in root.findChildren(QPushButton) if b.text() == "Cancel" and b.isEnabled()]
            assert not busy, f"after {name}: nothing runs, yet {busy} can be clicked"
        if w.viewer.explorable:  # (a button counts as enabled here even while its tab is disabled)
            u = w.understand
            for page in (u.map_panel, u.factors_panel, u.attribute_panel, u.metrics_panel):
                assert page.job.run_btn.isEnabledTo(page), f"after {name}: {describe(page.job.run_btn)} stayed disabled"
            for page, button in ((w.translate_panel, w.translate_panel.project_btn), (w.breed, w.breed.grow_btn),
                                 (w.interpolation, w.interpolation.play_btn), (w.mixing, w.mixing.render_btn),
                                 (w.directions_panel, w.directions_panel.find_btn)):
                assert button.isEnabledTo(page), f"after {name}: {describe(button)} stayed disabled"

    def check_models_shown(self, name):
        """Each panel lists what its model holds, for the open model."""
        w, e, info = self.window, self.window.explorer, self.window.viewer.info
        sizes = {"Z bank": (w.z_panel.bank.total, info.z_dim), "W bank": (w.w_panel.bank.total, info.w_dim),
                 "cutoff": (w.latent_panel.cutoff.maximum(), info.num_ws),
                 "mixing layers": (len(w.mixing.checks), info.num_ws),
                 "bookmarks": (w.bookmarks_panel.list.count(), len(e.bookmarks)),
                 "keyframes": (w.interpolation.list.count(), len(e.keyframes)),
                 "parents": (w.breed.table.rowCount(), len(e.breeding.parents)),
                 "breed bookmarks": (w.breed.bookmark.count(), len(e.bookmarks)),
                 "library bookmarks": (w.library_panel.bookmark_a.count(), len(e.bookmarks))}
        for label, layers in (("W", w.w_panel.range), ("Directions", w.directions_panel.range),
                              ("Breed", w.breed.range)):
            sizes[f"{label} layers"] = (layers.end.maximum(), max(info.num_ws - 1, 0))
        wrong = {k: v for k, v in sizes.items() if v[0] != v[1]}
        assert not wrong, f"after {name}: (shown, held) differ: {wrong}"
        found = e.directions.found
        assert w.directions_panel.bank.names == (found.names if found is not None else []), name
        library = e.directions.library
        assert w.library_panel.bank.names == (library.names() if library is not None else []), name

    # --- the walk -----------------------------------------------------------------------------------------
    def latent_dock(self):
        w = self.window
        w.latent_dock.raise_()
        lp = w.latent_panel
        for button in lp.findChildren(QPushButton):
            if button.isEnabled() and button is not lp.reset_edits_btn:
                self.click(button)  # ◀ ▶ Random
        self.step("psi 0.5", lambda: lp.psi.setValue(0.5))
        self.drag(lp.psi_slider, 80)
        if lp.cutoff.isEnabled():
            self.step("cutoff 1", lambda: lp.cutoff.setValue(1))
            self.step("cutoff all", lambda: lp.cutoff.setValue(0))
        self.choose_all(lp.noise_mode)
        if lp.noise_seed.isEnabled():
            self.step("noise seed 3", lambda: lp.noise_seed.setValue(3))
        if lp.translate_x.isEnabled():
            self.step("move x", lambda: lp.translate_x.setValue(0.1))
            self.step("rotate", lambda: lp.rotate.setValue(10))
            self.step("move back", lambda: (lp.translate_x.setValue(0), lp.rotate.setValue(0)))
        cond = lp.condition
        if cond.isVisible():
            self.choose_all(cond.classes)
            for slider, _label in list(cond.factor_sliders.values()):
                self.drag(slider, 80)
                self.drag(slider, 10)
        # Bookmarks: two of different seeds, shown (click) and opened (double click).
        bp = w.bookmarks_panel
        self.click(bp.add_btn)
        self.step("seed + 1", lambda: lp.seed.setValue(lp.seed.value() + 1))
        self.click(bp.add_btn)
        self.click(bp.sheet_btn)
        assert self.answers.saved[".png"].exists()
        lst = bp.list
        for row in (0, 1):
            item = lst.item(row)
            point = lst.visualItemRect(item).center()
            self.step(f"bookmark {row} clicked",
                      lambda point=point: self.qtbot.mouseClick(lst.viewport(), Qt.LeftButton, pos=point))
        point = lst.visualItemRect(lst.item(0)).center()

        def open_first():
            self.qtbot.mouseClick(lst.viewport(), Qt.LeftButton, pos=point)
            self.qtbot.mouseDClick(lst.viewport(), Qt.LeftButton, pos=point)
        self.step("bookmark 0 opened", open_first)
        assert w.latent.state == w.explorer.bookmarks.state(0)

    def z_tab(self):
        w = self.window
        w.tabs.setCurrentWidget(w.z_panel)
        bank = w.z_panel.bank
        self.drag(bank.sliders[0], 150)
        self.step("z range", lambda: bank.range.setValue(1.0))  # the edit (1.5) lies beyond: the slider clamps
        self.step("z range back", lambda: bank.range.setValue(3.0))
        if bank.page.maximum() > 0:
            self.step("z page 1", lambda: bank.page.setValue(1))
            self.drag(bank.sliders[1], -100)
            self.step("z page 0", lambda: bank.page.setValue(0))
        self.click(bank.reset_btn)
        self.drag(bank.sliders[2], 50)

    def w_tab(self):
        w = self.window
        w.tabs.setCurrentWidget(w.w_panel)
        self.choose_all(w.w_panel.range.preset, keep="all")
        self.drag(w.w_panel.bank.sliders[1], 120)
        self.click(w.w_panel.bank.reset_btn)
        self.drag(w.w_panel.bank.sliders[3], -80)

    def directions_tab(self):
        w = self.window
        panel = w.directions_panel
        w.tabs.setCurrentWidget(panel)
        self.choose_all(panel.method, keep="PCA of w (GANSpace)")
        self.choose_all(panel.range.preset, keep="all")
        self.click(panel.find_btn)
        if w.explorer.directions.found is None:
            self.click(panel.bank.reset_btn)
            return  # failed: the check after the click has failed already (reported at the end)
        self.drag(panel.bank.sliders[0], 100)
        bank = panel.bank
        self.step("directions: last page", lambda: bank.page.setValue(bank.page.maximum()))  # fewer strips to render
        self.click(panel.preview_btn, long=self.slow)
        assert self.slow or all(bank.previews[row].pixmap() is not None and not bank.previews[row].pixmap().isNull()
                   for row in range(len(bank.visible_items()))), "a preview strip is missing"
        self.step("directions: first page", lambda: bank.page.setValue(0))
        self.click(panel.save_btn)  # named with the dialog's default name (PC 0)
        self.click(panel.bank.reset_btn)
        self.drag(panel.bank.sliders[1], -150)

    def library_tab(self):
        w = self.window
        panel = w.library_panel
        w.tabs.setCurrentWidget(panel)
        self.choose_all(panel.bookmark_a)
        self.choose_all(panel.bookmark_b, keep=panel.bookmark_b.itemText(1))
        self.click(panel.from_bookmarks_btn)
        assert panel.bank.names, "Name A → B kept no direction"
        for row in range(min(2, len(panel.bank.names))):
            self.drag(panel.bank.sliders[row], 100 - 200 * row)
        self.click(panel.export_btn)
        names = list(panel.bank.names)
        self.click(panel.remove_btn)  # the first direction (its edit goes with it)
        assert panel.bank.names == names[1:]
        self.click(panel.import_btn)  # the exported file: the removed direction comes back
        assert sorted(panel.bank.names) == sorted(names)
        self.click(panel.bank.reset_btn)
        self.drag(panel.bank.sliders[0], 60)

    def mixing_tab(self):
        w = self.window
        panel = w.mixing
        if not w.tabs.isTabEnabled(w.tabs.indexOf(panel)):
            return
        w.tabs.setCurrentWidget(panel)
        panel.rows.setText("1,2")
        self.choose_all(panel.preset, keep="coarse" if panel.preset.isEnabled() else "all")
        kinds = range(panel.col_kind.count()) if panel.col_kind.isVisible() and panel.col_kind.isEnabled() else [None]
        for kind in kinds:
            if kind is not None:
                self.combos_done.add(panel.col_kind)
                self.step(f"columns of {panel.col_kind.itemText(kind)}",
                          lambda k=kind: panel.col_kind.setCurrentIndex(k))
            if panel.col_kind.currentIndex() == 0:
                panel.cols.setText("3")
            self.click(panel.render_btn)
            assert panel.error.text() == "", panel.error.text()
            nr, nc = panel.mixing.grid.shape
            self.click_cell(panel.grid, nr - 1, nc - 1)
            assert w.latent.state == panel.mixing.grid.cell_state(nr - 1, nc - 1), "the mixing cell is not the image"
        if panel.col_kind.isVisible() and panel.col_kind.isEnabled():
            self.step("columns of seeds", lambda: panel.col_kind.setCurrentIndex(0))

    def breed_tab(self):
        w = self.window
        panel = w.breed
        w.tabs.setCurrentWidget(panel)
        self.choose_all(panel.size, keep="3 × 3")
        self.choose_all(panel.space)
        self.choose_all(panel.range.preset, keep="all")
        self.click(panel.grow_btn)
        child = panel.children[4]
        self.click_cell(panel.grid, 1, 1)  # more like this: the child is the image, the grid regrows
        assert w.latent.state == child and len(panel.children) == 9
        self.click(panel.add_current_btn)
        self.choose_all(panel.bookmark)
        self.click(panel.add_bookmark_btn)
        self.choose_all(panel.mode, keep="Blend by weight")
        self.click(panel.breed_btn)
        self.step("genes", lambda: panel.mode.setCurrentIndex(1))
        self.click(panel.breed_btn)
        self.click(panel.clear_btn)

    def interpolation_tab(self):
        w = self.window
        panel = w.interpolation
        w.tabs.setCurrentWidget(panel)
        buttons = {b.text(): b for b in panel.findChildren(QPushButton)}
        self.click(buttons["Add current"])
        self.step("seed + 2", lambda: w.latent_panel.seed.setValue(w.latent_panel.seed.value() + 2))
        self.click(buttons["Add current"])
        self.click(buttons["Add current"])
        panel.list.setCurrentRow(1)
        self.click(buttons["Up"])
        self.click(buttons["Down"])
        self.click(buttons["Delete"])
        panel.frames_per_segment.setValue(2)
        for combo in (panel.method, panel.space, panel.size):
            self.choose_all(combo)
        panel.loop.setChecked(True)
        if self.sync:
            self.click(panel.play_btn)
        else:
            self.click_cancel(panel.play_btn, panel.cancel_btn)
            self.click(panel.play_btn)
        assert panel.frames, "the played frames"
        self.click(panel.pause_btn)
        self.click(panel.pause_btn)
        panel.timer.stop()
        self.click(panel.export_btn)
        assert self.answers.saved[".gif"].exists()

    def channels_tab(self):
        w = self.window
        panel = w.channels_panel
        if not w.tabs.isTabEnabled(w.tabs.indexOf(panel)):
            return  # no StyleSpace (not a StyleGAN)
        w.tabs.setCurrentWidget(panel)
        self.choose_all(panel.part, keep="mouth")
        self.long_job(panel.job)  # stopped: cancelled (a ranking renders every channel of a few images)
        self.click(panel.bank.reset_btn)

    def reset_edits(self):
        w = self.window
        w.tabs.setCurrentWidget(w.w_panel)
        self.drag(w.w_panel.bank.sliders[0], 100)
        w.tabs.setCurrentWidget(w.z_panel)
        self.drag(w.z_panel.bank.sliders[0], 100)
        self.click(w.latent_panel.reset_edits_btn)  # both at once
        assert not w.latent.edited

    def pictures_tab(self):
        w = self.window
        panel = w.translate_panel
        w.tabs.setCurrentWidget(panel)
        self.choose_all(panel.direction)
        if panel.sample_btn.isEnabled():
            self.click(panel.sample_btn)
        panel.steps.setValue(panel.steps.minimum())  # a picture opened into a GAN is projected
        self.click(panel.open_btn, long=self.slow)  # translated, encoded or projected by what the model can
        if not panel.project_box.isVisible():
            return
        self.choose_all(panel.space)
        self.choose_all(panel.loss, keep="l2")
        panel.choose_crop.setChecked(True)
        accepted = []

        def accept_crop():
            dialog = QApplication.activeModalWidget()
            if isinstance(dialog, QDialog):
                accepted.append(type(dialog).__name__)
                dialog.accept()
            else:
                QTimer.singleShot(20, accept_crop)

        QTimer.singleShot(0, accept_crop)
        self.click(panel.project_btn, long=self.slow)  # (a short projection: waited for; Cancel below)
        assert accepted == ["CropDialog"], accepted
        panel.choose_crop.setChecked(False)
        if not self.sync:
            panel.steps.setValue(5000)
            self.click_cancel(panel.project_btn, panel.cancel_btn)

    def understand(self):
        w = self.window
        w.understand_dock.raise_()
        u = w.understand
        for index in range(u.count()):
            u.setCurrentIndex(index)
            self.settle()
            page = u.currentWidget()
            for button in page.findChildren(QToolButton):  # the "?" help buttons
                if button.isEnabled() and button.isVisible():
                    self.click(button)
                    if button.isCheckable() and button.isChecked():
                        self.click(button)
            if w.viewer.explorable:
                getattr(self, f"understand_{type(page).__name__}")(page)

    def long_job(self, job_bar):
        if self.sync:
            self.click(job_bar.run_btn, long=True)
        else:
            self.click_cancel(job_bar.run_btn, job_bar.cancel_btn)

    def understand_MapPanel(self, panel):
        panel.num.setValue(panel.num.minimum())
        self.choose_all(panel.space)
        self.choose_all(panel.method, keep="PCA")
        self.long_job(panel.job)  # stopped: cancelled
        if self.slow:
            self.choose_all(panel.view.color_combo)
            return
        if self.thorough:  # every other method, to its end
            for index in range(1, panel.method.count()):
                if panel.method.model().item(index).isEnabled():
                    self.step(f"map method {panel.method.itemText(index)}",
                              lambda i=index: panel.method.setCurrentIndex(i))
                    self.click(panel.job.run_btn)
                    assert panel.map is not None and panel.map.method == panel.method.currentData()
            self.step("map method PCA", lambda: panel.method.setCurrentIndex(0))
        self.click(panel.job.run_btn)  # and once to the end
        assert panel.map is not None
        self.choose_all(panel.view.color_combo)
        view = panel.view
        vb = view.plot.getViewBox()
        x, y = uncovered_point(view)
        point = view.plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
        started = len(self.handles)
        self.step("map point clicked", lambda: self.qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=point))
        assert any(type(h.job).__name__ == "MapPointLatent" for h in self.handles[started:]), \
            "the map click did nothing"
        assert self.window.latent.state.ws, "the map point's latent is not the image"

    def understand_LayersPanel(self, panel):
        lv = panel.layer_viewer
        assert lv.table.rowCount() > 0
        for row in (1, lv.table.rowCount() - 1):
            self.step(f"layer row {row}", lambda row=row: lv.table.selectRow(row))
        self.step("channel 0", lambda: lv.channel.setValue(0))
        self.step("dB", lambda: lv.db.setChecked(True))
        self.step("per channel", lambda: lv.per_channel.setChecked(False))
        self.click(lv.ablate_button)
        self.click(lv.reset_button)

    def understand_FactorsPanel(self, panel):
        panel.num.setValue(panel.num.minimum())
        self.long_job(panel.job)

    def understand_AttributePanel(self, panel):
        if self.slow:
            self.long_job(panel.job)
            return
        self.click(panel.job.run_btn)  # the button itself: its clicked(checked) must not be the count
        assert panel.samples is not None and panel.grid.cell_image(0, 0) is not None
        cols = panel.grid.cols
        for i in range(MIN_PER_CLASS):  # one click: has it
            self.click_cell(panel.grid, *divmod(i, cols))
        for i in range(MIN_PER_CLASS, 2 * MIN_PER_CLASS + 1):  # two clicks: has not
            self.click_cell(panel.grid, *divmod(i, cols))
            self.click_cell(panel.grid, *divmod(i, cols))
        self.click_cell(panel.grid, *divmod(2 * MIN_PER_CLASS, cols))  # three: unmarked
        assert len(panel.marks) == 2 * MIN_PER_CLASS, panel.marks
        panel.name.setText("mine")
        self.click(panel.fit_btn)
        assert "mine" in self.window.library_panel.bank.names, panel.status.text()

    def understand_MetricsPanel(self, panel):
        panel.num.setValue(panel.num.minimum())
        panel.metrics.setText("fd")
        self.long_job(panel.job)
        if self.thorough:
            panel.metrics.setText("fd,kid")
            self.click(panel.job.run_btn)
            assert panel.result is not None and "kid" in panel.text.toPlainText().lower(), panel.text.toPlainText()

    def bookmarks_edited(self):
        """Renamed in place (F2), removed with Delete: every list of bookmarks follows."""
        w, bookmarks = self.window, self.window.explorer.bookmarks
        w.latent_dock.raise_()
        lst = w.bookmarks_panel.list
        self.step("bookmark renamed", lambda: lst.item(0).setText("renamed"))
        assert bookmarks.name(0) == "renamed" and w.breed.bookmark.itemText(0) == "renamed"
        count = len(bookmarks)
        lst.setCurrentRow(count - 1)
        w.activateWindow()
        lst.setFocus()
        self.qtbot.waitUntil(lst.hasFocus)
        self.step("bookmark deleted", lambda: self.qtbot.keyClick(lst, Qt.Key_Delete))
        assert len(bookmarks) == count - 1

    def menus(self):
        w = self.window
        actions = {a.text().replace("&", ""): a for menu in w.menuBar().findChildren(QMenu) for a in menu.actions()}
        if w.viewer.explorable:  # saved with an edit; opened back after the seed moved on
            w.tabs.setCurrentWidget(w.w_panel)
            self.drag(w.w_panel.bank.sliders[0], 70)
            saved_state, saved_ws = w.latent.state, w.viewer.last_result.ws.copy()
            for text in ("Save image…", "×2 (Lanczos)", "×4 (Lanczos)", "×8 (Lanczos)", "Save latent…"):
                self.trigger(actions[text])
            seed = w.latent_panel.seed
            self.step("seed + 1", lambda: seed.setValue(seed.value() + 1))
            self.trigger(actions["Open…"])  # the exported PNG (×8): its state comes back
            assert w.latent.state == saved_state, "File > Open of an exported PNG did not restore its state"
            self.step("seed + 1", lambda: seed.setValue(seed.value() + 1))
            self.trigger(actions["Open latent…"])
            assert np.allclose(w.viewer.last_result.ws, saved_ws, atol=1e-6), "Open latent did not restore the latent"
        if actions["Copy image"].isEnabled():
            self.trigger(actions["Copy image"])
            assert not QApplication.clipboard().image().isNull()
        self.trigger(actions["Open…"])  # (a translation model: the picture it is given is translated)
        if w.viewer.explorable:
            self.drag(w.w_panel.bank.sliders[2], -60)
            for text in ("Undo", "Redo", "Reset edits", "Undo", "Undo", "Redo"):
                self.trigger(actions[text])
        for text in ("Latent", "Understand", "Perform", "Animate", "Parts", "Sliders", "Smooth scaling",
                     "Reopen the last model at start"):
            self.trigger(actions[text])  # off, and on again
            self.trigger(actions[text])
        self.trigger(actions["CPU"])
        self.trigger(actions["Full frames in bf16"])   # on (fp32 with a note where bf16 is not native), off
        self.trigger(actions["Full frames in bf16"])
        self.trigger(actions["About"])
        self.trigger(actions["Show log"])
        self.trigger(actions["Guide"])
        guide = w.guide
        assert guide.isVisible()
        self.qtbot.mouseClick(guide.close_button, Qt.LeftButton)
        assert not guide.isVisible()
        for _ in range(2):  # the watermark in exports: on, and off again (issue #30)
            self.trigger(actions["Invisible watermark in exports"])
        self.trigger(actions["Verify pictures…"])
        assert w.verify_dialog.isVisible()
        w.verify_dialog.close()
        self.trigger(actions["Open run…"])
        assert w.central.currentWidget() is w.train_page
        self.step("back to Explore", lambda: w.central.setCurrentWidget(w.view))
        for action in w.recent_menu.actions():
            self.trigger(action)
        skipped = (w.demo_menu, w.recent_menu)  # the demos are opened last; the recent list was rebuilt
        missing = [a.text() for menu in w.menuBar().findChildren(QMenu) if menu not in skipped and menu.isEnabled()
                   for a in menu.actions() if a.isEnabled() and not a.menu() and not a.isSeparator()
                   and a not in self.actions_done and a.text().replace("&", "") not in NOT_TRIGGERED]
        assert not missing, f"menu actions not triggered: {missing}"

    def demos(self):
        """Another model opened: no progress bar still tells of the previous model's jobs. The thorough
        walk opens every demo; the others one, of another kind than their own model."""
        w = self.window
        stem = Path(self.path).stem
        wanted = OTHER_DEMO.get(stem, "dcgan-faces32-glasses")
        for action in w.demo_menu.actions():
            if not (self.thorough or action.text() == wanted):
                continue
            self.trigger(action)
            w.tabs.setCurrentIndex(0)
            stale = [f"{describe(bar)} at {bar.value()}" for root in (w.slider_dock, w.understand_dock)
                     for bar in root.findChildren(QProgressBar) if bar.value() > bar.minimum()]
            assert not stale, f"after {action.text()}: progress bars of the previous model: {stale}"

    def coverage(self):
        missing = sorted(text for b, text in self.seen.items() if b not in self.clicked)
        assert not missing, f"enabled buttons never clicked: {missing}"
        missing = sorted(text for c, text in self.combos_seen.items() if c not in self.combos_done)
        assert not missing, f"enabled combo boxes whose entries were not all chosen: {missing}"


@pytest.mark.parametrize("path, sync", MODELS)
def test_every_control_clicked(path, sync, make_window, qtbot, tmp_path, monkeypatch):
    random.seed(0)  # the Random seed button
    records = ErrorRecords()
    logger = logging.getLogger("gan_explorer")
    logger.addHandler(records)
    try:
        if path == "cyclegan":
            path = str(tiny_cyclegan(tmp_path / "cyclegan_tiny.safetensors"))
        picture = tmp_path / "picture.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 56, 3), np.uint8)).save(picture)
        out = tmp_path / "out"
        out.mkdir()
        (tmp_path / "run").mkdir()
        answers = Answers(out, picture, tmp_path / "run")
        answers.install(monkeypatch)
        window = make_window(sync=sync)
        window.resize(1366, 768)
        window.show()
        walk = Walk(window, qtbot, path, answers)
        with qtbot.waitSignal(window.sigModelReady, timeout=JOB_TIMEOUT_MS):
            window.open_model(path)
        walk.settle()
        walk.check("open")
        if window.viewer.explorable:
            walk.latent_dock()
            walk.z_tab()
            walk.w_tab()
            walk.directions_tab()
            walk.library_tab()
            walk.mixing_tab()
            walk.breed_tab()
            walk.interpolation_tab()
            walk.channels_tab()
            walk.reset_edits()
        walk.pictures_tab()
        walk.understand()
        if window.viewer.explorable:
            walk.bookmarks_edited()
        walk.menus()
        walk.coverage()
        walk.demos()
        walk.settle()
        print(f"\n{Path(path).name} ({'sync' if sync else 'async'}): {len(walk.clicked)} buttons and actions "
              f"activated, {len(walk.combos_done)} combo boxes through every entry, {walk.steps} steps checked")
    finally:
        if "walk" in locals() and os.environ.get("EVERY_CONTROL_TIMES"):
            for seconds, name in sorted(walk.times, reverse=True)[:25]:
                print(f"{seconds:6.2f} s  {name}")
            print(f"{sum(t for t, _ in walk.times):6.2f} s in {len(walk.times)} steps")
        logger.removeHandler(records)
    errors = [f"{r.name}: {r.getMessage()}" for r in records.records if not expected(r.getMessage())]
    assert not errors, "ERROR records in the log:\n" + "\n".join(errors)
