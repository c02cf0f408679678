"""Turn what a dataset yields beside its images into the condition c a conditional model trains on.

`--condition class`: the dataset's class labels (first-level sub-folders of an image folder or
zip, or a built-in set's classes) become one-hot c. `--condition factors:glasses,smile`: the
procedural faces' ground-truth factors, the chosen ones in the order given, become c.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gan_explorer.core.errors import ConfigError, quote

MAX_CLASSES = 256  # sub-folders that become classes (a config holds at most 256 names)


def parse_condition_spec(spec: str) -> tuple[str, tuple[str, ...]]:
    """'' -> ('', ()); 'class' -> ('class', ()); 'factors:glasses,smile' -> ('factors', names).
    Factor names must be procedural-face factors, each once. One ConfigError line otherwise."""
    from gan_explorer.core.data.faces import FACTOR_NAMES

    spec = str(spec or "").strip()
    if not spec:
        return "", ()
    if spec == "class":
        return "class", ()
    kind, sep, rest = spec.partition(":")
    if kind != "factors" or not sep:
        raise ConfigError(f"--condition {quote(spec, 60)}: expected 'class' or 'factors:NAME,NAME' "
                          f"(e.g. factors:glasses,smile)")
    names = tuple(n.strip() for n in rest.split(",") if n.strip())
    if not names:
        raise ConfigError(f"--condition {quote(spec, 60)}: name at least one factor, e.g. factors:glasses")
    unknown = [n for n in names if n not in FACTOR_NAMES]
    if unknown:
        raise ConfigError(f"--condition: {quote(unknown[0], 40)} is not a faces factor "
                          f"(one of {', '.join(FACTOR_NAMES)})")
    if len(set(names)) != len(names):
        raise ConfigError(f"--condition {quote(spec, 60)}: a factor is named twice")
    return "factors", names


@dataclass(frozen=True)
class DatasetCondition:
    """How one dataset's labels become c, and the model config fields that describe c."""

    kind: str                   # 'class' or 'factors'
    names: tuple                # class names (sub-folders) or factor names
    factor_indices: tuple = ()  # where each chosen factor sits in the faces' factor vector

    @property
    def c_dim(self) -> int:
        return len(self.names)

    def model_fields(self) -> dict:
        """c_dim / c_kind / c_names for the model config."""
        return {"c_dim": self.c_dim, "c_kind": self.kind, "c_names": tuple(self.names)}

    def vectors(self, labels) -> torch.Tensor:
        """[n, c_dim] float32 from a batch's labels: class indices -> one-hot, factor rows -> chosen columns."""
        if self.kind == "class":
            labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
            return torch.nn.functional.one_hot(labels, self.c_dim).to(torch.float32)
        return torch.as_tensor(labels, dtype=torch.float32)[:, list(self.factor_indices)]


def dataset_condition(dataset, spec: str) -> DatasetCondition | None:
    """The condition `spec` asks for, checked against what `dataset` can give (None for '')."""
    from gan_explorer.core.data.faces import FACTOR_NAMES, FacesDataset

    kind, names = parse_condition_spec(spec)
    if not kind:
        return None
    name = getattr(dataset, "name", type(dataset).__name__)
    if kind == "factors":
        if not isinstance(dataset, FacesDataset):
            raise ConfigError(f"--condition {spec}: factors come with the procedural faces only "
                              f"(--data faces:64), not {name}")
        return DatasetCondition("factors", names, tuple(FACTOR_NAMES.index(n) for n in names))
    classes = tuple(str(c) for c in getattr(dataset, "class_names", ()) or ())
    if isinstance(dataset, FacesDataset) or len(classes) < 2:
        raise ConfigError(f"--condition class: {name} has {len(classes)} classes; a class-conditional model "
                          f"needs images in two or more sub-folders (one per class)")
    if len(classes) > MAX_CLASSES:
        raise ConfigError(f"--condition class: {name} has {len(classes)} sub-folders, more than {MAX_CLASSES} classes")
    # Class names become c_names: a name the config refuses (with '=' or ',') is shown by its index.
    usable = tuple(c if c.strip() and not any(ch in c for ch in "=,;\n") and len(c) <= 100 else f"class {i}"
                   for i, c in enumerate(classes))
    if len(set(usable)) != len(usable):
        usable = tuple(f"class {i}" for i in range(len(classes)))
    return DatasetCondition("class", usable)
