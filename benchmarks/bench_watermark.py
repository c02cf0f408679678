"""Invisible watermark robustness (detection rate, bit accuracy, false positives, PSNR); same as
`gan-explorer bench watermark`."""

import sys

from gan_explorer.bench import run_benchmark

if __name__ == "__main__":
    run_benchmark("watermark", quick="--quick" in sys.argv)
