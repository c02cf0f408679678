"""Errors the core raises for bad user input; each renders as one clear line."""

from __future__ import annotations

import os


class GanExplorerError(Exception):
    """Base class for errors caused by user input (files, values), not by bugs."""


class CheckpointError(GanExplorerError):
    """A model file that cannot be opened: names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ConfigError(GanExplorerError):
    """A configuration value that is out of range or of the wrong type."""
