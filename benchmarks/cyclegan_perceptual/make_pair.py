"""Write a two-domain pair from the procedural faces: A = no glasses, B = glasses (32 px PNG folders),
plus a held-out A set (different seed, never seen in training) with its factors."""
import json, sys
from pathlib import Path
from PIL import Image
from gan_explorer.core.data.faces import FacesDataset

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
root = Path.cwd() / "data"
def write(ds, folder, want_glasses, n, keep_factors=False):
    folder.mkdir(parents=True, exist_ok=True)
    got, i, facts = 0, 0, {}
    while got < n:
        f = ds.factors(i)
        if (f.glasses > 0.5) == want_glasses:
            Image.fromarray(ds.image(i)).save(folder / f"{got:05d}.png")
            if keep_factors:
                facts[f"{got:05d}.png"] = f.to_array().tolist()
            got += 1
        i += 1
    if keep_factors:
        (folder.parent / f"{folder.name}_factors.json").write_text(json.dumps(facts))
train = FacesDataset(resolution=32, seed=0)
write(train, root / "A", False, N)
write(train, root / "B", True, N)
write(FacesDataset(resolution=32, seed=12345), root / "heldout_A", False, 128, keep_factors=True)
