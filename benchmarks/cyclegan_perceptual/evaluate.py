"""Measure two CycleGAN snapshots (A = no glasses -> B = glasses) on held-out A faces.

For every held-out face x (factors f, glasses 0) the renderer also gives the oracle x* = the same face
with glasses (f.replace(glasses=1)): the ideal translation. The pixels where x and x* differ are the
glasses mask M (dilated 1 px for 'outside'). Per image:
  keep_psnr   PSNR(G(x), x) outside M            (content kept; higher = less changed)
  oracle_psnr PSNR(G(x), x*) over the whole image (how close to the ideal translation)
  frame_contrast (ring - mask luminance) of G(x), rescaled so x = 0 and x* = 1 (frames drawn where they belong)
  glasses_drawn  mean darkening of G(x) inside M / darkening of x* inside M (0 = none, 1 = the oracle's)
  probe_p     P(glasses) of G(x) from a logistic regression on raw pixels, trained on 4000 other faces
  reg_p       P(glasses) of G(x) from the shipped factor regressor (same network as the 'features' loss!)
  d_hair, d_skin, d_shape  |regressor(G(x)) - regressor(x)| for hair_color, skin_tone, face_shape
  cycle_l1    mean |F(G(x)) - x| in 0-255 units
"""
import json, sys
from pathlib import Path
import numpy as np, torch
from PIL import Image
from scipy.ndimage import binary_dilation
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from gan_explorer.core.data.faces import FaceFactors, FACTOR_NAMES, render_face, FacesDataset
from gan_explorer.core.io.checkpoint import load_model
from gan_explorer.core.io.images import to_uint8
from gan_explorer.core.analysis.regressor import load_regressor, predict

torch.set_num_threads(1)
here = Path.cwd()
tag = sys.argv[1]  # output name: results-TAG.json, outputs-TAG.npz
snaps = {name: Path(p) for name, p in (a.split("=", 1) for a in sys.argv[2:])}

facts = json.loads((here / "data/heldout_A_factors.json").read_text())
names = sorted(facts)
x_u8 = np.stack([np.asarray(Image.open(here / "data/heldout_A" / n, formats=["PNG"]).convert("RGB")) for n in names])
oracle_u8 = np.stack([render_face(FaceFactors(**dict(zip(FACTOR_NAMES, facts[n]))).replace(glasses=1.0), 32)
                      for n in names])
to_t = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1
x = to_t(x_u8)
N = len(x)
diff = np.abs(oracle_u8.astype(float) - x_u8).max(-1)
mask = diff > 12
outside = ~np.stack([binary_dilation(m, iterations=1) for m in mask])
# A ring 2 px away from the frames: drawn glasses are dark against it, a globally darker picture is not.
ring = np.stack([binary_dilation(m, iterations=2) & ~binary_dilation(m, iterations=1) for m in mask])
lum = lambda a: a.astype(float) @ [0.299, 0.587, 0.114]

def psnr(a, b, m=None):
    se = (a.astype(float) - b.astype(float)) ** 2
    mse = se.mean() if m is None else se[m].mean()
    return 10 * np.log10(255 ** 2 / max(mse, 1e-10))

# An independent glasses detector: logistic regression on raw pixels of 4000 fresh faces.
ds = FacesDataset(32, seed=777)
imgs, labels = [], []
for i in range(4000):
    imgs.append(ds.image(i)); labels.append(ds.factors(i).glasses)
X = np.stack(imgs).reshape(4000, -1) / 255.0
y = np.array(labels)
probe = LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced").fit(X[:3000], y[:3000])
print(f"pixel probe AUC on 1000 fresh faces: {roc_auc_score(y[3000:], probe.predict_proba(X[3000:])[:, 1]):.3f}")
probe_p = lambda u8: probe.predict_proba(u8.reshape(len(u8), -1) / 255.0)[:, 1]

reg = load_regressor()
reg_x, reg_o = predict(reg, x), predict(reg, to_t(oracle_u8))
print(f"n={N}  references: probe P(glasses) x {probe_p(x_u8).mean():.3f}  x* {probe_p(oracle_u8).mean():.3f} | "
      f"regressor P(glasses) x {reg_x['glasses'].mean():.3f}  x* {reg_o['glasses'].mean():.3f} | "
      f"glasses mask {mask.sum((1,2)).mean():.1f} px | PSNR(x*, x) outside M {np.mean([psnr(oracle_u8[i], x_u8[i], outside[i]) for i in range(N)]):.1f}")

per_image, results, outputs = {}, {}, {"input": x_u8, "oracle": oracle_u8}
for name, path in snaps.items():
    model = load_model(path)
    with torch.no_grad():
        g = model.translate(x, "AB")
        rec = model.translate(g, "BA")
    g_u8, rec_u8 = to_uint8(g), to_uint8(rec)
    outputs[name] = g_u8
    reg_g = predict(reg, g)
    darkening_o = np.array([(lum(x_u8[i])[mask[i]] - lum(oracle_u8[i])[mask[i]]).mean() for i in range(N)])
    darkening_g = np.array([(lum(x_u8[i])[mask[i]] - lum(g_u8[i])[mask[i]]).mean() for i in range(N)])
    contrast = lambda u8: np.array([lum(u8[i])[ring[i]].mean() - lum(u8[i])[mask[i]].mean() for i in range(N)])
    c_x, c_o, c_g = contrast(x_u8), contrast(oracle_u8), contrast(g_u8)
    r = {
        "frame_contrast": (c_g - c_x) / (c_o - c_x),
        "keep_psnr": [psnr(g_u8[i], x_u8[i], outside[i]) for i in range(N)],
        "oracle_psnr": [psnr(g_u8[i], oracle_u8[i]) for i in range(N)],
        "glasses_drawn": darkening_g / darkening_o,
        "probe_p": probe_p(g_u8),
        "reg_p": reg_g["glasses"],
        "d_hair": np.abs(reg_g["hair_color"] - reg_x["hair_color"]),
        "d_skin": np.abs(reg_g["skin_tone"] - reg_x["skin_tone"]),
        "d_shape": np.abs(reg_g["face_shape"] - reg_x["face_shape"]),
        "cycle_l1": np.abs(rec_u8.astype(float) - x_u8).mean((1, 2, 3)),
    }
    per_image[name] = {k: np.asarray(v, float) for k, v in r.items()}
    results[name] = {k: (float(np.mean(v)), float(np.std(v))) for k, v in r.items()}
    print(name, path)
    for k, (m, s) in results[name].items():
        print(f"  {k:14s} {m:8.3f} ± {s:.3f}")
paired = {}
if {"w0", "perc"} <= set(per_image):
    print("paired difference perc - w0 (mean ± sd, and the standard error of the mean):")
    for k in per_image["w0"]:
        d = per_image["perc"][k] - per_image["w0"][k]
        paired[k] = (float(d.mean()), float(d.std()), float(d.std(ddof=1) / np.sqrt(N)))
        print(f"  {k:14s} {d.mean():+8.3f} ± {d.std():.3f}  (s.e. {paired[k][2]:.3f})")
(here / f"results-{tag}.json").write_text(json.dumps({"n": N, "snapshots": {k: str(v) for k, v in snaps.items()},
                                                     "results": results, "paired_perc_minus_w0": paired}, indent=1))
np.savez_compressed(here / f"outputs-{tag}.npz", **outputs)
