"""gan_explorer: explore and train generative image models."""

__version__ = "0.1.0"
