"""A fresh clone with nothing beside it has everything its code, tests, benchmarks and CI read."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOPS = ("gan_explorer", "tests", "benchmarks", ".ci", "build.spec", "pyproject.toml", "README.md")
BINARY = {".pkl", ".pt", ".npy", ".npz", ".png", ".jpg", ".safetensors", ".zip", ".pyc"}

# A path into a `shared` folder beside the repository (a parent folder's "shared", in any spelling).
SIBLING = re.compile(r"""\.\.[\\/]+shared\b|/\s*["']shared["']|["']\.\.["']\s*,\s*["']shared["']""")


def _files():
    """The repository's files under TOPS: git's list in a checkout, else what is on disk."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", *TOPS], cwd=ROOT, capture_output=True, check=True)
        names = [n for n in listed.stdout.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = [str(p.relative_to(ROOT)) for top in TOPS for p in [ROOT / top, *(ROOT / top).rglob("*")]]
    return [ROOT / n for n in names if (ROOT / n).is_file() and (ROOT / n).suffix not in BINARY]


def test_nothing_reads_a_shared_folder_beside_the_repository():
    readers = []
    for path in _files():
        if path == Path(__file__).resolve():
            continue
        try:
            if SIBLING.search(path.read_text()):
                readers.append(str(path.relative_to(ROOT)))
        except UnicodeDecodeError:
            continue
    assert not readers, f"these read the shared folder beside the checkout, which a fresh clone does not have: {readers}"


def test_the_official_fixtures_are_in_the_repository():
    fixtures = ROOT / "tests" / "fixtures"
    for name in ("stylegan_official/sg2ada_64.pkl", "stylegan_official/sg2ada_cond_32.pkl",
                 "stylegan_official/sg3t_64.pkl", "rosinality/rosi_32.pt"):
        assert (fixtures / name).is_file(), name
