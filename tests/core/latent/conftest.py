import pytest
import torch


@pytest.fixture(scope="module")
def one_intra_op_thread():
    """Small nets: two intra-op threads spin against each other on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
