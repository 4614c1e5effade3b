"""Checkpoint safety (plain data, atomic writes) and the CPU AMP wrapper."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer

from hrnet_tasks.engine.checkpoint import (atomic_save, decode_history_buffer,
                                           encode_history_buffer, load_checkpoint_file,
                                           rng_state, set_rng_state, to_plain_data)
from hrnet_tasks.engine.optim_wrapper import AmpOptimWrapper


def test_training_checkpoint_has_no_unsafe_globals(tmp_path):
    """What ExactResumeHook writes needs no allow-list at all."""
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(2.5, 3)
    ckpt = dict(message_hub=dict(log_scalars={'train/loss': encode_history_buffer(buf)},
                                 runtime_info={'iter': np.int64(7), 'lr': np.float32(0.1)}),
                rng_state=rng_state(), state_dict={'w': torch.ones(2)})
    to_plain_data(ckpt)
    path = tmp_path / 'c.pth'
    atomic_save(ckpt, str(path))
    assert torch.serialization.get_unsafe_globals_in_checkpoint(str(path)) == []
    loaded = torch.load(path, weights_only=True)
    again = decode_history_buffer(loaded['message_hub']['log_scalars']['train/loss'])
    np.testing.assert_array_equal(again.data[0], buf.data[0])
    np.testing.assert_array_equal(again.data[1], buf.data[1])
    assert loaded['message_hub']['runtime_info']['iter'] == 7


def test_rng_state_round_trip():
    state = rng_state()
    expected = (np.random.rand(3), torch.rand(3), __import__('random').random())
    np.random.rand(10), torch.rand(10)
    set_rng_state(state)
    got = (np.random.rand(3), torch.rand(3), __import__('random').random())
    np.testing.assert_array_equal(expected[0], got[0])
    assert torch.equal(expected[1], got[1]) and expected[2] == got[2]


def test_atomic_save_never_leaves_a_truncated_file(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    atomic_save({'w': torch.zeros(3)}, str(path))

    def dying_save(obj, f, *args, **kwargs):
        f.write(b'partial')
        raise KeyboardInterrupt  # killed mid-write

    monkeypatch.setattr(torch, 'save', dying_save)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({'w': torch.ones(3)}, str(path))
    monkeypatch.undo()
    assert torch.equal(load_checkpoint_file(str(path))['w'], torch.zeros(3))


def test_load_refuses_arbitrary_objects(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'obj': nn.ReLU()}, path)  # a pickled module: code, not weights
    with pytest.raises(RuntimeError, match='weights_only=True'):
        load_checkpoint_file(str(path))


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')
def test_cpu_amp_wrapper_autocasts_to_bf16_and_steps():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(2))
    model(torch.randn(1, 3, 8, 8))
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = [p.detach().clone() for p in model.parameters()]
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 3, 8, 8))
        assert out.dtype == torch.bfloat16
        loss = out.float().pow(2).mean()
    wrapper.update_params(loss)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    state = wrapper.state_dict()
    wrapper.load_state_dict(dict(state, loss_scaler={}))  # a GPU checkpoint resumed on CPU
    with pytest.raises(ValueError, match='bfloat16'):
        AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), dtype='float16')
