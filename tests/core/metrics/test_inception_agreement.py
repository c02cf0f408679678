"""FID on Inception-v3 agrees with torch-fidelity on the same images and the same weights file.

No Inception weights can be downloaded here, so the code path (architecture, weight loading, TF1
resize, statistics, Frechet distance) is checked with a deterministic stand-in: an Inception-v3
with seeded random weights written in the published state-dict layout, given to both programs.
It says nothing about FID *values*; a second case runs on the real weights file when the
environment names one (GAN_EXPLORER_INCEPTION_WEIGHTS=/path/weights-inception-2015-12-05-*.pth).
torch-fidelity is not a dependency (it pulls torchvision, whose wheels pin another torch build):
install it to run these tests.
"""

import os

import numpy as np
import pytest
import torch

from gan_explorer.core.data import open_dataset
from gan_explorer.core.metrics.features import load_features
from gan_explorer.core.metrics.inception import InceptionV3FID
from gan_explorer.core.metrics.realdata import dataset_images, to_tensor
from gan_explorer.core.metrics.scores import fd_from_features


def _torch_fidelity():
    try:
        import torch_fidelity
    except Exception as exc:  # not installed, or its torchvision does not load with this torch
        pytest.skip(f"torch-fidelity is not importable here ({type(exc).__name__}: {str(exc)[:80]}); "
                    f"pip install torch-fidelity to run the agreement test")
    return torch_fidelity


class _Uint8Images(torch.utils.data.Dataset):
    def __init__(self, images: np.ndarray):
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def _stand_in_weights(path):
    torch.manual_seed(1234)
    net = InceptionV3FID()
    for module in net.modules():  # non-trivial batch-norm statistics, as a trained network has
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    torch.save(net.state_dict(), path)
    return path


def _weights(kind, tmp_path):
    if kind == "stand-in":
        return _stand_in_weights(tmp_path / "inception-stand-in.pth")
    path = os.environ.get("GAN_EXPLORER_INCEPTION_WEIGHTS")
    if not path or not os.path.isfile(path):
        pytest.skip("no Inception-v3 weights file here: set GAN_EXPLORER_INCEPTION_WEIGHTS to "
                    "weights-inception-2015-12-05-6726825d.pth (torch-fidelity's) to compare real FIDs")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["stand-in", "real-weights"])
def test_fid_agrees_with_torch_fidelity(tmp_path, kind):
    torch_fidelity = _torch_fidelity()
    weights = _weights(kind, tmp_path)
    a = dataset_images(open_dataset("faces:32", seed=0), range(24))
    b = dataset_images(open_dataset("faces:32", seed=1), range(24))
    reference = torch_fidelity.calculate_metrics(
        input1=_Uint8Images(a), input2=_Uint8Images(b), fid=True, cuda=False, verbose=False, batch_size=24,
        feature_extractor="inception-v3-compat", feature_extractor_weights_path=str(weights))["frechet_inception_distance"]
    extractor = load_features(f"inception:{weights}")
    ours = fd_from_features(extractor.extract(to_tensor(a)).numpy(), extractor.extract(to_tensor(b)).numpy())
    assert reference > 0
    assert ours == pytest.approx(reference, rel=1e-3)
