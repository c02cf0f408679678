"""Slider-to-frame latency; same as `gan-explorer bench latency`."""

import sys

from gan_explorer.bench import run_benchmark

if __name__ == "__main__":
    run_benchmark("latency", quick="--quick" in sys.argv)
