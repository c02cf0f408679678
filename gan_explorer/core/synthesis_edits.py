"""Edits of a latent state that act inside synthesis rather than on ws: StyleSpace channel edits
(`s_edits`), network bending (`bends`), a pivotal tuning of the weights (`tuning`) and a blended
network (`blend`).

Each kind has one applier: a context manager `apply(model, state)` that changes how `model`
synthesizes while it is open (forward hooks on the modules it edits, or weights swapped in) and
restores the model exactly when it closes. The Renderer enters `synthesis_edits(model, state)`
around every frame whose state has any of them, and renders such frames eagerly (the synthesis
cache and exported graphs do not see hooks). An applier whose model cannot take its edit raises
ConfigError with one line saying why.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

from gan_explorer.core.latent.state import LatentState


def has_synthesis_edits(state: LatentState) -> bool:
    return bool(state.s_edits or state.bends or state.tuning or state.blend)


def _appliers() -> tuple:
    """(state field, apply) pairs, in the order they wrap synthesis: the network first (blend,
    tuning), then what acts on its styles and features. Each feature module adds its line here."""
    from gan_explorer.core.latent.stylespace import apply_s_edits
    from gan_explorer.core.latent.tuning import apply as apply_tuning
    from gan_explorer.core.models.bend import apply_bends
    from gan_explorer.core.models.blend import apply_blend

    return (
        ("blend", apply_blend),
        ("tuning", apply_tuning),
        ("s_edits", apply_s_edits),
        ("bends", apply_bends),
    )


@contextmanager
def synthesis_edits(model, state: LatentState):
    """While open, `model.synthesize` renders `state`'s in-synthesis edits."""
    with ExitStack() as stack:
        if has_synthesis_edits(state):
            for field, apply in _appliers():
                if getattr(state, field):
                    stack.enter_context(apply(model, state))
            missing = [f for f in ("blend", "tuning", "s_edits", "bends")
                       if getattr(state, f) and f not in {name for name, _ in _appliers()}]
            if missing:
                from gan_explorer.core.errors import ConfigError

                raise ConfigError(f"this version cannot render a state with {', '.join(missing)}")
        yield
