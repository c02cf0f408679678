"""StyleSpace on the 64 px faces demo: DCI / MIG / SAP of Z, W, W+ and S, and edits limited to 5 parts
through S channels (issue #29); same as `gan-explorer bench stylespace`. `--out DIR` also writes
stylespace.json, stylespace.md (the tables) and stylespace_locality.png (per part: the image, the
unlimited edit, the limited edit, the part's mask)."""

import sys

from gan_explorer.bench.stylespace import bench_stylespace

if __name__ == "__main__":
    out = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else None
    bench_stylespace(quick="--quick" in sys.argv, out=out)
