"""Offline quality metrics (FD, KID, precision/recall, density/coverage, PPL, memorisation) on
pluggable feature networks: the project's own (default), a random CNN, or Inception-v3 from a file."""
