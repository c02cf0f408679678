"""The analyses run as explorer jobs (the session's Call), with its progress and cancel."""

import numpy as np
import torch

from gan_explorer.core.analysis.jobs import ablation_job, attribute_grid_job, layer_view_job, layers_job, map_job
from gan_explorer.core.analysis.latent_map import LatentMap
from gan_explorer.core.explorer.requests import Call
from gan_explorer.core.explorer.session import ExplorerSession
from gan_explorer.core.models import build_model
from tests.conftest import TINY


def _session():
    torch.manual_seed(1)
    session = ExplorerSession(sync=True)
    token = session.set_model(build_model("stylegan", **TINY["stylegan"]).eval())
    done, progress = [], []
    session.events.job_done.connect(done.append)
    session.events.job_progress.connect(progress.append)
    return session, token, done, progress


def test_map_job_reports_progress_and_returns_the_map():
    session, token, done, progress = _session()
    session.submit(Call(purpose="map", function=map_job,
                        kwargs=(("num", 20), ("batch_size", 10), ("thumbnail_size", 8), ("color_by", None))), token)
    assert done[0].error is None and isinstance(done[0].value, LatentMap)
    assert done[0].value.points.shape == (20, 2)
    assert [(p.done, p.total) for p in progress] == [(1, 3), (2, 3), (3, 3)]


def test_map_job_is_cancelled_between_batches():
    session, token, done, progress = _session()
    job_id = session.new_job_id()
    session.events.job_progress.connect(lambda p: session.cancel(job_id))
    session.submit(Call(purpose="map", function=map_job, kwargs=(("num", 40), ("batch_size", 10), ("color_by", None))),
                   token, job_id=job_id)
    assert done[0].cancelled and len(progress) == 1


def test_layer_jobs_return_plain_arrays():
    session, token, done, _ = _session()
    ws = session.renderer.model.map(session.renderer.model.sample_z(1, 0))
    session.submit(Call(function=layers_job), token)
    layers = done[-1].value
    session.submit(Call(function=layer_view_job, kwargs=(("inputs", ws), ("layer", layers[4].name))), token)
    assert done[-1].value.grid.dtype == np.uint8
    session.submit(Call(function=ablation_job, kwargs=(("inputs", ws), ("layer", "synthesis.b8.conv1"),
                                                       ("channels", [0, 1, 2])),), token)
    ablated = done[-1].value
    assert ablated.shape == (16, 16, 3) and not np.array_equal(ablated, done[-2].value.image)
    session.submit(Call(function=attribute_grid_job, kwargs=(("count", 20),)), token)
    grid, images = done[-1].value
    assert images.shape == (20, 16, 16, 3) and grid.seeds == list(range(20))
