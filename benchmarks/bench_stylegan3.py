"""StyleGAN3 filtered lrelu, reference vs polyphase; same as `gan-explorer bench stylegan3`."""

import sys

from gan_explorer.bench import run_benchmark

if __name__ == "__main__":
    run_benchmark("stylegan3", quick="--quick" in sys.argv)
