"""COCO-format person keypoints for bottom-up training and evaluation.

Keypoint names, flip pairs, OKS sigmas, skeleton and grouping order come from the
dataset *metainfo* (a dict, or ``dict(from_file='my_meta.py')`` naming a python
file with a ``dataset_info`` dict), so a custom keypoint set needs no code change.
"""
import copy
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from hrnet_tasks.datapaths import PREPARE_HINTS
from hrnet_tasks.datasets.base import CheckedDatasetMixin, DataPathError
from hrnet_tasks.datasets.transforms.loading import BadImageError
from hrnet_tasks.registry import DATASETS

COCO_METAINFO = dict(
    dataset_name='coco',
    keypoint_names=[
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
        'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
        'left_knee', 'right_knee', 'left_ankle', 'right_ankle'
    ],
    # pairs of names swapped by a horizontal flip
    flip_pairs=[('left_eye', 'right_eye'), ('left_ear', 'right_ear'),
                ('left_shoulder', 'right_shoulder'), ('left_elbow', 'right_elbow'),
                ('left_wrist', 'right_wrist'), ('left_hip', 'right_hip'),
                ('left_knee', 'right_knee'), ('left_ankle', 'right_ankle')],
    skeleton=[('left_ankle', 'left_knee'), ('left_knee', 'left_hip'), ('right_ankle', 'right_knee'),
              ('right_knee', 'right_hip'), ('left_hip', 'right_hip'), ('left_shoulder', 'left_hip'),
              ('right_shoulder', 'right_hip'), ('left_shoulder', 'right_shoulder'),
              ('left_shoulder', 'left_elbow'), ('right_shoulder', 'right_elbow'),
              ('left_elbow', 'left_wrist'), ('right_elbow', 'right_wrist'),
              ('left_eye', 'right_eye'), ('nose', 'left_eye'), ('nose', 'right_eye'),
              ('left_eye', 'left_ear'), ('right_eye', 'right_ear'), ('left_ear', 'left_shoulder'),
              ('right_ear', 'right_shoulder')],
    sigmas=[
        .026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087,
        .089, .089
    ],
    # joint types in the order the decoder groups them: head, shoulders, hips, limbs
    group_order=[0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16],
)


def parse_pose_metainfo(meta: Optional[dict]) -> dict:
    """Complete a pose metainfo dict: ``num_keypoints``, ``flip_indices`` and
    ``skeleton_links`` (index pairs) from the name-based fields.

    Required: ``keypoint_names``, ``sigmas``. Optional: ``flip_pairs`` (name or
    index pairs), ``skeleton`` (name or index pairs), ``group_order``.
    ``dict(from_file=path)`` loads ``dataset_info`` from a python config file.
    """
    if meta is None:
        meta = COCO_METAINFO
    meta = dict(meta)
    if 'from_file' in meta:
        from mmengine.config import Config
        path = meta.pop('from_file')
        if not osp.isfile(path):
            raise FileNotFoundError(f'pose metainfo file not found: {path}')
        loaded = Config.fromfile(path)
        info = loaded.get('dataset_info', loaded.get('metainfo'))
        if info is None:
            raise KeyError(f'{path} defines neither `dataset_info` nor `metainfo`')
        meta = {**info.to_dict(), **meta}
    if 'keypoint_names' not in meta:
        return meta  # not a pose metainfo (e.g. the dataset class default before parsing)
    names = list(meta['keypoint_names'])
    k = len(names)
    index = {n: i for i, n in enumerate(names)}

    def to_index(item):
        return index[item] if isinstance(item, str) else int(item)

    flip = list(range(k))
    for a, b in meta.get('flip_pairs', []):
        ia, ib = to_index(a), to_index(b)
        flip[ia], flip[ib] = ib, ia
    sigmas = [float(v) for v in meta.get('sigmas', [0.05] * k)]  # plain floats: checkpoint meta
    if len(sigmas) != k:
        raise ValueError(f'metainfo has {len(sigmas)} sigmas for {k} keypoints')
    meta.update(num_keypoints=k,
                keypoint_names=names,
                flip_indices=flip,
                skeleton_links=[(to_index(a), to_index(b)) for a, b in meta.get('skeleton', [])],
                sigmas=sigmas)
    order = meta.get('group_order')
    if order is None:  # COCO's keypoints group in COCO's order whoever names them
        order = COCO_METAINFO['group_order'] if names == COCO_METAINFO['keypoint_names'] \
            else range(k)
    meta['group_order'] = list(order)
    return meta


@DATASETS.register_module()
class CocoKeypointDataset(CheckedDatasetMixin, BaseDataset):
    """COCO person keypoints (``person_keypoints_*.json`` + an image folder).

    Each sample carries the image path, the people's keypoints ``(N, K, 3)`` (all
    non-crowd people, also those without labelled joints, which add nothing) and
    the segmentations of regions to ignore (crowd annotations and people with
    no labelled keypoints), from which the pipeline builds the loss mask.

    Args:
        ann_file (str): COCO annotation file (relative to ``data_root``).
        data_prefix (dict): ``dict(img='val2017/')``.
        metainfo (dict): pose metainfo (default COCO, see :data:`COCO_METAINFO`).
        filter_empty (bool): keep only images with >= 1 annotation (training);
            default: True outside ``test_mode``.
        skip_bad_images (bool): drop (and count) images that are referenced but
            absent instead of raising, and skip undecodable ones in training.
    """

    METAINFO = COCO_METAINFO
    PREPARE_HINT = PREPARE_HINTS['CocoKeypointDataset']

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: dict = dict(img=''),
                 metainfo: Optional[dict] = None,
                 filter_empty: Optional[bool] = None,
                 skip_bad_images: bool = False,
                 **kwargs):
        self.check_paths(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file)
        self.skip_bad_images = skip_bad_images
        self.filter_empty = filter_empty
        self.num_missing_images = 0
        super().__init__(ann_file=ann_file,
                         data_root=data_root,
                         data_prefix=data_prefix,
                         metainfo=metainfo,
                         **kwargs)

    @classmethod
    def _load_metainfo(cls, metainfo: dict = None) -> dict:
        base = copy.deepcopy(cls.METAINFO)
        if metainfo:
            meta = dict(metainfo)
            base = meta if ('keypoint_names' in meta or 'from_file' in meta) else {**base, **meta}
        return parse_pose_metainfo(base)

    def load_data_list(self) -> List[dict]:
        from pycocotools.coco import COCO
        if not osp.isfile(self.ann_file):
            raise DataPathError(
                f'annotation file not found: {self.ann_file!r}. {self.PREPARE_HINT}')
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                coco = COCO(self.ann_file)
            except Exception as exc:
                raise ValueError(f'cannot read COCO annotations {self.ann_file}: {exc}') from exc
        self._metainfo['ann_file'] = self.ann_file
        self.coco = coco
        k = self._metainfo['num_keypoints']
        filter_empty = (not self.test_mode) if self.filter_empty is None else self.filter_empty
        img_root = self.data_prefix.get('img', '')
        data_list, missing = [], []
        for img_id in sorted(coco.getImgIds()):
            img = coco.loadImgs(img_id)[0]
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=None))
            if filter_empty and not anns:
                continue
            people, ignore = [], []
            for ann in anns:
                kpts = ann.get('keypoints')
                if kpts is not None and len(kpts) != 3 * k:
                    raise ValueError(
                        f'{self.ann_file}: annotation id {ann.get("id")} (image {img_id}) has '
                        f'{len(kpts)} keypoint numbers, expected {3 * k} ({k} keypoints x 3) '
                        'for this dataset metainfo')
                num = ann.get('num_keypoints', 0 if kpts is None else int(
                    (np.array(kpts[2::3]) > 0).sum()))
                if ann.get('iscrowd', 0) or num == 0:
                    if 'segmentation' in ann and ann['segmentation']:
                        ignore.append(ann['segmentation'])
                if not ann.get('iscrowd', 0):
                    people.append(np.zeros(3 * k) if kpts is None else np.asarray(kpts, np.float32))
            path = osp.join(img_root, img['file_name'])
            if not osp.isfile(path):
                if self.skip_bad_images:
                    missing.append(path)
                    continue
                raise BadImageError(path,
                                    f'image referenced by {self.ann_file} (id {img_id}) not found')
            data_list.append(
                dict(img_id=img_id,
                     img_path=path,
                     width=img['width'],
                     height=img['height'],
                     keypoints=np.asarray(people, np.float32).reshape(-1, k, 3),
                     ignore_segmentations=ignore,
                     flip_indices=self._metainfo['flip_indices']))
        if missing:
            self.num_missing_images = len(missing)
            MMLogger.get_current_instance().warning(
                f'{self.ann_file}: skipped {len(missing)} referenced but absent image(s), '
                f'e.g. {missing[0]}')
        return data_list
