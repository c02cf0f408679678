import pytest
import torch


@pytest.fixture(autouse=True)
def _one_intra_op_thread():
    """The lab's MLPs are tiny: as in its worker thread, one intra-op thread (two spin against
    each other and run 12x slower on a busy 2-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
