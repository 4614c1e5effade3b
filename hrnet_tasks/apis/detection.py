"""Object detection results and their picture (boxes, class names, scores; masks blended)."""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np

from hrnet_tasks.apis.drawing import (DrawStyle, add_legend, draw_boxes, instance_colours,
                                      upscale)
from hrnet_tasks.apis.inference import (TaskAdapter, build_test_pipeline, collate_and_predict,
                                        load_inputs, register_task)
from hrnet_tasks.models.detectors import Detector


@dataclass
class DetectionResult:
    bboxes: np.ndarray  # (N, 4) x1, y1, x2, y2 in original image pixels, best score first
    scores: np.ndarray  # (N,)
    labels: np.ndarray  # (N,) contiguous 0-based class indices
    classes: Sequence[str] = field(repr=False)  # name of each label
    masks: Optional[np.ndarray] = field(default=None, repr=False)  # (N, H, W) bool

    def __len__(self):
        return len(self.scores)

    @property
    def names(self) -> List[str]:
        return [self.classes[int(k)] for k in self.labels]

    def select(self, score_thr: float = 0.0,
               classes: Optional[Sequence[str]] = None) -> 'DetectionResult':
        """The boxes scored at least ``score_thr`` (and of the named ``classes``)."""
        keep = self.scores >= score_thr
        if classes is not None:
            keep &= np.isin(np.asarray(self.names, dtype=object), list(classes))
        return DetectionResult(self.bboxes[keep], self.scores[keep], self.labels[keep],
                               self.classes, None if self.masks is None else self.masks[keep])

    def __repr__(self):
        shown = ', '.join(f'{n} {s:.2f}' for n, s in zip(self.names[:6], self.scores[:6]))
        more = f', ... (+{len(self) - 6})' if len(self) > 6 else ''
        return f'DetectionResult({len(self)} boxes{": " if len(self) else ""}{shown}{more})'


def class_names(model, num_classes: int) -> List[str]:
    """The dataset's class names from the checkpoint, COCO's for 80 classes, else indices."""
    from hrnet_tasks.datasets.coco_detection import COCO_CLASSES
    meta = getattr(model, 'dataset_meta', None) or {}
    if meta.get('classes') and len(meta['classes']) == num_classes:
        return list(meta['classes'])
    return list(COCO_CLASSES) if num_classes == len(COCO_CLASSES) else \
        [str(i) for i in range(num_classes)]


def detection_result(pred, classes: Sequence[str]) -> DetectionResult:
    """A ``pred_instances`` as a :class:`DetectionResult`, best score first."""
    scores = pred.scores.float().cpu().numpy()
    order = np.argsort(-scores, kind='stable')
    masks = pred.masks.cpu().numpy()[order] if 'masks' in pred else None
    return DetectionResult(pred.bboxes.float().cpu().numpy()[order], scores[order],
                           pred.labels.cpu().numpy()[order], list(classes), masks)


def infer_detection(model, images) -> List[DetectionResult]:
    samples = collate_and_predict(model, load_inputs(
        images, build_test_pipeline(model.cfg, from_array=False),
        build_test_pipeline(model.cfg, from_array=True)))
    classes = class_names(model, model.head.num_classes)
    return [detection_result(s.pred_instances, classes) for s in samples]


def draw_detections(canvas: np.ndarray, result: DetectionResult, scale: float,
                    style: DrawStyle = DrawStyle(), placer=None) -> list:
    """Masks (blended at ``style.alpha``) and boxes with ``name score`` labels of the boxes
    at or above ``style.score_thr``, one colour per class, on an upscaled ``canvas``;
    returns the legend entries (one per class drawn, with its box count)."""
    import cv2
    colours = instance_colours(len(result.classes))
    shown = result.select(style.score_thr)
    if shown.masks is not None and len(shown):
        overlay = canvas.copy()
        for mask, label in zip(shown.masks, shown.labels):
            big = cv2.resize(mask.astype(np.uint8), (canvas.shape[1], canvas.shape[0]),
                             interpolation=cv2.INTER_NEAREST).astype(bool)
            overlay[big] = colours[int(label)]
        canvas[:] = cv2.addWeighted(canvas, 1 - style.alpha, overlay, style.alpha, 0)
    draw_boxes(canvas, shown.bboxes, shown.scores, shown.names, scale, style, placer,
               [colours[int(k)] for k in shown.labels])
    counts = {}
    for label in shown.labels:
        counts[int(label)] = counts.get(int(label), 0) + 1
    return [(colours[k], f'{result.classes[k]} x{n}') for k, n in sorted(counts.items())]


def draw_detection(image: np.ndarray, result: DetectionResult, model=None,
                   style: DrawStyle = DrawStyle()) -> np.ndarray:
    """The image upscaled with the boxes above ``style.score_thr``, and a legend of the
    classes drawn and their counts on the right."""
    canvas, scale = upscale(image)
    return add_legend(canvas, draw_detections(canvas, result, scale, style))


register_task(TaskAdapter('det', (Detector, ), infer_detection, draw_detection,
                          shown=lambda result, style: result.select(style.score_thr)))
