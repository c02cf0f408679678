"""Training-monitor curve redraw with 100k points; same as `gan-explorer bench curves`."""

import sys

from gan_explorer.bench import run_benchmark

if __name__ == "__main__":
    run_benchmark("curves", quick="--quick" in sys.argv)
