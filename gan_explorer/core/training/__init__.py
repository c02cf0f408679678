"""Training: options, the run directory protocol, per-family losses, augmentation, the loop."""
