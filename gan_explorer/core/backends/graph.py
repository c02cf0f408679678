"""Exported graphs: StyleGAN2 mapping + synthesis as ONNX, run by ONNX Runtime or OpenVINO.

The synthesis is exported in its activation-scaling form (styles scale the input channels,
one convolution with the shared kernel, demodulation coefficients scale the outputs), which
an exporter can write with constant kernels; the per-layer noise images are graph inputs, so
'const', 'none' and 'random' (drawn in eager's order from the same generator) all match eager.
Graphs are cached in the user's cache folder, per model identity (core/io/identity.py), graph
format and app version; a folder an earlier version named by its own hash is found and renamed.

A cached graph is not trusted: each file is written atomically, graph.json (written last, and
atomically) records the sha256 of both graphs, and a load checks those hashes and then renders one
image through the graphs and eagerly and compares them. A missing, truncated, cut or planted file
fails one of these checks, and the graphs are exported again (once; a fresh export that still
disagrees with eager is an ExportError: the model renders eagerly, saying why).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

import gan_explorer
from gan_explorer.core.io.atomic import atomic_path, atomic_write_text
from gan_explorer.core.io.identity import find_or_migrate, identity_key, legacy_graph_key, model_identity
from gan_explorer.core.models import stylegan as stylegan_module

GRAPH_FORMAT = 1  # bump when the exported graph changes, so stale cached graphs are not reused
ENGINES = ("openvino", "onnxruntime")
GRAPH_FILES = ("mapping.onnx", "synthesis.onnx")
MAX_INFO_BYTES = 1 << 20  # graph.json is a few hundred bytes
# How far a loaded graph may be from eager on one image (outputs in [-1, 1]) and on its ws (relative
# to their size) before it is exported again: a sound graph is within 1e-4, a planted one off by ~1.
AGREEMENT_ATOL = 1e-2

log = logging.getLogger("gan_explorer.backends")


class ExportError(RuntimeError):
    """A model that cannot be exported (its family, or the exporter failed): render eagerly."""


def cache_dir() -> Path:
    """$GAN_EXPLORER_CACHE, else $XDG_CACHE_HOME/gan_explorer, else ~/.cache/gan_explorer."""
    explicit = os.environ.get("GAN_EXPLORER_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gan_explorer"


def graph_key(model) -> str:
    """The name of `model`'s graph folder: what the graphs depend on, its identity (weights and
    config), the graph format and the app's version (an exporter or importer change comes with one)."""
    return f"{identity_key(model_identity(model))}-g{GRAPH_FORMAT}-{gan_explorer.__version__}"


model_content_hash = graph_key  # the name backends exports (before #25, a hash of its own)


def _legacy_folders(model, graphs: Path):
    """The folder an earlier version cached this model's graphs in; only hashed for where a folder
    with such a name (64 hex digits) is there at all."""
    if graphs.is_dir() and any(len(p.name) == 64 and p.is_dir() for p in graphs.iterdir()):
        yield graphs / legacy_graph_key(model, GRAPH_FORMAT)


def engine_available(engine: str) -> bool:
    try:
        if engine == "openvino":
            import openvino  # noqa: F401
        elif engine == "onnxruntime":
            import onnxruntime  # noqa: F401
        else:
            return False
    except Exception:  # a broken install is as good as none
        return False
    return True


@contextlib.contextmanager
def _export_form():
    """The plain activation-scaling form with NCHW activations: what the exporter writes."""
    saved = dict(stylegan_module.RENDER_OPTIONS)
    stylegan_module.RENDER_OPTIONS.update(channels_last=False, fold_batch1=False)
    try:
        yield
    finally:
        stylegan_module.RENDER_OPTIONS.update(saved)


class _SynthesisGraph(nn.Module):
    def __init__(self, synthesis):
        super().__init__()
        self.synthesis = synthesis
        self.steps = [k for k, _ in synthesis.noise_layers()]

    def forward(self, ws, *noises):
        return self.synthesis.run(ws, noises=dict(zip(self.steps, noises)))


class _MappingGraph(nn.Module):
    def __init__(self, mapping):
        super().__init__()
        self.mapping = mapping

    def forward(self, z, c=None):
        return self.mapping(z, c=c)  # psi = 1: truncation acts on ws afterwards, in torch


def _check_exportable(model):
    if getattr(model, "family", None) != "stylegan":
        raise ExportError(f"the {getattr(model, 'family', type(model).__name__)} family has no exported graph")
    if next(model.parameters()).device.type != "cpu":
        raise ExportError("exported graphs run on the CPU; the model is on "
                          f"{next(model.parameters()).device}")


def noise_inputs(model, n, noise_mode="const", noise_generator=None):
    """The per-layer noise images [n, 1, H, W] that eager synthesis would use, in its order."""
    out = []
    for _, layer in model.synthesis.noise_layers():
        noise = stylegan_module.make_noise(noise_mode, layer.noise_const, n, noise_generator)
        if noise is None:
            noise = torch.zeros_like(layer.noise_const)
        out.append(noise.expand(n, 1, *layer.noise_const.shape).contiguous())
    return out


def export_graphs(model, folder: Path) -> dict:
    """Write mapping.onnx and synthesis.onnx (dynamic batch) into `folder`; returns their inputs."""
    _check_exportable(model)
    folder.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    n = 2
    z = model.sample_z(n, 0)
    ws = model.map(z).detach()
    mapping_args, mapping_inputs = (z,), ["z"]
    if model.c_dim:  # a conditional network's class or factors are a second input of the mapping graph
        mapping_args, mapping_inputs = (z, model.conditioning.default_vector()[None].repeat(n, 1)), ["z", "c"]
    noises = noise_inputs(model, n)
    synthesis_inputs = ["ws"] + [f"noise{i}" for i in range(len(noises))]
    t0 = time.perf_counter()
    with torch.no_grad(), _export_form(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, module, args, inputs in [("mapping", _MappingGraph(model.mapping), mapping_args, mapping_inputs),
                                           ("synthesis", _SynthesisGraph(model.synthesis), (ws, *noises),
                                            synthesis_inputs)]:
            with atomic_path(folder / f"{name}.onnx") as tmp:  # its own temporary, renamed when whole
                try:
                    torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=["out"],
                                      dynamic_axes={k: {0: "batch"} for k in inputs + ["out"]},
                                      opset_version=17, dynamo=False)
                except Exception as exc:
                    raise ExportError(f"could not export the {name} network: "
                                      f"{(str(exc).strip().splitlines() or [type(exc).__name__])[0]}") from exc
    info = {"format": GRAPH_FORMAT, "synthesis_inputs": synthesis_inputs, "export_s": time.perf_counter() - t0,
            "sha256": {name: file_sha256(folder / name) for name in GRAPH_FILES}}
    atomic_write_text(folder / "graph.json", json.dumps(info))  # last: it vouches for the files above
    return info


def _open_regular(path: Path) -> int:
    """A read descriptor of a regular file (a FIFO or a device planted in the cache never blocks)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path}: not a regular file")
    return fd


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with os.fdopen(_open_regular(path), "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_small_json(path: Path, limit: int = MAX_INFO_BYTES):
    """A small JSON file of the cache (graph.json, a choice file); OSError or ValueError otherwise."""
    with os.fdopen(_open_regular(path), "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path.name}: larger than {limit} bytes")
    return json.loads(data)


def graph_info(folder: Path) -> dict | None:
    """graph.json where it is whole and the graphs beside it are the files it vouches for
    (their sha256); None where anything is missing, cut, damaged or different."""
    try:
        info = read_small_json(folder / "graph.json")
        if not (isinstance(info, dict) and info.get("format") == GRAPH_FORMAT and isinstance(info.get("sha256"), dict)
                and isinstance(info.get("synthesis_inputs"), list)
                and all(isinstance(name, str) for name in info["synthesis_inputs"])):
            return None
        if any(info["sha256"].get(name) != file_sha256(folder / name) for name in GRAPH_FILES):
            return None
    except (OSError, ValueError, RecursionError):
        return None
    return info


def _graphs(model, root: Path | None = None, rebuild: bool = False) -> tuple[Path, dict]:
    """(folder, graph.json) of this model's exported graphs: exported the first time, and again
    where the cached ones fail their hashes (or `rebuild`)."""
    _check_exportable(model)
    graphs = Path(root or cache_dir()) / "graphs"
    folder = graphs / graph_key(model)
    folder = find_or_migrate(folder, _legacy_folders(model, graphs)) or folder
    info = None if rebuild else graph_info(folder)
    if info is None:
        if not rebuild and (folder / "graph.json").exists():
            log.warning("cached graphs in %s do not match their record: exporting them again", folder)
        export_graphs(model, folder)
        info = graph_info(folder)
        if info is None:
            raise ExportError(f"{folder}: the graphs just exported do not match their record (another process "
                              f"writing the same cache?)")
    return folder, info


def cached_graphs(model, root: Path | None = None) -> Path:
    """The folder with this model's exported graphs, exporting them the first time (and again
    where a cached graph's hash is not the one recorded when it was exported)."""
    return _graphs(model, root)[0]


class GraphMismatch(ExportError):
    """Graphs that load but do not render what eager renders."""


class _Session:
    """One ONNX file compiled by an engine: run(dict of numpy arrays) -> first output."""

    def __init__(self, engine: str, path: Path, threads: int):
        self.engine = engine
        if engine == "onnxruntime":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        elif engine == "openvino":
            import openvino as ov

            core = ov.Core()
            config = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads,
                      "PERFORMANCE_HINT": "LATENCY"}
            self._compiled = core.compile_model(str(path), "CPU", config)
            self._request = self._compiled.create_infer_request()
        else:
            raise ExportError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")

    def run(self, feeds: dict) -> np.ndarray:
        if self.engine == "onnxruntime":
            return self._session.run(None, feeds)[0]
        self._request.infer(feeds)
        return self._request.get_output_tensor(0).data.copy()


class GraphRenderer:
    """Renders a StyleGAN2 model through its exported graphs on `engine`; a .synthesize()
    with eager's signature and results (within 1e-4), on the CPU."""

    def __init__(self, model, engine: str, root: Path | None = None, threads: int | None = None):
        if not engine_available(engine):
            raise ExportError(f"{engine} is not installed (pip install 'gan-explorer[fast]')")
        self.model = model
        self.engine = engine
        self.name = engine
        self.reason = ""  # as EagerRenderer's: nothing fell back
        threads = threads or torch.get_num_threads()
        self.folder, info = _graphs(model, root)
        try:
            self._load(info, threads)
        except Exception as exc:  # a graph that passed its hashes yet fails: export it again, once
            log.warning("cached graphs in %s failed their check (%s): exporting them again", self.folder,
                        (str(exc).strip().splitlines() or [type(exc).__name__])[0])
            self.folder, info = _graphs(model, root, rebuild=True)
            self._load(info, threads)

    def _load(self, info: dict, threads: int):
        self._synthesis_inputs = info["synthesis_inputs"]
        self._mapping = _Session(self.engine, self.folder / "mapping.onnx", threads)
        self._synthesis = _Session(self.engine, self.folder / "synthesis.onnx", threads)
        self._check_agreement()

    def _check_agreement(self):
        """One image (and its ws) through the graphs and eagerly: GraphMismatch unless they agree."""
        model = self.model
        with torch.no_grad():
            z = model.sample_z(1, 0)
            ws = model.map(z)
            ws_graph = self.map(z)
            image = model.synthesize(ws, "const")
            image_graph = self.synthesize(ws, "const")
        for what, graph, eager, scale in (("mapping", ws_graph, ws, max(1.0, float(ws.abs().max()))),
                                          ("synthesis", image_graph, image, 1.0)):
            if graph.shape != eager.shape:
                raise GraphMismatch(f"the {what} graph gives {tuple(graph.shape)}, eager {tuple(eager.shape)}")
            diff = float((graph.to(eager.dtype) - eager).abs().max())
            if not diff <= AGREEMENT_ATOL * scale:  # NaN fails too
                raise GraphMismatch(f"the {what} graph differs from eager by {diff:.3g} on one image")

    def map(self, z, truncation_psi=1.0, truncation_cutoff=None, c=None):
        from gan_explorer.core.latent.ops import truncate

        feeds = {"z": z.detach().to(torch.float32).cpu().numpy()}
        if self.model.c_dim:
            if c is None:
                c = self.model.conditioning.default_vector()[None].expand(len(z), -1)
            feeds["c"] = c.detach().to(torch.float32).cpu().numpy()
        ws = torch.from_numpy(self._mapping.run(feeds))
        return truncate(ws, self.model.w_avg, truncation_psi, truncation_cutoff)

    def synthesize(self, ws, noise_mode="const", noise_generator=None, max_resolution=None):
        if max_resolution is not None and max_resolution < self.model.img_resolution:
            return self.model.synthesize(ws, noise_mode, noise_generator, max_resolution=max_resolution)
        self.model.synthesis.check_ws(ws)
        if noise_mode not in stylegan_module.NOISE_MODES:
            raise ValueError(f"noise_mode={noise_mode!r}: must be one of {', '.join(stylegan_module.NOISE_MODES)}")
        n = ws.shape[0]
        noises = noise_inputs(self.model, n, noise_mode, noise_generator)
        feeds = {"ws": ws.detach().to(torch.float32).cpu().numpy()}
        feeds.update({name: noise.numpy() for name, noise in zip(self._synthesis_inputs[1:], noises)})
        return torch.from_numpy(self._synthesis.run(feeds))
