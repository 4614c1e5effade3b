"""A checkpoint whose pickle would run code is refused by every tool in one line, and its code
never runs (issue 18, item 7)."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from conftest import ROOT
from hrnet_tasks.checkpoint_files import damaged_checkpoint
from hrnet_tasks.engine.checkpoint import load_checkpoint_file
from hrnet_tasks.errors import CheckpointError


class _RunsCode:
    """Unpickling this calls os.system, which would create ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def _untrusted(path, marker, zip_format=True) -> str:
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)},
                'meta': _RunsCode(marker)}, path, _use_new_zipfile_serialization=zip_format)
    return str(path)


def _expected(path) -> str:
    return (f'cannot load checkpoint {path}: it pickles posix.system, which '
            'torch.load(weights_only=True) refuses, so the file was not loaded and nothing in '
            'it ran; if you trust it, re-save its state dict (tensors only)')


@pytest.mark.parametrize('zip_format', [True, False], ids=['zip', 'legacy'])
def test_loader_refuses_in_one_line(tmp_path, zip_format):
    marker = tmp_path / 'ran'
    path = _untrusted(tmp_path / 'evil.pth', marker, zip_format)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint_file(path)
    assert str(info.value) == _expected(path)
    # the torch-free pre-flight check reads legacy pickles (it cannot see into zip ones)
    assert damaged_checkpoint(path) == (_expected(path) if not zip_format else None)
    assert not marker.exists()


# Each tool's entry point, run in one interpreter (one start-up for all): how it ended.
DRIVER = r'''
import json, runpy, sys, traceback
ended = {}
for name, argv in json.loads(sys.argv[1]):
    sys.argv = argv
    try:
        runpy.run_path(argv[0], run_name='__main__')
        ended[name] = ['returned', '']
    except SystemExit as exc:
        ended[name] = ['exit', str(exc.code)]
    except BaseException:
        ended[name] = ['raised', traceback.format_exc()]
print('ENDED ' + json.dumps(ended))
'''


def test_every_tool_refuses_in_one_line(tiny_data, tmp_path):
    marker = tmp_path / 'ran'
    evil = _untrusted(tmp_path / 'evil.pth', marker)
    image = str(tmp_path / 'photo.png')
    cv2.imwrite(image, np.full((64, 64, 3), 127, np.uint8))
    out = str(tmp_path / 'out')
    runs = [
        ('test.py', ['tools/test.py', 'configs/tiny/cls.py', evil, '--work-dir', out + '_test']),
        ('demo.py', ['tools/demo.py', 'configs/tiny/cls.py', evil, image, '--out', out + '.png']),
        ('export_onnx.py', ['tools/export_onnx.py', 'configs/tiny/cls.py', evil, out + '.onnx']),
        ('extract_backbone.py', ['tools/extract_backbone.py', evil, out + '_backbone.pth']),
        ('train.py --load-from', ['tools/train.py', 'configs/tiny/seg.py', '--load-from', evil,
                                  '--work-dir', out + '_train']),
        ('convert_checkpoint.py', ['tools/convert_checkpoint.py', '--src', 'official', evil,
                                   out + '_converted.pth']),
    ]
    proc = subprocess.run([sys.executable, '-c', DRIVER, json.dumps(runs)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    ended = json.loads(proc.stdout.split('ENDED ', 1)[1])
    for name, _ in runs:
        how, message = ended[name]
        assert (how, message) == ('exit', f'error: {_expected(evil)}'), (name, how, message)
    assert 'Traceback' not in proc.stderr + proc.stdout
    assert not marker.exists(), 'the pickled os.system call ran'
    assert not any(p.startswith('out') and p != 'out_test' and p != 'out_train'
                   for p in os.listdir(tmp_path)), os.listdir(tmp_path)  # nothing written
