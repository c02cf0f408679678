"""Families register themselves by decorator; a frozen app cannot resolve string imports."""

from __future__ import annotations

from gan_explorer.core.errors import ConfigError

_FAMILIES: dict[str, type] = {}


def register_family(cls):
    """Class decorator: make a model class available by its ``family`` name."""
    name = cls.family
    if name in _FAMILIES and _FAMILIES[name] is not cls:
        raise RuntimeError(f"model family {name!r} registered twice")
    _FAMILIES[name] = cls
    return cls


def family_names() -> list[str]:
    return sorted(_FAMILIES)


def get_family(name: str) -> type:
    try:
        return _FAMILIES[name]
    except KeyError:
        raise ConfigError(f"unknown model family {name!r} (known: {', '.join(family_names())})") from None


def build_model(family: str, config=None, **options):
    """A freshly initialised model of `family`; options override the family's defaults."""
    cls = get_family(family)
    if config is None:
        config = cls.config_class.from_dict(options)
    elif options:
        config = config.replace(**options)
    return cls(config)
