"""Segmentation results and their picture (coloured mask overlay + legend)."""
from dataclasses import dataclass, field
from typing import List, Sequence

import cv2
import numpy as np
from mmengine.dataset import Compose

from hrnet_tasks.apis.inference import (TaskAdapter, collate_and_predict, load_inputs,
                                        register_task)
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


def draw_segmentation(image: np.ndarray, result: SegmentationResult, model=None,
                      alpha: float = 0.5) -> np.ndarray:
    """Image blended with the coloured mask (upscaled to >= 512 px wide), plus a legend
    of the classes present (largest first) on the right."""
    mask = colour_mask(result.label_map, result.palette)
    if mask.shape[:2] != image.shape[:2]:
        mask = cv2.resize(mask, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    blend = cv2.addWeighted(image, 1 - alpha, mask, alpha, 0)
    scale = max(1.0, 512 / blend.shape[1])
    if scale > 1:
        blend = cv2.resize(blend, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    line, width = 22, 200
    present = result.present
    height = max(blend.shape[0], line * len(present) + 12)
    canvas = np.full((height, blend.shape[1] + width, 3), 255, np.uint8)
    canvas[:blend.shape[0], :blend.shape[1]] = blend
    x0 = blend.shape[1] + 8
    for k, cls in enumerate(present):
        y = 8 + k * line
        colour = tuple(int(v) for v in result.palette[cls][::-1]) if cls < len(result.palette) \
            else (0, 0, 0)
        cv2.rectangle(canvas, (x0, y), (x0 + 16, y + 16), colour, -1)
        cv2.rectangle(canvas, (x0, y), (x0 + 16, y + 16), (0, 0, 0), 1)
        name = result.classes[cls] if cls < len(result.classes) else str(cls)
        share = 100 * (result.label_map == cls).mean()
        cv2.putText(canvas, f'{name} {share:.0f}%', (x0 + 22, y + 13), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


register_task(TaskAdapter('seg', (EncoderDecoder, ), infer_segmentation, draw_segmentation))
