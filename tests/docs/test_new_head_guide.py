"""The worked example of docs/new_head.md runs as written (issue 18, item 2): its ``# file:``
blocks are written out and the check script is run, so the guide cannot go stale."""
import math
import os
import os.path as osp
import re
import runpy

from conftest import ROOT

GUIDE = osp.join(ROOT, 'docs', 'new_head.md')


def guide_files() -> dict:
    """path -> text of every ```python block of the guide whose first line is ``# file: PATH``."""
    with open(GUIDE, encoding='utf-8') as f:
        text = f.read()
    files = {}
    for block in re.findall(r'```python\n(.*?)```', text, flags=re.S):
        first, _, body = block.partition('\n')
        if first.startswith('# file: '):
            files[first[len('# file: '):].strip()] = body
    return files


def test_guide_worked_example_runs(tiny_data, tmp_path, monkeypatch, one_thread):
    files = guide_files()
    assert set(files) == {'my_heads.py', 'configs/my_task/tiny_joint_heatmaps.py',
                          'check_my_head.py'}
    # a checkout beside the example: the repo's configs and data, the guide's new files
    (tmp_path / 'configs').mkdir()
    for name in os.listdir(osp.join(ROOT, 'configs')):
        os.symlink(osp.join(ROOT, 'configs', name), tmp_path / 'configs' / name)
    os.symlink(osp.join(ROOT, 'data'), tmp_path / 'data')
    for path, body in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # as tools/*.py put the repository root
    result = runpy.run_path(str(tmp_path / 'check_my_head.py'))
    losses, sample = result['losses'], result['sample']
    # the batch carries gt_heatmaps and gt_sem_seg: all three heads trained
    assert {'heatmaps/loss_heatmap', 'pose/loss_hm_1_4', 'seg/loss_ce'} <= set(losses)
    assert math.isfinite(losses['heatmaps/loss_heatmap'].item())
    heatmaps = sample.pred_heatmaps
    h, w = sample.metainfo['batch_input_shape']
    assert tuple(heatmaps.shape) == (17, h // 4, w // 4)
    assert sample.pred_keypoints.ndim == 3 and 'pred_sem_seg' in sample
