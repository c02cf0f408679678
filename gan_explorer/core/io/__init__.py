"""File formats: our safetensors checkpoints, images, and (later) safe import of foreign models."""
