"""gan_explorer: explore and train generative image models.

The desktop studio is `gan-explorer` (or `python -m gan_explorer`); from Python the same models are
reached through `gan_explorer.api`, whose names are here too:

    import gan_explorer as gx
    m = gx.open("model.pkl")
    img = m.render(seed=3, psi=0.7)

They are imported on first use, so `import gan_explorer` stays light (no torch until `gx.open`).
"""

__version__ = "0.1.0"

_API_NAMES = ("open", "Model", "Directions")


def __getattr__(name):
    if name in _API_NAMES:
        import importlib

        return getattr(importlib.import_module("gan_explorer.api"), name)
    raise AttributeError(f"module 'gan_explorer' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_API_NAMES})
