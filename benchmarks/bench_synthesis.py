"""StyleGAN2 synthesis speed; same as `gan-explorer bench synthesis`."""

import sys

from gan_explorer.bench import run_benchmark

if __name__ == "__main__":
    run_benchmark("synthesis", quick="--quick" in sys.argv)
