"""Training throughput; same as `gan-explorer bench training`."""

import sys

from gan_explorer.bench import run_benchmark

if __name__ == "__main__":
    run_benchmark("training", quick="--quick" in sys.argv)
