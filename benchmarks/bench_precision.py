"""bf16 against fp32 (error and speed-up, one table); same as `gan-explorer bench precision`.

    python benchmarks/bench_precision.py [--quick] [--fixture MODEL]   # MODEL: a 256 px model file
"""

import sys

from gan_explorer.bench import run_benchmark

if __name__ == "__main__":
    fixture = sys.argv[sys.argv.index("--fixture") + 1] if "--fixture" in sys.argv else None
    run_benchmark("precision", quick="--quick" in sys.argv, fixture=fixture)
