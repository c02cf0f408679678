"""Sub-commands that live in modules of their own (one per feature area).

Each module exposes ``register(subparsers)``, which adds its parser(s) and sets ``func``.
They are imported explicitly here (not by name strings) so a frozen executable sees them.
"""

from __future__ import annotations

from gan_explorer.commands import animate as animate_command
from gan_explorer.commands import drag as drag_command
from gan_explorer.commands import map as map_command
from gan_explorer.commands import parts as parts_command
from gan_explorer.commands import metrics as metrics_command
from gan_explorer.commands import probe as probe_command
from gan_explorer.commands import project as project_command
from gan_explorer.commands import verify as verify_command

# One line each, in the order `gan-explorer --help` lists them.
COMMAND_MODULES: tuple = (
    map_command,
    probe_command,
    metrics_command,
    project_command,
    animate_command,
    drag_command,
    verify_command,
    parts_command,
)


def register_all(subparsers) -> None:
    for module in COMMAND_MODULES:
        module.register(subparsers)
