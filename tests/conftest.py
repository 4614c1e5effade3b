import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DATA = osp.join(ROOT, '..', 'shared', 'data')
TINY = osp.join(ROOT, 'data', 'tiny')

from hrnet_tasks.utils import register_all_modules  # noqa: E402

register_all_modules()


@pytest.fixture(scope='module')
def one_thread():
    """On 2 shared cores, 2 OpenMP threads run ~20x slower once another process is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def seeded():
    """Model init draws from the global RNG: make every test see the same weights."""
    torch.manual_seed(0)


@pytest.fixture(scope='session')
def tiny_data():
    """data/tiny made by data_prep/make_tiny.py (generated once, reused)."""
    # make_tiny.py skips the tasks already made; it is cheap to call every session
    subprocess.run([sys.executable, osp.join(ROOT, 'data_prep', 'make_tiny.py'), '--out', TINY],
                   check=True, capture_output=True)
    return TINY


@pytest.fixture
def shared_data():
    if not osp.isdir(SHARED_DATA):
        pytest.skip(f'real-data samples not found at {SHARED_DATA} '
                    '(../shared/data beside the repo)')
    return SHARED_DATA


def calibrate_bn(model, size, batches: int = 3):
    """Measure BN statistics of a randomly initialised ``model`` on random batches
    (cumulative average), so activations stay O(1) and absolute tolerances mean
    something. Returns the model in eval mode."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(2, 3, *size), mode='tensor')
    return model.eval()


def free_port() -> int:
    """A TCP port nobody listens on now (concurrent torchrun tests must not share one)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_tool(*args, env=None, timeout=900, nproc=None):
    """Run a tools/*.py script (optionally under torchrun) from the repo root."""
    cmd = [sys.executable]
    if nproc:
        cmd += ['-m', 'torch.distributed.run', f'--nproc_per_node={nproc}', '--master_port',
                str(free_port())]
    cmd += list(args)
    threads = '1' if nproc else os.environ.get('OMP_NUM_THREADS', '2')
    full_env = dict(os.environ, OMP_NUM_THREADS=threads)
    full_env.update(env or {})
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
