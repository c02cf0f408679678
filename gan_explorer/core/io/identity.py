"""One identity per model: what its per-model data is filed under and what its exports record.

A model opened from a file is that file: the sha256 of the file's bytes (`file_identity`), which
is what exported pictures have always recorded as `model.sha256`, so older exports still match.
A model made in memory (trained in the window, built by code) has no file: its identity is the
sha256 of its family, its config (fields at their defaults left out, so that a field a later
version adds keeps old models as they were) and every state tensor (`memory_identity`).

`model_identity(model, path)` is the one to call: given the file a model was opened from, it
remembers that file's identity on the model object, so the stores that only see the model (the
encoder's files, the exported-graph cache) file it under the same identity as those that see the
path (bookmarks, the direction library, provenance). The remembered identity is trusted until the
model is given another path: code that changes a model's weights in place and keeps using it as
the file's model is misnamed, as it would be by its file name.

Every store names its file by `identity_key(identity)` (its first 32 hex digits). Before issue
#25 each store had a hash of its own; `find_or_migrate` finds a file written under one of those
old names and moves it to the new one. The old names, store by store:

  bookmarks   bookmarks/<file sha256[:16]>.json, or, with no file hash, <sha1("<resolved path>|<size>")[:16]>.json
              (`legacy_bookmark_keys`)
  library     directions/<file sha256[:32]>.json: the same name as now (a file's identity is its sha256)
  encoder     <model stem>.encoder-<memory_identity[:16]>.safetensors beside the model, or
              encoders/<memory_identity[:16]>.safetensors in the data folder
  graphs      graphs/<sha256 of family, the whole config JSON, graph format, app version, tensors>/
              (`legacy_graph_key`)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Iterable

from gan_explorer.core.errors import OutputError
from gan_explorer.core.io.atomic import atomic_path

log = logging.getLogger("gan_explorer.identity")

KEY_LENGTH = 32          # hex digits of an identity in a file or folder name (128 bits)
_REMEMBERED = "_gan_explorer_identity"  # attribute on a model: (path, stat signature, identity)


def file_identity(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """sha256 (hex) of a model file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _config_identity(config) -> str:
    """The config as JSON without the fields at their defaults. A field added to a family's config
    later comes with a default that keeps existing models as they were (c_dim = 0 did), so it must
    not change their identity: with the whole JSON hashed, that one addition orphaned every encoder
    already trained (measured on the demo: same weights, another hash)."""
    data = json.loads(config.to_json())
    for field in dataclasses.fields(config):
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            continue
        try:
            same = json.dumps(data.get(field.name), sort_keys=True) == json.dumps(default, sort_keys=True)
        except TypeError:  # a default JSON cannot hold: keep the field
            same = False
        if same:
            data.pop(field.name, None)
    return json.dumps(data, sort_keys=True)


def _hash_tensors(digest, model) -> str:
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    return digest.hexdigest()


def memory_identity(model, known: str = "") -> str:
    """sha256 (hex) of the family, the config (fields off their defaults) and every state tensor:
    the identity of a model that has no file, and what an encoder records of the model it fits.
    `known`: model_identity(model) where the caller has it; for a model with no file remembered
    it is this very hash, which is then not computed again."""
    if known and getattr(model, _REMEMBERED, None) is None:
        return known
    digest = hashlib.sha256(f"{model.family}|{_config_identity(model.config)}".encode())
    return _hash_tensors(digest, model)


def _signature(path: Path) -> tuple:
    info = path.stat()
    return info.st_size, info.st_mtime_ns, info.st_ino


def model_identity(model, path: str | os.PathLike | None = None) -> str:
    """The identity of `model`: the sha256 of the file at `path` it was opened from (remembered on
    the model, so later calls without the path give it too), else the file identity remembered
    earlier, else its memory identity. A path that is not a file (a built-in name) is ignored."""
    if path is not None and Path(path).is_file():
        resolved = Path(path).resolve()
        signature = _signature(resolved)
        remembered = getattr(model, _REMEMBERED, None)
        if remembered is not None and remembered[:2] == (str(resolved), signature):
            return remembered[2]
        identity = file_identity(resolved)
        setattr(model, _REMEMBERED, (str(resolved), signature, identity))
        return identity
    remembered = getattr(model, _REMEMBERED, None)
    if remembered is not None:
        return remembered[2]
    return memory_identity(model)


def identity_key(identity: str) -> str:
    """The part of an identity a store's file or folder is named by."""
    key = str(identity)[:KEY_LENGTH].lower()
    if len(key) < KEY_LENGTH or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a model identity: {str(identity)[:80]!r}")
    return key


# --- the names stores used before one identity -----------------------------------------------------
def legacy_bookmark_keys(path: str | os.PathLike, identity: str = "") -> list[str]:
    """Bookmark file names (without .json) of earlier versions: the first 16 hex digits of the
    file's sha256, and a hash of the resolved path and the file's size (a model without one)."""
    keys = [identity[:16]] if identity else []
    resolved = Path(path).resolve()
    size = resolved.stat().st_size if resolved.exists() else 0
    keys.append(hashlib.sha1(f"{resolved}|{size}".encode()).hexdigest()[:16])
    return keys


def legacy_graph_key(model, graph_format: int) -> str:
    """The folder exported graphs were cached in: family, the whole config JSON, the graph format,
    the app's version and every tensor, hashed together."""
    import gan_explorer

    digest = hashlib.sha256(
        f"{model.family}|{model.config.to_json()}|{graph_format}|{gan_explorer.__version__}".encode())
    return _hash_tensors(digest, model)


def find_or_migrate(path: str | os.PathLike, legacy: Iterable[Path]) -> Path | None:
    """`path` where it exists; else the first of `legacy` (old names; a generator is only run this
    far) that exists, moved to `path` first: a file is copied through an atomic write and then
    removed, a folder renamed (atomic, both names sit in one folder). None where neither exists;
    an old path itself where it could not be moved (a read-only folder): it is read where it is."""
    path = Path(path)
    if path.exists():
        return path
    for old in legacy:
        old = Path(old)
        if old == path or not old.exists():
            continue
        try:
            if old.is_dir():
                os.replace(old, path)
            else:
                with atomic_path(path) as tmp:
                    shutil.copyfile(old, tmp)
                old.unlink(missing_ok=True)
        except (OSError, OutputError) as exc:  # a read-only folder, a full disk: read it where it is
            if path.exists():  # another process moved it meanwhile
                return path
            log.warning("could not move %s to %s (%s); reading it where it is", old, path, exc)
            return old
        log.info("moved %s to %s (one model identity, issue #25)", old, path)
        return path
    return None


__all__ = ["KEY_LENGTH", "file_identity", "find_or_migrate", "identity_key", "legacy_bookmark_keys",
           "legacy_graph_key", "memory_identity", "model_identity"]
