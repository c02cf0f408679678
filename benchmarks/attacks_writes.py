"""Replay the write-side attacks of issue #26 in temporary folders and print a table.

    python benchmarks/attacks_writes.py            # every case
    python benchmarks/attacks_writes.py --verbose  # and what each case saw

Classes:
  overwrite   files outside the output are overwritten or deleted: symbolic and hard links at a
              destination, a linked control folder, a user's `.*.tmp*` file in a run directory,
              FIFOs where an output goes
  lost        a failed bookmark or library write raises out (no message) or loses the item; one
              bad thumbnail empties the bookmarks
  graph       the graph cache trusts its contents: a planted, truncated or cut file is used (or
              leaves the app on eager for good) instead of being rebuilt

A case "held" when the user's file is untouched (same bytes, still there), nothing hung, and
the app said one line or did the right thing. Each case runs in its own temporary folder; the
user's home is never touched (HOME, the XDG folders and GAN_EXPLORER_DATA point into one).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

_HOME = tempfile.mkdtemp(prefix="gan_explorer-attacks-home-")
for _name, _sub in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                    ("XDG_CACHE_HOME", ".cache"), ("GAN_EXPLORER_DATA", ".local/share/gan_explorer"),
                    ("GAN_EXPLORER_CACHE", ".cache/gan_explorer")):
    os.environ[_name] = os.path.join(_HOME, _sub) if _sub else _HOME
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gan_explorer.core.errors import GanExplorerError  # noqa: E402

PRECIOUS = b"the user's thesis, not to be touched\n"
CASE_TIMEOUT_S = 20
CASES = []


def case(cls: str, name: str):
    def register(fn):
        CASES.append((cls, name, fn))
        return fn
    return register


class Hung(Exception):
    pass


def _alarm(signum, frame):
    raise Hung(f"still blocked after {CASE_TIMEOUT_S} s")


def user_file(folder: Path, name: str = "thesis.docx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(PRECIOUS)
    return path


def intact(path: Path) -> bool:
    return path.is_file() and path.read_bytes() == PRECIOUS


def cli(*argv) -> tuple[int, str]:
    from gan_explorer.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:
            rc = exc.code
    return rc, (err.getvalue().strip().splitlines() or [""])[-1]


_MODEL = {}


def tiny_model_file(root: Path) -> Path:
    """A tiny StyleGAN2 file, made once."""
    if "path" not in _MODEL:
        path = Path(_HOME) / "tiny.safetensors"
        rc, line = cli("new", "--family", "stylegan", "--resolution", "16", "--option", "channel_max=32",
                       "--option", "z_dim=32", "--option", "w_dim=32", "--option", "mapping_layers=2",
                       "--out", path)
        assert rc == 0, line
        _MODEL["path"] = path
    return _MODEL["path"]


def run_dir_with(tmp: Path, name: str, link_to: Path | None = None) -> Path:
    run = tmp / "run"
    run.mkdir()
    if link_to is not None:
        os.symlink(link_to, run / name)
    return run


# --- Files outside the output are overwritten or deleted ------------------------------------------

@case("overwrite", "train: .lock a symlink to a user's file")
def _(tmp):
    from gan_explorer.core.training.run_dir import RunDirectory

    target = user_file(tmp / "home")
    run = RunDirectory(run_dir_with(tmp, ".lock", target))
    try:
        run.acquire()
        run.release()
    except GanExplorerError as exc:
        return intact(target), f"refused: {exc}"
    return intact(target), "acquired"


@case("overwrite", "train: .lock a hard link to a user's file")
def _(tmp):
    from gan_explorer.core.training.run_dir import RunDirectory

    target = user_file(tmp / "home")
    run = tmp / "run"
    run.mkdir()
    os.link(target, run / ".lock")
    try:
        RunDirectory(run).acquire()
    except GanExplorerError as exc:
        return intact(target), f"refused: {exc}"
    return intact(target), "acquired"


@case("overwrite", "train: .lock a FIFO")
def _(tmp):
    from gan_explorer.core.training.run_dir import RunDirectory

    run = tmp / "run"
    run.mkdir()
    os.mkfifo(run / ".lock")
    try:
        RunDirectory(run).acquire()
    except GanExplorerError as exc:
        return True, f"refused: {exc}"
    return False, "acquired a FIFO as its lock"


@case("overwrite", "train: a user's .thesis.docx.tmp (and .notes.tmp.txt) in --run-dir")
def _(tmp):
    from gan_explorer.core.training.run_dir import RunDirectory

    run = tmp / "run"
    files = [user_file(run, ".thesis.docx.tmp"), user_file(run, ".notes.tmp.txt"),
             user_file(run, ".options.json.tmp")]
    RunDirectory(run).acquire()
    gone = [p.name for p in files if not intact(p)]
    return not gone, f"deleted {gone}" if gone else "kept"


@case("overwrite", "train: control/ a link to a user folder holding `stop`")
def _(tmp):
    from gan_explorer.core.training.run_dir import RunDirectory

    stop = user_file(tmp / "home", "stop")
    run = RunDirectory(run_dir_with(tmp, "control", stop.parent))
    try:
        run.acquire()
    except GanExplorerError as exc:
        return intact(stop), f"refused: {exc}"
    honoured = run.stop_requested()
    if honoured:
        run.clear_stop()
    return intact(stop) and not honoured, f"stop honoured={honoured}, user's stop kept={intact(stop)}"


@case("overwrite", "window Stop/Pause: control/ a link to a user folder")
def _(tmp):
    from gan_explorer.core.training.run_dir import RunDirectory

    home = tmp / "home"
    home.mkdir()
    run = RunDirectory(run_dir_with(tmp, "control", home), writer=False)
    said = ""
    for action in (run.request_stop, lambda: run.set_paused(True)):
        try:
            action()
        except GanExplorerError as exc:
            said = str(exc)
    made = sorted(p.name for p in home.iterdir())
    return not made, f"made {made} in the user's folder" if made else f"refused: {said}"


def _append_attack(tmp, name, write):
    from gan_explorer.core.training.run_dir import RunDirectory

    target = user_file(tmp / "home")
    run = RunDirectory(run_dir_with(tmp, name, target))
    try:
        write(run)
    except GanExplorerError as exc:
        return intact(target), f"refused: {exc}"
    return intact(target), "appended"


@case("overwrite", "train: events.jsonl a symlink")
def _(tmp):
    return _append_attack(tmp, "events.jsonl", lambda run: run.event("started"))


@case("overwrite", "train: stats.jsonl a symlink")
def _(tmp):
    return _append_attack(tmp, "stats.jsonl", lambda run: run.append_stats({"Progress/tick": 1}))


@case("overwrite", "train --metrics: metrics.jsonl a symlink")
def _(tmp):
    from gan_explorer.core.metrics.evaluate import record_metrics

    result = {"features": "x", "label": "x", "num": 1, "data": "x", "metrics": ["fd"], "seconds": {"total_sec": 0}}
    return _append_attack(tmp, "metrics.jsonl", lambda run: record_metrics(run, result, 1.0, None))


@case("overwrite", "train: events.jsonl a hard link")
def _(tmp):
    from gan_explorer.core.training.run_dir import RunDirectory

    target = user_file(tmp / "home")
    run = tmp / "run"
    run.mkdir()
    os.link(target, run / "events.jsonl")
    try:
        RunDirectory(run).event("started")
    except GanExplorerError as exc:
        return intact(target), f"refused: {exc}"
    return intact(target), "appended"


@case("overwrite", "train: training-state-prev.pt kept through the user's exact temp name")
def _(tmp):
    from gan_explorer.core.training.run_dir import RunDirectory

    run = RunDirectory(tmp / "run")
    run.acquire()
    run.save_state({"trainer": {}, "cur_nimg": 0, "tick": 0, "total_sec": 0, "rollbacks": 0, "rng": {}})
    mine = user_file(run.path, f".training-state-prev.pt.{os.getpid()}.tmp")
    run.save_state({"trainer": {}, "cur_nimg": 1, "tick": 1, "total_sec": 0, "rollbacks": 0, "rng": {}})
    return intact(mine), "kept" if intact(mine) else "deleted a file the project did not make"


@case("overwrite", "window Train: log.txt a symlink")
def _(tmp):
    from gan_explorer.core.training.monitor import RunState

    target = user_file(tmp / "home")
    run = run_dir_with(tmp, "log.txt", target)
    state = RunState(run)
    try:
        said = state.launch(["--help"])
    except GanExplorerError as exc:
        said = f"refused: {exc}"
    if state.process is not None:
        state.process.wait(60)
    return intact(target), said or "launched"


def _picture(tmp):
    from PIL import Image

    path = tmp / "face.png"
    Image.new("RGB", (16, 16), "gray").save(path)
    return path


def _bench_without_running_one():
    import gan_explorer.bench as bench

    bench.run_benchmark = lambda name, quick=False, fixture=None: {"name": name, "ms": 1.0}  # the write is the case


PROJECT = ["--steps", "2", "--loss", "l2", "--encoder", "none", "--no-progress", "--device", "cpu"]


def _project(*extra):
    return lambda t: ["project", tiny_model_file(t), _picture(t), "--out", t / "latent.npy", *extra, *PROJECT]


def _faces(t):
    return ["dataset", "faces", "--count", "2", "--resolution", "16", "--out", t / "faces"]


# (what, the output planted, kind, the command line given the temporary folder)
CLI_OUTPUTS = [
    ("project --noise optimize: OUT.noise.npz", "latent.noise.npz", "symlink", _project("--noise", "optimize")),
    ("project --noise optimize: OUT.noise.npz", "latent.noise.npz", "FIFO", _project("--noise", "optimize")),
    ("project: --out latent.npy", "latent.npy", "symlink", _project()),
    ("metrics --json", "m.json", "symlink",
     lambda t: ["metrics", tiny_model_file(t), "--data", "faces:16", "--num", "8", "--metrics", "fd", "--features",
                "random", "--no-cache", "--no-progress", "--device", "cpu", "--json", t / "m.json"]),
    ("bench --json", "b.json", "symlink",
     lambda t: _bench_without_running_one() or ["bench", "synthesis", "--quick", "--json", t / "b.json"]),
    ("dataset faces --out FOLDER: factors.json in it", "faces/factors.json", "symlink", _faces),
    ("dataset faces --out FOLDER: img00000000.png in it", "faces/img00000000.png", "symlink", _faces),
    ("dataset faces --out FOLDER: factors.csv in it", "faces/factors.csv", "FIFO", _faces),
    ("generate --out", "g.png", "symlink",
     lambda t: ["generate", tiny_model_file(t), "--seeds", "1", "--out", t / "g.png"]),
]


def _cli_output_attack(planted, kind, argv):
    """A link to a user's file (held: untouched) or a FIFO (held: one line, no hang) where a command writes."""
    def run(tmp):
        target = user_file(tmp / "home")
        dest = tmp / planted
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, dest) if kind == "symlink" else os.mkfifo(dest)
        rc, line = cli(*argv(tmp))
        return (intact(target) if kind == "symlink" else rc == 2), f"rc {rc}: {line}"
    return run


for _what, _planted, _kind, _argv in CLI_OUTPUTS:
    case("overwrite", f"{_what} a {_kind}")(_cli_output_attack(_planted, _kind, _argv))


@case("overwrite", "video export: PNG frames into a link to a user's empty folder")
def _(tmp):
    from gan_explorer.core.io.video import export_frames

    home = tmp / "home"
    home.mkdir()
    os.symlink(home, tmp / "frames")
    try:
        export_frames([np.zeros((8, 8, 3), np.uint8)] * 2, tmp / "frames", fps=10)
    except GanExplorerError as exc:
        return not list(home.iterdir()), f"refused: {exc}"
    return not list(home.iterdir()), f"wrote {sorted(p.name for p in home.iterdir())}"


@case("overwrite", "direction library Export onto a symlink")
def _(tmp):
    from gan_explorer.core.latent.library import DirectionLibrary

    target = user_file(tmp / "home")
    os.symlink(target, tmp / "lib.json")
    library = DirectionLibrary("ab" * 32, 4, tmp / "data")
    try:
        library.export(tmp / "lib.json")
    except GanExplorerError as exc:
        return intact(target), f"refused: {exc}"
    return intact(target), "exported"


@case("overwrite", "graph cache: choice-*.json a symlink")
def _(tmp):
    from gan_explorer.core import backends

    if not [e for e in backends.ENGINES if backends.engine_available(e)]:
        return None, "no inference engine installed"
    model = _tiny_stylegan()
    target = user_file(tmp / "home")
    folder = backends.cached_graphs(model, tmp / "cache")
    os.symlink(target, folder / f"choice-{torch.get_num_threads()}threads.json")
    backends.open_renderer(model, "auto", cache_root=tmp / "cache")
    return intact(target), "kept" if intact(target) else "written through"


# --- Lost without a word ---------------------------------------------------------------------------

class _Viewer:
    def __init__(self):
        from gan_explorer.core.explorer.events import EventGroup

        self.events = EventGroup("model_opened")


class _Latent:
    def __init__(self):
        from gan_explorer.core.explorer.state import LatentState

        self.state = LatentState(seed=7)
        self.cleared = []

    def clear_offsets(self, prefix):
        self.cleared.append(prefix)


def _info(content_hash="cd" * 32, w_dim=4):
    from gan_explorer.core.explorer.requests import ModelInfo

    return ModelInfo(token=1, path="/models/m.safetensors", family="stylegan", img_resolution=16, img_channels=3,
                     parameters=1, capabilities={}, provenance={}, config={}, content_hash=content_hash,
                     w_dim=w_dim, num_ws=4)


def _bookmarks(tmp):
    from gan_explorer.core.explorer.collections import BookmarksModel

    model = BookmarksModel(_Viewer(), _Latent(), tmp / "data")
    messages = []
    model.events.message.connect(messages.append)
    model._model_opened(_info())
    return model, messages


def _lost_bookmark(tmp, break_it, fix_it, action="add"):
    model, messages = _bookmarks(tmp)
    model.add("first")
    break_it(model.store.path)
    try:
        if action == "add":
            model.add("second")
        elif action == "rename":
            model.rename(0, "renamed")
        else:
            model.remove(0)
    except Exception as exc:  # out of the slot: what the window would lose
        return False, f"raised {type(exc).__name__}: {exc}"
    kept = len(model) == (2 if action == "add" else 1 if action == "rename" else 0)
    fix_it(model.store.path)
    if action == "add":
        model.add("third")
    elif action == "rename":
        model.rename(0, "renamed")
    else:
        model.add("third")
    from gan_explorer.core.explorer.bookmarks import Bookmarks

    again = Bookmarks("/models/m.safetensors", tmp / "data", _info().content_hash)
    names = [again.name(i) for i in range(len(again.items))]
    expected = {"add": ["first", "second", "third"], "rename": ["renamed"], "remove": ["third"]}[action]
    held = kept and len(messages) >= 1 and "\n" not in messages[-1] and names == expected
    return held, f"messages {messages[-1:]}, after a retry the file holds {names}"


def _link_it(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    target = path.parent.parent / "elsewhere.json"
    target.write_bytes(PRECIOUS)
    os.symlink(target, path)


def _unlink_it(path):
    path.unlink()


def _unwritable(path):
    """Root ignores permissions: the folder becomes a file where the folder should be."""
    folder = path.parent
    saved = path.read_bytes()
    path.unlink()
    folder.rmdir()
    folder.write_bytes(saved)


def _writable(path):
    saved = path.parent.read_bytes()
    path.parent.unlink()
    path.parent.mkdir()
    path.write_bytes(saved)


@case("lost", "bookmark Add: the bookmarks file a symlink")
def _(tmp):
    return _lost_bookmark(tmp, _link_it, _unlink_it)


@case("lost", "bookmark Add: the bookmarks folder unwritable")
def _(tmp):
    return _lost_bookmark(tmp, _unwritable, _writable)


@case("lost", "bookmark Rename: the bookmarks file a symlink")
def _(tmp):
    return _lost_bookmark(tmp, _link_it, _unlink_it, "rename")


@case("lost", "bookmark Remove: the bookmarks folder unwritable")
def _(tmp):
    return _lost_bookmark(tmp, _unwritable, _writable, "remove")


@case("lost", "bookmarks: a damaged file that cannot be set aside, then Add")
def _(tmp):
    from gan_explorer.core.explorer.collections import BookmarksModel

    first, _ = _bookmarks(tmp)
    first.add("old")
    path = first.store.path
    path.write_text("{damaged")
    real_replace = os.replace
    os.replace = lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "Permission denied"))
    try:
        model = BookmarksModel(_Viewer(), _Latent(), tmp / "data")
        messages = []
        model.events.message.connect(messages.append)
        model._model_opened(_info())
    finally:
        os.replace = real_replace
    try:
        model.add("new")
    except Exception as exc:
        return False, f"raised {type(exc).__name__}: {exc}"
    return path.read_text() == "{damaged" and len(model) == 1, f"messages {messages[-1:]}"


@case("lost", "bookmarks: one thumbnail not valid base64")
def _(tmp):
    import base64
    import json

    model, _ = _bookmarks(tmp)
    model.add("good", b"\x89PNG fake")
    model.add("bad", b"\x89PNG fake")
    data = json.loads(model.store.path.read_text())
    data["bookmarks"][1]["thumbnail"] = "not*base64!"
    model.store.path.write_text(json.dumps(data))
    model2, messages = _bookmarks(tmp)
    try:
        shown = [(model2.name(i), model2.thumbnail(i)) for i in range(len(model2))]
    except Exception as exc:
        return False, f"the panel's refresh raised {type(exc).__name__}: {exc}"
    good = shown == [("good", base64.b64decode(base64.b64encode(b"\x89PNG fake"))), ("bad", b"")]
    return good and len(messages) == 1, f"shown {[s[0] for s in shown]}, messages {messages}"


def _directions(tmp):
    from gan_explorer.core.explorer.directions import DirectionsModel

    model = DirectionsModel(_Viewer(), _Latent(), tmp / "data")
    messages = []
    model.events.message.connect(messages.append)
    model._model_opened(_info())
    return model, messages


@case("lost", "library Save direction: the library file a symlink")
def _(tmp):
    model, messages = _directions(tmp)
    model.save("one", np.ones(4), 1.0, (0, -1))
    _link_it(model.library.path)
    try:
        model.save("two", np.arange(4) + 1.0, 1.0, (0, -1))
    except Exception as exc:
        return False, f"raised {type(exc).__name__}: {exc}"
    kept = model.library.names() == ["one", "two"]
    _unlink_it(model.library.path)
    model.save("three", -np.ones(4), 1.0, (0, -1))
    from gan_explorer.core.latent.library import DirectionLibrary

    names = DirectionLibrary(_info().content_hash, 4, tmp / "data").names()
    return kept and names == ["one", "two", "three"], f"messages {messages[-1:]}, after a retry {names}"


@case("lost", "library Remove: the library folder unwritable")
def _(tmp):
    model, messages = _directions(tmp)
    model.save("one", np.ones(4), 1.0, (0, -1))
    _unwritable(model.library.path)
    try:
        model.remove("one")
    except Exception as exc:
        return False, f"raised {type(exc).__name__}: {exc}"
    return bool(messages) and "\n" not in messages[-1], f"messages {messages[-1:]}"


@case("lost", "library Export... to a folder")
def _(tmp):
    model, messages = _directions(tmp)
    model.save("one", np.ones(4), 1.0, (0, -1))
    (tmp / "folder").mkdir()
    try:
        model.export_file(tmp / "folder")
    except Exception as exc:
        return False, f"raised {type(exc).__name__}: {exc}"
    return "folder" in messages[-1] and "Exported" not in messages[-1], f"messages {messages[-1:]}"


@case("lost", "library Import... while the library cannot be saved")
def _(tmp):
    model, messages = _directions(tmp)
    model.save("one", np.ones(4), 1.0, (0, -1))
    exported = tmp / "exported.json"
    model.export_file(exported)
    other, other_messages = _directions(tmp / "other")
    _link_it(other.library.path)
    changed = []
    other.events.library_changed.connect(changed.append)
    try:
        other.import_file(exported)
    except Exception as exc:
        return False, f"raised {type(exc).__name__}: {exc}"
    said = other_messages[-1:] if other_messages else []
    return other.library.names() == ["one"] and bool(changed) and bool(said), \
        f"messages {said}, in the list {other.library.names()}, list refreshed {bool(changed)}"


# --- The graph cache trusts its contents ------------------------------------------------------------

def _tiny_stylegan():
    from gan_explorer.core.models import build_model

    torch.manual_seed(0)
    model = build_model("stylegan", z_dim=32, w_dim=32, img_resolution=16, channel_base=512, channel_max=32,
                        mapping_layers=2)
    with torch.no_grad():
        for layer in model.modules():
            if hasattr(layer, "noise_strength"):
                layer.noise_strength.fill_(0.3)
    return model.eval()


def _graph_attack(tmp, damage):
    from gan_explorer.core import backends

    engines = [e for e in backends.ENGINES if backends.engine_available(e)]
    if not engines:
        return None, "no inference engine installed"
    model = _tiny_stylegan()
    folder = backends.cached_graphs(model, tmp)
    damage(model, folder)
    try:
        renderer = backends.GraphRenderer(model, engines[0], root=tmp)
    except Exception as exc:
        renderer = backends.EagerRenderer(model, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    with torch.no_grad():
        ws = model.map(model.z_from_seeds([3]))
        eager = model.synthesize(ws, "const")
        got = renderer.synthesize(ws, "const")
    diff = float((got - eager).abs().max())
    held = renderer.name != "eager" and diff <= 1e-3
    return held, f"renders on {renderer.name}, max |graph - eager| {diff:.3g}" + (
        f" ({renderer.reason[:120]})" if renderer.name == "eager" else "")


class _Constant(torch.nn.Module):
    def forward(self, ws, *noises):
        used = sum(n.mean(dim=(1, 2, 3)) for n in noises) + ws.mean(dim=(1, 2))  # every input stays an input
        return torch.zeros(ws.shape[0], 3, 16, 16) + used[:, None, None, None] * 0 + 0.99


def _plant(model, folder, update_record=False):
    import json

    inputs = json.loads((folder / "graph.json").read_text())["synthesis_inputs"]
    from gan_explorer.core.backends.graph import noise_inputs

    noises = noise_inputs(model, 2)
    torch.onnx.export(_Constant(), (torch.zeros(2, model.num_ws, model.w_dim), *noises),
                      str(folder / "synthesis.onnx"), input_names=inputs, output_names=["out"],
                      dynamic_axes={k: {0: "batch"} for k in inputs + ["out"]}, opset_version=17, dynamo=False)
    if update_record:  # the planter also rewrites the record of the file's hash, where there is one
        import hashlib

        info = json.loads((folder / "graph.json").read_text())
        for key in ("sha256", "files"):
            if isinstance(info.get(key), dict) and "synthesis.onnx" in info[key]:
                info[key]["synthesis.onnx"] = hashlib.sha256((folder / "synthesis.onnx").read_bytes()).hexdigest()
        (folder / "graph.json").write_text(json.dumps(info))


@case("graph", "a planted constant-image synthesis.onnx")
def _(tmp):
    return _graph_attack(tmp, _plant)


@case("graph", "a planted synthesis.onnx with its hash rewritten in graph.json")
def _(tmp):
    return _graph_attack(tmp, lambda m, f: _plant(m, f, update_record=True))


@case("graph", "a truncated synthesis.onnx")
def _(tmp):
    def truncate(model, folder):
        data = (folder / "synthesis.onnx").read_bytes()
        (folder / "synthesis.onnx").write_bytes(data[: len(data) // 2])
    return _graph_attack(tmp, truncate)


@case("graph", "graph.json cut mid-write")
def _(tmp):
    def cut(model, folder):
        data = (folder / "graph.json").read_bytes()
        (folder / "graph.json").write_bytes(data[: len(data) // 2])
    return _graph_attack(tmp, cut)


@case("graph", "a truncated mapping.onnx")
def _(tmp):
    def truncate(model, folder):
        data = (folder / "mapping.onnx").read_bytes()
        (folder / "mapping.onnx").write_bytes(data[:100])
    return _graph_attack(tmp, truncate)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print what each case saw")
    parser.add_argument("--only", default="", help="run only the cases of this class")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    warnings.simplefilter("ignore")  # the planted graphs use torch's legacy exporter, as export_graphs does
    rows = []
    for cls, name, fn in CASES:
        if args.only and cls != args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="attack-") as folder:
            signal.alarm(CASE_TIMEOUT_S)
            try:
                held, note = fn(Path(folder))
            except Hung as exc:
                held, note = False, f"hung: {exc}"
            except Exception as exc:
                held, note = False, f"{type(exc).__name__}: {str(exc)[:200]}"
                if args.verbose:
                    traceback.print_exc()
            finally:
                signal.alarm(0)
        rows.append((cls, name, held, note))
        if args.verbose:
            print(f"[{'held' if held else 'skipped' if held is None else 'BROKE'}] {cls}: {name}: {note}",
                  flush=True)
    print()
    print("| class | tried | held |")
    print("|---|---|---|")
    for cls in dict.fromkeys(r[0] for r in rows):
        mine = [r for r in rows if r[0] == cls and r[2] is not None]
        print(f"| {cls} | {len(mine)} | {sum(bool(r[2]) for r in mine)} |")
    tried = [r for r in rows if r[2] is not None]
    print(f"| all | {len(tried)} | {sum(bool(r[2]) for r in tried)} |")
    broke = [r for r in tried if not r[2]]
    if broke:
        print("\nbroke:")
        for cls, name, _, note in broke:
            print(f"  {cls}: {name}: {note[:300]}")
    return 0 if not broke else 1


if __name__ == "__main__":
    sys.exit(main())
