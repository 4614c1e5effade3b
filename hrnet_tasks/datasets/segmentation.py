"""Semantic segmentation datasets: Cityscapes (19 train ids), ADE20K (150 classes,
reduce-zero-label) and a generic "images + label PNGs + class list" dataset.

Every sample is an image and a label map with the same relative path (suffixes
differ); labels hold class indices 0..K-1 and 255 = ignore. ``metainfo`` carries
``classes`` and ``palette`` (RGB per class) for drawing.
"""
import os
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset

from hrnet_tasks.datapaths import PREPARE_HINTS
from hrnet_tasks.datasets.base import CheckedDatasetMixin, DataPathError
from hrnet_tasks.registry import DATASETS

CITYSCAPES_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                      'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
                      'truck', 'bus', 'train', 'motorcycle', 'bicycle')
# The Cityscapes benchmark colours (RGB), trainId order.
CITYSCAPES_PALETTE = ((128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156),
                      (190, 153, 153), (153, 153, 153), (250, 170, 30), (220, 220, 0),
                      (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0),
                      (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230),
                      (119, 11, 32))
# cityscapesScripts labelId -> trainId for the 19 evaluated classes; every other id -> 255.
CITYSCAPES_ID_TO_TRAINID = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
                            23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}

# objectInfo150.txt order (first name of each row); label value v in the PNG is class v - 1.
ADE20K_CLASSES = (
    'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'bed', 'windowpane', 'grass',
    'cabinet', 'sidewalk', 'person', 'earth', 'door', 'table', 'mountain', 'plant', 'curtain',
    'chair', 'car', 'water', 'painting', 'sofa', 'shelf', 'house', 'sea', 'mirror', 'rug', 'field',
    'armchair', 'seat', 'fence', 'desk', 'rock', 'wardrobe', 'lamp', 'bathtub', 'railing',
    'cushion', 'base', 'box', 'column', 'signboard', 'chest of drawers', 'counter', 'sand', 'sink',
    'skyscraper', 'fireplace', 'refrigerator', 'grandstand', 'path', 'stairs', 'runway', 'case',
    'pool table', 'pillow', 'screen door', 'stairway', 'river', 'bridge', 'bookcase', 'blind',
    'coffee table', 'toilet', 'flower', 'book', 'hill', 'bench', 'countertop', 'stove', 'palm',
    'kitchen island', 'computer', 'swivel chair', 'boat', 'bar', 'arcade machine', 'hovel', 'bus',
    'towel', 'light', 'truck', 'tower', 'chandelier', 'awning', 'streetlight', 'booth',
    'television', 'airplane', 'dirt track', 'apparel', 'pole', 'land', 'bannister', 'escalator',
    'ottoman', 'bottle', 'buffet', 'poster', 'stage', 'van', 'ship', 'fountain', 'conveyer belt',
    'canopy', 'washer', 'plaything', 'swimming pool', 'stool', 'barrel', 'basket', 'waterfall',
    'tent', 'bag', 'minibike', 'cradle', 'oven', 'ball', 'food', 'step', 'tank', 'trade name',
    'microwave', 'pot', 'animal', 'bicycle', 'lake', 'dishwasher', 'screen', 'blanket', 'sculpture',
    'hood', 'sconce', 'vase', 'traffic light', 'tray', 'ashcan', 'fan', 'pier', 'crt screen',
    'plate', 'monitor', 'bulletin board', 'shower', 'radiator', 'glass', 'clock', 'flag')


def label_lut(mapping: dict, ignore_index: int = 255) -> np.ndarray:
    """256-entry uint8 lookup table: ``mapping`` keys -> values, everything else -> ignore."""
    lut = np.full(256, ignore_index, dtype=np.uint8)
    for src, dst in mapping.items():
        lut[int(src)] = int(dst)
    return lut


def cityscapes_labelids_to_trainids(label: np.ndarray) -> np.ndarray:
    return label_lut(CITYSCAPES_ID_TO_TRAINID)[label]


def make_palette(num_classes: int, seed: int = 1) -> List[tuple]:
    """Distinct, deterministic RGB colours (bit-interleaved like the PASCAL VOC colormap,
    shuffled by ``seed`` so neighbouring ids differ strongly)."""
    colours = []
    for i in range(1, num_classes + 1):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        colours.append((r, g, b))
    order = np.random.RandomState(seed).permutation(num_classes)
    return [colours[k] for k in order]


def _scan(folder: str, suffix: str) -> List[str]:
    """Relative paths (without ``suffix``) of the files under ``folder`` ending in it, sorted."""
    found = []
    for root, _, files in os.walk(folder, followlinks=True):
        for name in files:
            if name.endswith(suffix):
                rel = osp.relpath(osp.join(root, name), folder)
                found.append(rel[:-len(suffix)])
    return sorted(found)


@DATASETS.register_module()
class SegDataset(CheckedDatasetMixin, BaseDataset):
    """Generic dataset: ``<data_root>/<img_path>/**/X<img_suffix>`` with labels at
    ``<data_root>/<seg_map_path>/**/X<seg_map_suffix>``.

    Args:
        data_prefix (dict): ``img_path`` and ``seg_map_path`` folders under data_root.
        img_suffix / seg_map_suffix (str): file endings (default ``.jpg`` / ``.png``).
        ann_file (str): optional list file of relative names (without suffix), one per line.
        classes (list | str): class names, or a text file with one name per line.
        palette (list): RGB per class (default: generated).
        reduce_zero_label (bool): label 0 -> ignore, v -> v - 1 (ADE20K style).
        label_map (dict): raw label value -> class index, others -> ignore (applied first).
        ignore_index (int): 255.
        skip_bad_images (bool): in training, skip and count unreadable images and bad
            label maps (missing, wrong size, out-of-range values) instead of raising.
    """

    METAINFO: dict = dict(classes=None, palette=None)
    PREPARE_HINT = PREPARE_HINTS['SegDataset']

    def __init__(self, data_root: str = '', data_prefix: Optional[dict] = None,
                 img_suffix: str = '.jpg', seg_map_suffix: str = '.png', ann_file: str = '',
                 classes=None, palette=None, reduce_zero_label: bool = False,
                 label_map: Optional[dict] = None, ignore_index: int = 255,
                 skip_bad_images: bool = False, metainfo: Optional[dict] = None, **kwargs):
        data_prefix = dict(data_prefix or dict(img_path='', seg_map_path=''))
        self.check_paths(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file)
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.reduce_zero_label = reduce_zero_label
        self.ignore_index = ignore_index
        self.skip_bad_images = skip_bad_images
        self.label_lut = label_lut(label_map, ignore_index) if label_map else None
        metainfo = dict(metainfo or {})
        if classes is not None:
            if isinstance(classes, str):
                path = classes if osp.isabs(classes) else osp.join(data_root, classes)
                if not osp.isfile(path):
                    raise DataPathError(f'{type(self).__name__}: class list not found: {path!r}')
                classes = [line.strip() for line in open(path) if line.strip()]
            metainfo['classes'] = tuple(classes)
        if palette is not None:
            metainfo['palette'] = [tuple(int(v) for v in c) for c in palette]
        super().__init__(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file,
                         metainfo=metainfo, **kwargs)
        classes = self._metainfo.get('classes')
        if not classes:
            raise ValueError(f'{type(self).__name__}: no classes; pass classes=[...] or a '
                             'class-list file')
        if not self._metainfo.get('palette'):
            self._metainfo['palette'] = make_palette(len(classes))
        if len(self._metainfo['palette']) != len(classes):
            raise ValueError(f'palette has {len(self._metainfo["palette"])} colours for '
                             f'{len(classes)} classes')

    @property
    def num_classes(self) -> int:
        return len(self._metainfo['classes'])

    def load_data_list(self) -> List[dict]:
        img_dir = self.data_prefix.get('img_path', self.data_root)
        seg_dir = self.data_prefix.get('seg_map_path', self.data_root)
        if self.ann_file:
            names = [line.strip() for line in open(self.ann_file) if line.strip()]
            names = [n[:-len(self.img_suffix)] if n.endswith(self.img_suffix) else n for n in names]
        else:
            names = _scan(img_dir, self.img_suffix)
        if not names:
            raise DataPathError(f'{type(self).__name__}: no *{self.img_suffix} images under '
                                f'{img_dir!r}. {self.PREPARE_HINT}')
        num_classes = len(self._metainfo['classes'])
        data_list = []
        for name in names:
            info = dict(img_path=osp.join(img_dir, name + self.img_suffix),
                        seg_map_path=osp.join(seg_dir, name + self.seg_map_suffix),
                        reduce_zero_label=self.reduce_zero_label, num_classes=num_classes,
                        seg_fields=[])
            if self.label_lut is not None:
                info['label_lut'] = self.label_lut
            data_list.append(info)
        return data_list


@DATASETS.register_module()
class CityscapesDataset(SegDataset):
    """Cityscapes fine annotations, 19 train ids.

    Reads ``*_gtFine_labelTrainIds.png`` (made by ``data_prep/cityscapes.py``), or,
    with ``use_label_ids=True``, maps ``*_gtFine_labelIds.png`` on the fly with the
    official table like HRNet-Semantic-Segmentation does.
    """

    METAINFO = dict(classes=CITYSCAPES_CLASSES, palette=CITYSCAPES_PALETTE)
    PREPARE_HINT = PREPARE_HINTS['CityscapesDataset']

    def __init__(self, img_suffix: str = '_leftImg8bit.png',
                 seg_map_suffix: Optional[str] = None, use_label_ids: bool = False, **kwargs):
        if seg_map_suffix is None:
            seg_map_suffix = ('_gtFine_labelIds.png' if use_label_ids
                              else '_gtFine_labelTrainIds.png')
        if use_label_ids:
            kwargs['label_map'] = CITYSCAPES_ID_TO_TRAINID
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)


@DATASETS.register_module()
class ADE20KDataset(SegDataset):
    """ADE20K SceneParsing (ADEChallengeData2016): 150 classes, raw label 0 ignored."""

    METAINFO = dict(classes=ADE20K_CLASSES, palette=None)
    PREPARE_HINT = PREPARE_HINTS['ADE20KDataset']

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = True, **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)
