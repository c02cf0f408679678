"""Provenance of exported pictures: it lives in core/latent/provenance.py (latent files read it
too); the explorer's modules name it from here."""

from gan_explorer.core.latent.provenance import (  # noqa: F401
    GENERATED_NOTICE, MAX_PROVENANCE_BYTES, Provenance, decode_ws, encode_ws, export_metadata, parse_provenance,
    read_picture_provenance,
)
