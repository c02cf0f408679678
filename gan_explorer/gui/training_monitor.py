"""The training workspace: launch `gan-explorer train` as a separate process (QProcess), or
attach to any run directory, and watch it live through the run-directory files."""

from __future__ import annotations

import shlex
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QProcess, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QListWidgetItem, QPlainTextEdit, QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget,
)

import pyqtgraph as pg

from gan_explorer.core.training.monitor import RunReader
from gan_explorer.core.training.options import AUGMENTS, FAMILIES
from gan_explorer.core.training.run_dir import RunDirectory
from gan_explorer.gui.widgets.slider_bank import QuietComboBox, QuietDoubleSpinBox, QuietSpinBox, quiet

POLL_MS = 500
GROUP_ORDER = ("Loss", "Metrics", "Augment", "Timing", "Guard")
HIDDEN_SERIES = {"Timing/total_sec"}  # grows without bound: it would flatten the other timing curves


def train_command(arguments: list[str]) -> list[str]:
    """How to call our own `train`: through the interpreter, or the frozen executable itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "train", *arguments]
    return [sys.executable, "-m", "gan_explorer", "train", *arguments]


class DatasetPreviewer(QObject):
    """Scans a dataset in a background thread (a big folder takes a while) and reports back."""

    sigReady = Signal(object)  # dict: spec, images or error, used, skipped

    def preview(self, spec: str, resolution: int):
        threading.Thread(target=self._run, args=(spec, resolution), daemon=True).start()

    def _run(self, spec, resolution):
        from gan_explorer.core.data import open_dataset, preview_images
        from gan_explorer.core.io.images import make_grid

        try:
            named_resolution = spec.startswith("faces:")  # faces:N carries its own resolution
            dataset = open_dataset(spec, None if named_resolution and not resolution else (resolution or 64))
            report = getattr(dataset, "report", None)
            grid = make_grid(preview_images(dataset, 16))
            self.sigReady.emit({"spec": spec, "grid": grid,
                                "used": report.used if report else None,
                                "skipped": [f"{n}: {r}" for n, r in report.skipped] if report else []})
        except Exception as exc:
            self.sigReady.emit({"spec": spec, "error": str(exc)})


class RunState:
    """One run in the list: its reader, its process (if launched here), its log and curves."""

    def __init__(self, path: str):
        self.path = path
        self.reader = RunReader(path)
        self.launched_at: float | None = None
        self.seen_active = False
        self.log: list[str] = []
        self._log_offset = 0
        self.series: dict[str, tuple[list, list]] = {}
        self.metrics_label = ""  # e.g. "FD/KID (gan_explorer features)": what the metrics were measured on

    def read_log(self) -> list[str]:
        """New lines of RUN/log.txt (the output of a run launched from the window)."""
        path = Path(self.path) / "log.txt"
        try:
            with open(path, "rb") as f:
                f.seek(self._log_offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        self._log_offset += end
        lines = [l for l in data[:end].decode(errors="replace").replace("\r", "\n").splitlines() if l.strip()]
        self.log.extend(lines)
        return lines

    def add_metrics(self, lines):
        """Quality measured at snapshots: the `Metrics/*` values of metrics.jsonl lines, by kimg."""
        for line in lines:
            x = line.get("Progress/kimg")
            for key, value in line.items():
                if key.startswith("Metrics/") and isinstance(value, (int, float)):
                    xs, ys = self.series.setdefault(key, ([], []))
                    xs.append(x)
                    ys.append(float(value))
            if line.get("label"):
                self.metrics_label = str(line["label"])

    def add_stats(self, records, reset=False):
        if reset:
            self.series.clear()
            self.add_metrics(self.reader.metrics)  # kept: they are not in stats.jsonl
        for record in records:
            x = record.get("Progress/kimg")
            for key, value in record.items():
                if "/" not in key or key.startswith("Progress/") or key in HIDDEN_SERIES \
                        or not isinstance(value, (int, float)):
                    continue
                xs, ys = self.series.setdefault(key, ([], []))
                xs.append(x)
                ys.append(float(value))


class QuietPlots(pg.GraphicsLayoutWidget):
    """Plots that zoom with the wheel only once clicked: scrolling the Train page over them scrolls
    the page instead of zooming a curve."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setFocusPolicy(Qt.ClickFocus)

    def wheelEvent(self, event):
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class TrainingWorkspace(QWidget):
    sigExplore = Signal(str)       # a snapshot to open in the explorer
    sigRunUpdated = Signal(str)    # a run's files were read (tests wait on it)
    sigRunEnded = Signal(str, str)  # path, status

    def __init__(self, settings: QSettings | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings or QSettings("gan_explorer", "gan_explorer")
        self.runs: dict[str, RunState] = {}
        self.current: RunState | None = None
        self.previewer = DatasetPreviewer()
        self.previewer.sigReady.connect(self._on_preview)
        self._build()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.timer.start(POLL_MS)
        for path in self.settings.value("runs", []) or []:
            if Path(path).is_dir():
                self.attach(path)

    # ----- layout ---------------------------------------------------------------------------
    def _build(self):
        splitter = QSplitter(Qt.Horizontal, self)
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)

        form_widget = QWidget()
        form = QFormLayout(form_widget)
        self.family = quiet(QuietComboBox())
        self.family.addItems(FAMILIES)
        self.family.setCurrentText("dcgan")
        self.data = QLineEdit("faces:64")
        self.data_b = QLineEdit()
        self.data_b.setPlaceholderText("second domain (cyclegan)")
        browse = QPushButton("Folder…")
        browse.clicked.connect(lambda: self._browse(self.data))
        row = QHBoxLayout()
        row.addWidget(self.data, 1)
        row.addWidget(browse)
        form.addRow("Family", self.family)
        form.addRow("Data", row)
        form.addRow("Data B", self.data_b)
        self.resolution, self.batch = quiet(QuietSpinBox()), quiet(QuietSpinBox())
        self.resolution.setRange(0, 1024)
        self.resolution.setSpecialValueText("auto")
        self.batch.setRange(0, 4096)
        self.batch.setSpecialValueText("auto")
        self.kimg = quiet(QuietDoubleSpinBox())
        self.kimg.setRange(0, 100000)
        self.kimg.setDecimals(3)
        self.kimg.setSpecialValueText("auto")
        self.augment = quiet(QuietComboBox())
        self.augment.addItems(AUGMENTS)
        self.device = quiet(QuietComboBox())
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.extra = QLineEdit()
        self.extra.setPlaceholderText("more options, e.g. --tick-kimg 1 --model-option channel_max=128")
        self.extra.setToolTip("More `gan-explorer train` options, split as a shell would (quote paths with spaces)")
        self.run_dir = QLineEdit(str(Path.home() / "gan_explorer_runs" / "run"))
        run_browse = QPushButton("…")
        run_browse.clicked.connect(lambda: self._browse(self.run_dir))
        row = QHBoxLayout()
        row.addWidget(self.run_dir, 1)
        row.addWidget(run_browse)
        for label, widget in (("Resolution", self.resolution), ("Batch", self.batch), ("Length (kimg)", self.kimg),
                              ("Augmentation", self.augment), ("Device", self.device), ("Options", self.extra)):
            form.addRow(label, widget)
        form.addRow("Run directory", row)
        buttons = QHBoxLayout()
        self.preview_btn, self.launch_btn = QPushButton("Preview data"), QPushButton("Launch")
        self.preview_btn.clicked.connect(self.preview_data)
        self.launch_btn.clicked.connect(self.launch)
        buttons.addWidget(self.preview_btn)
        buttons.addWidget(self.launch_btn)
        form.addRow(buttons)
        self.preview_label = QLabel("")
        self.preview_label.setWordWrap(True)
        self.preview_image = QLabel()
        form.addRow(self.preview_label)
        form.addRow(self.preview_image)
        form.addRow(QLabel("Runs"))
        self.run_list = QListWidget()
        self.run_list.currentItemChanged.connect(self._select)
        form.addRow(self.run_list)
        open_run = QPushButton("Open run…")
        open_run.clicked.connect(self._open_run_dialog)
        form.addRow(open_run)
        splitter.addWidget(form_widget)

        monitor = QWidget()
        m = QVBoxLayout(monitor)
        top = QHBoxLayout()
        self.status_label = QLabel("no run selected")
        self.status_label.setWordWrap(True)
        top.addWidget(self.status_label, 1)
        self.growth_label = QLabel("")  # a progressive run's resolution and fade-in
        self.growth_label.setToolTip("Progressive growing: the resolution being trained and the fade-in of its "
                                     "newest layers (alpha 0 -> 1)")
        self.growth_label.hide()
        top.addWidget(self.growth_label)
        self.stop_btn, self.pause_btn = QPushButton("Stop"), QPushButton("Pause")
        self.resume_btn, self.explore_btn = QPushButton("Resume run"), QPushButton("Explore latest snapshot")
        self.stop_btn.clicked.connect(self.stop)
        self.pause_btn.clicked.connect(self.toggle_pause)
        self.resume_btn.clicked.connect(self.resume)
        self.explore_btn.clicked.connect(self.explore)
        for b in (self.stop_btn, self.pause_btn, self.resume_btn, self.explore_btn):
            top.addWidget(b)
        m.addLayout(top)
        self.progress = QProgressBar()
        m.addWidget(self.progress)
        controls = QHBoxLayout()
        self.smoothing = quiet(QuietDoubleSpinBox())
        self.smoothing.setRange(0, 0.99)
        self.smoothing.setSingleStep(0.1)
        self.smoothing.setValue(0.6)
        self.log_y = QCheckBox("log y")
        self.compare = quiet(QuietComboBox())
        self.compare.addItem("compare with: —", "")
        controls.addWidget(QLabel("smoothing"))
        controls.addWidget(self.smoothing)
        controls.addWidget(self.log_y)
        controls.addWidget(self.compare, 1)
        self.smoothing.valueChanged.connect(lambda _: self.redraw())
        self.log_y.toggled.connect(lambda _: self.redraw())
        self.compare.currentIndexChanged.connect(lambda _: self.redraw())
        m.addLayout(controls)
        inner = QSplitter(Qt.Vertical)
        self.plots = QuietPlots()
        self.plots.setBackground("w")
        inner.addWidget(self.plots)
        bottom = QSplitter(Qt.Horizontal)
        self.samples = QLabel("samples appear here")
        self.samples.setAlignment(Qt.AlignCenter)
        self.samples.setMinimumSize(200, 200)
        self.events = QListWidget()
        self.events.setToolTip("Double-click a snapshot event to explore that snapshot")
        self.events.itemDoubleClicked.connect(self._event_activated)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        bottom.addWidget(self.samples)
        bottom.addWidget(self.events)
        bottom.addWidget(self.log)
        inner.addWidget(bottom)
        m.addWidget(inner, 1)
        splitter.addWidget(monitor)
        splitter.setSizes([360, 900])
        self._update_buttons(None)
        self.plot_items: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}

    def _browse(self, line_edit):
        path = QFileDialog.getExistingDirectory(self, "Choose a folder", line_edit.text())
        if path:
            line_edit.setText(path)

    def _open_run_dialog(self):
        path = QFileDialog.getExistingDirectory(self, "Open run directory")
        if path:
            self.attach(path)

    # ----- dataset preview -----------------------------------------------------------------
    def preview_data(self):
        self.preview_label.setText("Reading the dataset…")
        self.previewer.preview(self.data.text().strip(), self.resolution.value())

    def _on_preview(self, payload):
        from gan_explorer.gui.widgets.image_view import array_to_qimage

        if "error" in payload:
            self.preview_label.setText(f"Cannot use this dataset: {payload['error']}")
            self.preview_image.clear()
            return
        used = payload["used"]
        text = "procedural faces (endless)" if used is None else f"{used} readable images, {len(payload['skipped'])} skipped"
        if payload["skipped"]:
            text += ": " + "; ".join(payload["skipped"][:3])
        self.preview_label.setText(text)
        self.preview_image.setPixmap(QPixmap.fromImage(array_to_qimage(payload["grid"])).scaled(
            256, 256, Qt.KeepAspectRatio, Qt.SmoothTransformation))

    # ----- launching and controlling runs ---------------------------------------------------
    def form_arguments(self) -> list[str]:
        args = ["--family", self.family.currentText(), "--data", self.data.text().strip(),
                "--run-dir", self.run_dir.text().strip(), "--augment", self.augment.currentText(),
                "--device", self.device.currentText(), "--no-progress"]
        if self.data_b.text().strip():
            args += ["--data-b", self.data_b.text().strip()]
        for flag, value in (("--resolution", self.resolution.value()), ("--batch", self.batch.value()),
                            ("--kimg", self.kimg.value())):
            if value:
                args += [flag, str(value)]
        try:
            args += shlex.split(self.extra.text())
        except ValueError as exc:
            raise ValueError(f"Options {self.extra.text()!r}: {exc}") from None
        return args

    def launch(self, arguments: list[str] | None = None) -> RunState:
        """Start `gan-explorer train` as its own process. It is detached, so it keeps training
        when the window closes; its output goes to RUN/log.txt, which the monitor tails."""
        if not isinstance(arguments, list):  # the button's clicked(bool) passes a bool
            try:
                arguments = self.form_arguments()
            except ValueError as exc:
                self.status_label.setText(str(exc))
                return None
        path = str(Path(arguments[arguments.index("--run-dir") + 1]).resolve())
        run = self.attach(path)
        if run.reader.status() in ("running", "paused"):
            self.status_label.setText(f"{path} is already training")
            return run
        Path(path).mkdir(parents=True, exist_ok=True)
        log = Path(path) / "log.txt"
        command = train_command(arguments)
        with open(log, "a") as f:
            f.write("$ " + " ".join(command) + "\n")
        process = QProcess(self)
        process.setProgram(command[0])
        process.setArguments(command[1:])
        process.setStandardOutputFile(str(log), QProcess.Append)
        process.setStandardErrorFile(str(log), QProcess.Append)
        if not process.startDetached():
            self.status_label.setText(f"Could not start {command[0]}")
            return run
        run.launched_at = time.time()
        run.seen_active = False
        self._poll_run(run)
        return run

    def resume(self):
        if self.current is not None:
            self.launch(["--run-dir", self.current.path, "--device", self.device.currentText(), "--no-progress"])

    def stop(self):
        if self.current is not None:
            RunDirectory(self.current.path).request_stop()
            self.status_label.setText(f"Stopping {self.current.path} (a final snapshot is being written)…")

    def toggle_pause(self):
        if self.current is None:
            return
        run_dir = RunDirectory(self.current.path)
        paused = run_dir.pause_requested()
        run_dir.set_paused(not paused)
        self.pause_btn.setText("Pause" if paused else "Continue")

    def explore(self, path=None):
        snapshot = path or (self.current.reader.latest_snapshot() if self.current else None)
        if snapshot:
            self.sigExplore.emit(str(snapshot))

    # ----- attaching and watching -----------------------------------------------------------
    def attach(self, path) -> RunState:
        path = str(Path(path).resolve())
        if path in self.runs:
            run = self.runs[path]
        else:
            run = RunState(path)
            self.runs[path] = run
            item = QListWidgetItem(Path(path).name)
            item.setData(Qt.UserRole, path)
            item.setToolTip(path)
            self.run_list.addItem(item)
            self.compare.addItem(f"compare with: {Path(path).name}", path)
            self.settings.setValue("runs", list(self.runs))
        for i in range(self.run_list.count()):
            if self.run_list.item(i).data(Qt.UserRole) == path:
                self.run_list.setCurrentRow(i)
        self._poll_run(run)
        return run

    def _select(self, item, _previous=None):
        if item is None:
            return
        self.current = self.runs[item.data(Qt.UserRole)]
        self.events.clear()
        for event in self.current.reader.events:
            self._add_event(event)
        self._show_log(self.current)
        self.redraw()
        self._update_status(self.current)

    def _show_log(self, run):
        if run is self.current:
            self.log.setPlainText("\n".join(run.log[-2000:]))

    def poll(self):
        for run in list(self.runs.values()):
            self._poll_run(run)

    def _poll_run(self, run):
        before = len(run.reader.stats)
        stats, events = run.reader.poll()
        lines = run.read_log()
        if lines and run is self.current:
            for line in lines:
                self.log.appendPlainText(line)
        reset = len(run.reader.stats) < before + len(stats)  # the file was rewritten (resume)
        run.add_stats(stats if not reset else run.reader.stats, reset=reset)
        metrics = run.reader.poll_metrics()
        run.add_metrics(metrics)
        stats = stats or metrics  # new metric points redraw the curves like new stats do
        if run is self.current:
            for event in events:
                self._add_event(event)
            if stats:
                self.redraw()
            if stats or events:
                self._update_status(run)
        for event in events:
            if event.get("event") in ("finished", "aborted", "error"):
                self.sigRunEnded.emit(run.path, event["event"])
        self._update_item(run)
        if run is self.current:
            self._update_buttons(run)
        if stats or events or lines:
            self.sigRunUpdated.emit(run.path)

    def _add_event(self, event):
        kind = event.get("event", "?")
        detail = {k: v for k, v in event.items() if k not in ("event", "timestamp", "traceback")}
        text = f"{time.strftime('%H:%M:%S', time.localtime(event.get('timestamp', 0)))}  {kind}  " + \
            ", ".join(f"{k}={v}" for k, v in detail.items())[:300]
        item = QListWidgetItem(text)
        if event.get("snapshot"):
            item.setData(Qt.UserRole, event["snapshot"])
        if kind == "error":
            item.setForeground(Qt.red)
        self.events.addItem(item)
        self.events.scrollToBottom()

    def run_status(self, run) -> str:
        status = run.reader.status()
        if status in ("running", "paused"):
            run.seen_active = True
        # Between launch and the process taking the lock (imports take seconds) it is starting.
        if status == "stopped" and run.launched_at and not run.seen_active and time.time() - run.launched_at < 60:
            ended = any(e.get("event") in ("finished", "aborted", "error") and e.get("timestamp", 0) >= run.launched_at
                        for e in run.reader.events)
            if not ended:
                return "starting"
        return status

    def _event_activated(self, item):
        name = item.data(Qt.UserRole)
        if name and self.current is not None:
            self.explore(str(Path(self.current.path) / name))

    def _update_item(self, run):
        status = self.run_status(run)
        for i in range(self.run_list.count()):
            item = self.run_list.item(i)
            if item.data(Qt.UserRole) == run.path:
                item.setText(f"{Path(run.path).name}  [{status}]")

    def _update_status(self, run):
        status = self.run_status(run)
        options = run.reader.options()
        last = run.reader.stats[-1] if run.reader.stats else {}
        kimg, total = last.get("Progress/kimg", 0.0), options.get("kimg", 0) or 0
        text = f"{Path(run.path).name}: {status}, {kimg:.3f} / {total:g} kimg"
        if last.get("Timing/sec_per_kimg") and total and status == "running":
            eta = (total - kimg) * last["Timing/sec_per_kimg"]
            text += f", ETA {int(eta // 3600)}h{int(eta % 3600 // 60):02d}m{int(eta % 60):02d}s"
        error = run.reader.last_error()
        if status == "error" and error:
            text += f"\nError: {error}"
            if run.log:
                text += "\n" + "\n".join(run.log[-5:])
        self.status_label.setText(text)
        growth = growth_text(run.reader.growth())
        self.growth_label.setText(growth)
        self.growth_label.setVisible(bool(growth))
        self.progress.setMaximum(1000)
        self.progress.setValue(int(1000 * min(kimg / total, 1)) if total else 0)
        self.pause_btn.setText("Continue" if run.reader.run.pause_requested() else "Pause")
        samples = run.reader.latest_samples()
        if samples is not None:
            pixmap = QPixmap(str(samples))
            if not pixmap.isNull():
                self.samples.setPixmap(pixmap.scaled(320, 320, Qt.KeepAspectRatio, Qt.SmoothTransformation))
        self._update_buttons(run)

    def _update_buttons(self, run):
        """Buttons that would do nothing in the run's state are disabled."""
        status = self.run_status(run) if run is not None else ""
        active = status in ("running", "paused", "starting")
        self.stop_btn.setEnabled(active)
        self.pause_btn.setEnabled(status in ("running", "paused"))
        self.resume_btn.setEnabled(run is not None and not active and status != "finished")
        self.explore_btn.setEnabled(run is not None and run.reader.latest_snapshot() is not None)

    # ----- curves ------------------------------------------------------------------------------
    def redraw(self):
        if self.current is None:
            return
        series = self.current.series
        other_path = self.compare.currentData()
        other = self.runs.get(other_path) if other_path and other_path != self.current.path else None
        groups = sorted({k.split("/")[0] for k in series},
                        key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else 99, g))
        if list(self.plot_items) != groups:
            self.plots.clear()
            self.plot_items, self.curves = {}, {}
            for i, group in enumerate(groups):
                title = f"{group}: {self.current.metrics_label}" if group == "Metrics" and \
                    self.current.metrics_label else group
                plot = self.plots.addPlot(row=i, col=0, title=title)
                plot.addLegend(offset=(-10, 10))
                plot.showGrid(x=True, y=True, alpha=0.3)
                plot.setDownsampling(auto=True, mode="peak")
                plot.setClipToView(True)
                self.plot_items[group] = plot
        alpha = self.smoothing.value()
        for i, (key, (xs, ys)) in enumerate(sorted(series.items())):
            group = key.split("/")[0]
            plot = self.plot_items[group]
            plot.setLogMode(y=self.log_y.isChecked())
            curve = self.curves.get(key)
            if curve is None:
                curve = plot.plot(name=key[len(group) + 1:], pen=pg.mkPen(pg.intColor(i, hues=9), width=1.5))
                self.curves[key] = curve
            y = smooth(ys, alpha)
            if self.log_y.isChecked():
                y = np.where(y > 0, y, np.nan)
            curve.setData(np.asarray(xs, float), y, connect="finite")
            ghost_key = "compare:" + key
            if other is not None and key in other.series:
                ghost = self.curves.get(ghost_key)
                if ghost is None:
                    ghost = plot.plot(pen=pg.mkPen(pg.intColor(i, hues=9), width=1, style=Qt.DashLine))
                    self.curves[ghost_key] = ghost
                oxs, oys = other.series[key]
                ghost.setData(np.asarray(oxs, float), smooth(oys, alpha))
            elif ghost_key in self.curves:
                self.curves[ghost_key].setData([], [])

    def curve_points(self, key: str) -> int:
        curve = self.curves.get(key)
        if curve is None or curve.xData is None:
            return 0
        return len(curve.xData)

    def shutdown(self):
        """Launched runs are detached: they keep training and are reattached next time."""
        self.timer.stop()


def growth_text(growth: dict | None) -> str:
    """'resolution 16 px, fade-in alpha 0.42' (or 'resolution 32 px, stable') for a progressive run."""
    if not growth:
        return ""
    if growth.get("phase") == "fade-in":
        return f"resolution {growth['resolution']} px, fade-in alpha {growth['alpha']:.2f}"
    return f"resolution {growth['resolution']} px, stable"


def smooth(values, alpha: float) -> np.ndarray:
    """Exponential moving average (TensorBoard-style), alpha in [0, 1)."""
    values = np.asarray(values, dtype=float)
    if alpha <= 0 or len(values) == 0:
        return values
    out = np.empty_like(values)
    acc = values[0]
    for i, v in enumerate(values):
        acc = alpha * acc + (1 - alpha) * v
        out[i] = acc
    return out


