"""Data-path checks that run from a dataset config alone, without importing torch.

``tools/train.py`` checks the data before it imports the model stack (seconds of
CPU), so a missing folder is reported at once; the dataset classes run the same
check when they are built. The preparation hints live here, not in the dataset
modules, because importing ``hrnet_tasks.datasets`` imports torch and mmpretrain.
"""
import os.path as osp
from typing import List, Tuple


class DataPathError(FileNotFoundError):
    """A data root or annotation file that does not exist, with the command that makes it."""


PREPARE_HINTS = {
    'ImageNetDataset':
    ('Lay ImageNet out as data/imagenet/{train,val}/<wnid>/*.JPEG or flat val/ '
     '+ a list file (python data_prep/imagenet.py --help); '
     'for the tiny synthetic set run `python data_prep/make_tiny.py`.'),
    'CocoKeypointDataset':
    ('Lay COCO out as data/coco/{annotations/person_keypoints_{train,val}2017.json, '
     'train2017/, val2017/} and check it with `python data_prep/coco.py`; for the tiny '
     'synthetic set run `python data_prep/make_tiny.py --tasks pose`.'),
    'SegDataset': ('Lay the data out as <data_root>/<img_path>/... and '
                   '<data_root>/<seg_map_path>/... '
                   'with matching file names.'),
    'CityscapesDataset': ('Lay Cityscapes out as '
                          'data/cityscapes/{leftImg8bit,gtFine}/{train,val}/<city>/ '
                          'and run `python data_prep/cityscapes.py data/cityscapes` to write '
                          '*_labelTrainIds.png; for the tiny synthetic set run '
                          '`python data_prep/make_tiny.py --tasks seg`.'),
    'ADE20KDataset': ('Unpack ADEChallengeData2016.zip to data/ade/ (images/{training,validation}, '
                      'annotations/{training,validation}); check with `python data_prep/ade20k.py '
                      'data/ade/ADEChallengeData2016`.'),
}
FACE_HINT = ('Put the official HRNet face csv files (or mmpose\'s COCO-style JSON) and the '
             'images under data/<set>/ as docs/face.md shows; for the tiny synthetic set run '
             '`python data_prep/make_tiny.py --tasks face`.')
PREPARE_HINTS.update({name: FACE_HINT for name in ('WFLWDataset', 'Face300WDataset', 'COFWDataset',
                                                   'AFLWDataset')})
PREPARE_HINTS['CocoDetDataset'] = (
    'Lay COCO out as data/coco/{annotations/instances_{train,val}2017.json, train2017/, '
    'val2017/}; for the tiny synthetic set run `python data_prep/make_tiny.py --tasks det`.')


def required_paths(data_root: str = '', data_prefix='', ann_file: str = '',
                   **_) -> List[Tuple[str, str]]:
    """(what, path) pairs that must exist for a dataset config."""
    paths = [('data root', data_root)] if data_root else []
    prefixes = data_prefix.values() if isinstance(data_prefix, dict) else [data_prefix]
    paths += [('image folder', osp.join(data_root, p)) for p in prefixes if p]
    if ann_file:
        paths.append(('annotation file', osp.join(data_root, ann_file)))
    return paths


def check_paths(dataset_name: str, hint: str, paths: List[Tuple[str, str]]):
    """Raise ``DataPathError`` naming the first of the (what, path) ``paths`` that is missing."""
    for what, path in paths:
        if not osp.exists(path):
            raise DataPathError(f'{dataset_name}: {what} not found: {path!r}. {hint}')
