"""The glasses figure: 64 seeds rendered with glasses=1 and with glasses=0 by a factor-conditional
snapshot, scored by the shipped factor regressor (P(glasses)) and by the eye band's darkness.
Calibration: the same two statistics on 64 real procedural faces at the same resolution, each drawn
with and without glasses (all other factors equal).

    python3 benchmarks/conditional/measure_glasses.py resources/demo/dcgan-faces32-glasses.safetensors [grid.png]
"""
import json, sys
import torch
from scipy import stats

from gan_explorer.core.analysis.regressor import load_regressor, predict
from gan_explorer.core.data.faces import factors_for, render_face
from gan_explorer.core.io.checkpoint import load_model

torch.set_num_threads(1)
N = 64


def eye_band_darkness(images):
    """1 - mean luminance (in [0, 1]) of rows 38-56 % and columns 20-80 % of the picture: where the
    faces' eyes sit (eye line at 0.53 - 0.08 * face half-height of the image), the frames and the
    bridge of the glasses are dark (30, 30, 30) lines drawn there."""
    x = (images.float().clamp(-1, 1) + 1) / 2
    lum = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    s = lum.shape[-1]
    band = lum[:, int(0.38 * s):int(0.56 * s), int(0.20 * s):int(0.80 * s)]
    return (1 - band.mean(dim=(1, 2))).double().numpy()


def summary(name, on, off):
    diff = on - off
    t = stats.ttest_rel(on, off)
    w = stats.wilcoxon(on, off)
    return {"statistic": name, "n": len(on), "glasses=1 mean": float(on.mean()), "glasses=1 std": float(on.std(ddof=1)),
            "glasses=0 mean": float(off.mean()), "glasses=0 std": float(off.std(ddof=1)),
            "paired diff mean": float(diff.mean()), "paired diff std": float(diff.std(ddof=1)),
            "seeds where glasses=1 scores higher": int((diff > 0).sum()),
            "paired t": float(t.statistic), "t p-value": float(t.pvalue), "wilcoxon p-value": float(w.pvalue)}


def main(path):
    model = load_model(path).eval()
    regressor = load_regressor()
    seeds = list(range(N))
    z = model.z_from_seeds(seeds)
    cond = model.conditioning
    c_on = cond.vector({"glasses": 1.0}).expand(N, -1)
    c_off = cond.vector({"glasses": 0.0}).expand(N, -1)
    with torch.no_grad():
        on, off = model.generate(z, c=c_on), model.generate(z, c=c_off)
    res = model.img_resolution
    out = {"model": str(path), "conditioning": [cond.kind, list(cond.names)], "seeds": "0-63"}
    out["regressor"] = summary("regressor P(glasses)", predict(regressor, on)["glasses"], predict(regressor, off)["glasses"])
    out["eye_band"] = summary("eye-band darkness", eye_band_darkness(on), eye_band_darkness(off))
    real_on, real_off = [], []
    for i in range(N):
        f = factors_for(i, seed=123)
        for target, g in ((real_on, 1.0), (real_off, 0.0)):
            target.append(torch.from_numpy(render_face(f.replace(glasses=g), res).copy()).permute(2, 0, 1).float() / 127.5 - 1)
    real_on, real_off = torch.stack(real_on), torch.stack(real_off)
    out["real_regressor"] = summary("regressor P(glasses), real faces", predict(regressor, real_on)["glasses"],
                                    predict(regressor, real_off)["glasses"])
    out["real_eye_band"] = summary("eye-band darkness, real faces", eye_band_darkness(real_on), eye_band_darkness(real_off))
    print(json.dumps(out, indent=1))
    if len(sys.argv) > 2:
        from gan_explorer.core.io.images import make_grid, save_image, to_uint8
        rows = torch.cat([off[:8], on[:8], off[8:16], on[8:16]])
        save_image(sys.argv[2], make_grid(to_uint8(rows), 8))


if __name__ == "__main__":
    main(sys.argv[1])
