"""Segmentation results and their picture (coloured mask overlay + legend)."""
from dataclasses import dataclass, field
from typing import List, Sequence

import cv2
import numpy as np
from mmengine.dataset import Compose

from hrnet_tasks.apis.drawing import DrawStyle, add_legend, upscale
from hrnet_tasks.apis.inference import (TaskAdapter, collate_and_predict, load_inputs,
                                        register_task, require_test_pipeline)
from hrnet_tasks.models.segmentors import EncoderDecoder


@dataclass
class SegmentationResult:
    label_map: np.ndarray  # H x W class indices at the original image size
    classes: Sequence[str] = field(repr=False)
    palette: Sequence[tuple] = field(repr=False)  # RGB per class

    @property
    def present(self) -> List[int]:
        """Classes in the map, largest area first."""
        ids, counts = np.unique(self.label_map, return_counts=True)
        return [int(i) for i in ids[np.argsort(-counts)]]

    def __repr__(self):
        h, w = self.label_map.shape
        names = ', '.join(f'{self.classes[i]} {100 * (self.label_map == i).mean():.1f}%'
                          for i in self.present[:6])
        return f'SegmentationResult({w}x{h}: {names})'


def _meta(model):
    from hrnet_tasks.datasets.segmentation import make_palette
    meta = dict(getattr(model, 'dataset_meta', None) or {})
    k = model.num_classes
    classes = meta.get('classes')
    if not classes:
        # no meta in the checkpoint: the config's dataset class decides (19 -> Cityscapes)
        from hrnet_tasks.datasets.segmentation import (ADE20K_CLASSES, CITYSCAPES_CLASSES,
                                                       CITYSCAPES_PALETTE)
        classes = {19: CITYSCAPES_CLASSES, 150: ADE20K_CLASSES}.get(k) or \
            [str(i) for i in range(k)]
        meta.setdefault('palette', CITYSCAPES_PALETTE if k == 19 else None)
    palette = meta.get('palette') or make_palette(len(classes))
    return list(classes), [tuple(int(v) for v in c) for c in palette]


def _pipelines(cfg):
    require_test_pipeline(cfg)
    steps = [dict(t) for t in cfg.test_pipeline if t['type'] != 'LoadSegAnnotations']
    return Compose(steps), Compose([t for t in steps if not t['type'].startswith('Load')])


def infer_segmentation(model, images) -> List[SegmentationResult]:
    from_path, from_array = _pipelines(model.cfg)
    samples = collate_and_predict(model, load_inputs(images, from_path, from_array))
    classes, palette = _meta(model)
    return [SegmentationResult(s.pred_sem_seg.data[0].cpu().numpy().astype(np.int32), classes,
                               palette) for s in samples]


def colour_mask(label_map: np.ndarray, palette: Sequence[tuple]) -> np.ndarray:
    """BGR picture of a label map (ignore / unknown ids black)."""
    lut = np.zeros((256, 3), np.uint8)
    for i, rgb in enumerate(palette[:255]):
        lut[i] = rgb[::-1]
    return lut[np.clip(label_map, 0, 255).astype(np.uint8)]


def class_legend(result: SegmentationResult) -> list:
    """Legend entries of the classes present, largest area first: swatch, name and share
    (a class whose palette colour is black is not painted, and says so)."""
    entries = []
    for cls in result.present:
        colour = tuple(int(v) for v in result.palette[cls][::-1]) \
            if cls < len(result.palette) else (0, 0, 0)
        name = result.classes[cls] if cls < len(result.classes) else str(cls)
        unpainted = ' (not painted)' if colour == (0, 0, 0) else ''
        entries.append((colour, f'{name} {100 * (result.label_map == cls).mean():.0f}%'
                                f'{unpainted}'))
    return entries


def blend_mask(image: np.ndarray, result: SegmentationResult, alpha: float) -> np.ndarray:
    """``image`` with the coloured label map blended over it at opacity ``alpha``; pixels of
    black classes (e.g. the background of person segmentation, ignore) stay as they are, so
    the photo is not darkened where nothing was found."""
    mask = colour_mask(result.label_map, result.palette)
    if mask.shape[:2] != image.shape[:2]:
        mask = cv2.resize(mask, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    out = cv2.addWeighted(image, 1 - alpha, mask, alpha, 0)
    plain = ~mask.any(axis=2)
    out[plain] = image[plain]
    return out


def draw_segmentation(image: np.ndarray, result: SegmentationResult, model=None,
                      style: DrawStyle = DrawStyle()) -> np.ndarray:
    """Image blended with the coloured mask (``style.alpha``), upscaled, plus a legend of
    the classes present (largest first) on the right."""
    canvas, _ = upscale(blend_mask(image, result, style.alpha))
    return add_legend(canvas, class_legend(result))


register_task(TaskAdapter('seg', (EncoderDecoder, ), infer_segmentation, draw_segmentation))
