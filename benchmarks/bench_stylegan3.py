"""StyleGAN3 filtered lrelu, reference vs polyphase; same as `gan-explorer bench stylegan3 [--fixture PATH]`.

    python benchmarks/bench_stylegan3.py [--quick] [PICKLE]

PICKLE defaults to the checkout's tests/fixtures/stylegan_official/sg3t_64.pkl.
"""

import sys

from gan_explorer.bench import run_benchmark
from gan_explorer.core.errors import GanExplorerError

if __name__ == "__main__":
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    try:
        run_benchmark("stylegan3", quick="--quick" in sys.argv, fixture=paths[0] if paths else None)
    except GanExplorerError as exc:
        sys.exit(f"bench_stylegan3: error: {exc}")
