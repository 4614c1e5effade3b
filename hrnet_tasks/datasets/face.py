"""Facial-landmark datasets: WFLW (98 points), 300W (68), COFW (29), AFLW (19).

One sample is one face (the per-instance sample of the top-down pipeline: ``bbox``,
``keypoints``, ``keypoints_visible``, ...). Two annotation formats are read, chosen by the
file extension:

* ``.csv``, the official HRNet-Facial-Landmark-Detection format: a header, then one face
  per line ``image_name,scale,center_w,center_h,original_0_x,original_0_y,...`` (AFLW has
  ``box_size`` after ``scale``). ``scale`` is the side of the face box / 200 and the
  center its middle.
* ``.json``, mmpose's COCO-style files: ``images`` + ``annotations`` with ``keypoints``
  (3 numbers per point) and ``center``/``scale`` in the same units (AFLW also
  ``box_size``); COFW's files have only a ``bbox``.

The box of a face becomes ``bbox`` = the square of side ``200 * scale`` around the center.
The official loaders multiply ``scale`` by 1.25 before cropping; here that padding is
``GetBBoxCenterScale(padding=1.25)`` in the pipeline, so the crop is the official one
(``200 * 1.25 * scale`` pixels around the center). COFW has no center/scale: by default the
box is built from the points as the official COFW loader does (``box_source='keypoints'``);
``box_source='bbox'`` uses the JSON ``bbox`` as mmpose does.
"""
import csv
import json
import math
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset

from hrnet_tasks.datapaths import FACE_HINT
from hrnet_tasks.datasets.base import CheckedDatasetMixin, DataPathError
from hrnet_tasks.datasets.coco_keypoints import parse_pose_metainfo
from hrnet_tasks.datasets.face_metainfo import (AFLW_METAINFO, COFW_METAINFO, W300_METAINFO,
                                                WFLW_METAINFO)
from hrnet_tasks.registry import DATASETS

PIXEL_STD = 200  # csv/JSON `scale` is in units of 200 pixels
BOX_SOURCES = ('center_scale', 'keypoints', 'bbox')


def box_from_keypoints(points: np.ndarray):
    """The official COFW face box: center and square side (pixels) from the point extent,
    with the extent widened to whole pixels (floor of the minimum, ceil of the maximum)."""
    lo, hi = np.floor(points.min(0)), np.ceil(points.max(0))
    return (lo + hi) / 2, float((hi - lo).max())


class FaceLandmarkDataset(CheckedDatasetMixin, BaseDataset):
    """Base of the face sets: reads the official csv and mmpose's JSON (see module doc).

    Args:
        ann_file (str): ``.csv`` or ``.json`` (relative to ``data_root``).
        data_root (str): dataset root.
        data_prefix (dict): ``dict(img='images/')``: image folder the csv ``image_name`` /
            JSON ``file_name`` are relative to.
        metainfo (dict, optional): overrides of the set's metainfo (a dict with
            ``keypoint_names`` replaces it; ``dict(from_file=...)`` loads one).
        box_source (str, optional): ``'center_scale'`` (default except COFW), ``'keypoints'``
            (official COFW; csv or JSON) or ``'bbox'`` (the JSON ``bbox``, x + w clipped to
            the image, as mmpose does for COFW).
        skip_bad_images (bool): drop (and count) faces whose image is absent instead of
            raising, and skip undecodable images in training.

    Each sample also carries ``box_size``: AFLW's own column (its NME normaliser), for the
    other sets the side of the face box (``200 * scale``).
    """

    METAINFO: dict = {}
    # csv columns between `scale` and `center_w` (AFLW: box_size)
    CSV_EXTRA_COLUMNS: tuple = ()
    DEFAULT_BOX_SOURCE = 'center_scale'
    PREPARE_HINT = FACE_HINT

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: dict = dict(img=''),
                 metainfo: Optional[dict] = None,
                 box_source: Optional[str] = None,
                 skip_bad_images: bool = False,
                 **kwargs):
        self.check_paths(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file)
        self.box_source = box_source or self.DEFAULT_BOX_SOURCE
        if self.box_source not in BOX_SOURCES:
            raise ValueError(f'{type(self).__name__}: box_source must be one of {BOX_SOURCES}, '
                             f'got {self.box_source!r}')
        self.skip_bad_images = skip_bad_images
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         metainfo=metainfo, **kwargs)

    @classmethod
    def _load_metainfo(cls, metainfo: dict = None) -> dict:
        meta = dict(metainfo or {})
        if 'keypoint_names' not in meta and 'from_file' not in meta:
            meta = {**cls.METAINFO, **meta}
        return parse_pose_metainfo(meta)

    @property
    def num_keypoints(self) -> int:
        return self._metainfo['num_keypoints']

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise DataPathError(f'annotation file not found: {self.ann_file!r}. '
                                f'{self.PREPARE_HINT}')
        self._metainfo['ann_file'] = self.ann_file
        ext = osp.splitext(self.ann_file)[1].lower()
        if ext == '.csv':
            faces = self._read_csv()
        elif ext == '.json':
            faces = self._read_json()
        elif ext == '.mat':
            raise ValueError(
                f'{self.ann_file}: the official COFW .mat files (MATLAB v7.3, HDF5) are not read; '
                "use mmpose's COCO-style cofw_{train,test}.json (see docs/face.md)")
        else:
            raise ValueError(f'{self.ann_file}: face annotations must be .csv (official HRNet '
                             'format) or .json (COCO style)')
        return self.drop_missing_images([self._sample(**face) for face in faces],
                                        self.ann_file)

    def _sample(self, img_path, img_id, ann_id, points, visible, center, side, box_size):
        half = side / 2
        return dict(img_path=img_path,
                    img_id=img_id,
                    id=ann_id,
                    category_id=1,
                    bbox=np.array([[center[0] - half, center[1] - half, center[0] + half,
                                    center[1] + half]], np.float32),
                    bbox_score=np.ones(1, np.float32),
                    keypoints=points.reshape(1, -1, 2).astype(np.float32),
                    keypoints_visible=visible.reshape(1, -1).astype(np.float32),
                    box_size=float(box_size),
                    flip_indices=self._metainfo['flip_indices'],
                    dataset_name=self._metainfo['dataset_name'])

    def _read_csv(self) -> List[dict]:
        """Faces of an official csv; image ids number the distinct images in file order."""
        k = self.num_keypoints
        head = ['image_name', 'scale', *self.CSV_EXTRA_COLUMNS, 'center_w', 'center_h']
        num_cols = len(head) + 2 * k
        layout = f'{",".join(head)} + {2 * k} point coordinates'
        img_root = self.data_prefix.get('img', '')
        if self.box_source == 'bbox':
            raise ValueError(f"{self.ann_file}: box_source='bbox' needs the JSON bbox; an official "
                             "csv has center/scale ('center_scale') and points ('keypoints')")
        faces, img_ids = [], {}
        with open(self.ann_file, newline='') as f:
            rows = csv.reader(f)
            header = next(rows, None)
            if header is None or [h.strip() for h in header[:len(head)]] != head:
                raise ValueError(f'{self.ann_file}:1: expected the header {layout} '
                                 f'({self.METAINFO["dataset_name"]}), got {header}')
            for line, row in enumerate(rows, start=2):
                if not row:
                    continue
                if len(row) != num_cols:
                    raise ValueError(
                        f'{self.ann_file}:{line}: {len(row)} columns, expected {num_cols} for the '
                        f'{k} points of {self.METAINFO["dataset_name"]} ({layout})')
                try:
                    values = np.array(row[1:], np.float64)
                except ValueError:
                    raise ValueError(f'{self.ann_file}:{line}: a non-numeric value in the '
                                     f'columns after image_name ({layout})') from None
                scale = values[0]
                extra = dict(zip(self.CSV_EXTRA_COLUMNS, values[1:len(head) - 1]))
                name = row[0]
                center = values[len(head) - 3:len(head) - 1]
                points = values[len(head) - 1:].reshape(k, 2)
                side = None
                if self.box_source == 'keypoints':
                    center, side = box_from_keypoints(points)
                faces.append(
                    self._face(name, img_ids.setdefault(name, len(img_ids)), line - 2, points,
                               np.ones(k), center, scale, extra.get('box_size'), img_root,
                               side=side))
        return faces

    def _read_json(self) -> List[dict]:
        k = self.num_keypoints
        try:
            with open(self.ann_file) as f:
                coco = json.load(f)
            images = {img['id']: img for img in coco['images']}
            anns = coco['annotations']
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f'{self.ann_file}: not a COCO-style face annotation file '
                             f'(images + annotations): {exc!r}') from None
        img_root = self.data_prefix.get('img', '')
        faces = []
        for ann in sorted(anns, key=lambda a: (a['image_id'], a['id'])):
            where = f'{self.ann_file}: annotation id {ann.get("id")}'
            kpts = np.asarray(ann.get('keypoints', []), np.float64)
            if kpts.size != 3 * k:
                raise ValueError(f'{where} has {kpts.size} keypoint numbers, expected {3 * k} '
                                 f'({k} points x 3) for {self.METAINFO["dataset_name"]}')
            if ann['image_id'] not in images:
                raise ValueError(f'{where}: image_id {ann["image_id"]} is not in `images`')
            img = images[ann['image_id']]
            kpts = kpts.reshape(k, 3)
            points, visible = kpts[:, :2], (kpts[:, 2] > 0).astype(np.float64)
            center, scale, side = ann.get('center'), ann.get('scale'), None
            if self.box_source == 'keypoints':
                center, side = box_from_keypoints(points)
            elif self.box_source == 'bbox':
                if 'bbox' not in ann:
                    raise ValueError(f"{where} has no bbox (box_source='bbox')")
                center, side = self._clipped_bbox(ann['bbox'], img)
            elif center is None or scale is None:
                raise ValueError(f"{where} has no center/scale; for COFW-style files (bbox "
                                 "only) set box_source='keypoints' (official) or 'bbox'")
            faces.append(
                self._face(img['file_name'], ann['image_id'], ann['id'], points, visible,
                           np.asarray(center, np.float64), scale, ann.get('box_size'), img_root,
                           side=side))
        return faces

    @staticmethod
    def _clipped_bbox(bbox, img):
        """mmpose's xywh -> xyxy with x + w clipped to the image: center and the long side
        (the square crop of a non-square box grows the short side)."""
        x, y, w, h = (float(v) for v in bbox)
        x1, x2 = np.clip([x, x + w], 0, img['width'] - 1)
        y1, y2 = np.clip([y, y + h], 0, img['height'] - 1)
        return np.array([(x1 + x2) / 2, (y1 + y2) / 2]), float(max(x2 - x1, y2 - y1))

    @staticmethod
    def _face(name, img_id, ann_id, points, visible, center, scale, box_size, img_root,
              side=None):
        side = PIXEL_STD * float(scale) if side is None else side
        if not (side > 0 and math.isfinite(side)):
            raise ValueError(f'face {ann_id} of {name}: face box side {side} (scale {scale}) '
                             'must be positive')
        return dict(img_path=osp.join(img_root, name), img_id=int(img_id), ann_id=int(ann_id),
                    points=points, visible=visible, center=center, side=side,
                    box_size=side if box_size is None else float(box_size))


@DATASETS.register_module()
class WFLWDataset(FaceLandmarkDataset):
    """WFLW, 98 points (``face_landmarks_wflw_{train,test,test_<subset>}.csv``)."""
    METAINFO = WFLW_METAINFO


@DATASETS.register_module()
class Face300WDataset(FaceLandmarkDataset):
    """300W, 68 points (``face_landmarks_300w_{train,valid,valid_common,valid_challenge,
    test}.csv``)."""
    METAINFO = W300_METAINFO


@DATASETS.register_module()
class COFWDataset(FaceLandmarkDataset):
    """COFW, 29 points (mmpose's ``cofw_{train,test}.json``: a ``bbox``, no center/scale;
    the box comes from the points by default, as in the official loader)."""
    METAINFO = COFW_METAINFO
    DEFAULT_BOX_SOURCE = 'keypoints'


@DATASETS.register_module()
class AFLWDataset(FaceLandmarkDataset):
    """AFLW, 19 points (``face_landmarks_aflw_{train,test,test_frontal}.csv``, with the
    ``box_size`` column its NME is normalised by)."""
    METAINFO = AFLW_METAINFO
    CSV_EXTRA_COLUMNS = ('box_size', )
