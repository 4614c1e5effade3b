"""Classification results and their picture."""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
from mmpretrain.models import ImageClassifier

from hrnet_tasks.apis.drawing import DrawStyle, add_legend, upscale
from hrnet_tasks.apis.inference import (TaskAdapter, build_test_pipeline, collate_and_predict,
                                        load_inputs, register_task)


@dataclass
class ClassificationResult:
    labels: List[int]  # top-k class indices, best first
    scores: List[float]  # softmax scores of those classes
    names: List[str]  # class names (or the indices as text without dataset meta)


def class_names(model) -> Optional[Sequence[str]]:
    meta = getattr(model, 'dataset_meta', None) or {}
    return meta.get('classes')


def infer_classification(model, images, topk: int = 5) -> List[ClassificationResult]:
    pipe_path = build_test_pipeline(model.cfg, from_array=False)
    pipe_array = build_test_pipeline(model.cfg, from_array=True)
    samples = collate_and_predict(model, load_inputs(images, pipe_path, pipe_array))
    names = class_names(model)
    results = []
    for sample in samples:
        scores = sample.pred_score.float().cpu().numpy()
        order = np.argsort(-scores)[:topk]
        results.append(ClassificationResult(
            labels=[int(i) for i in order], scores=[float(scores[i]) for i in order],
            names=[str(names[i]) if names is not None else str(i) for i in order]))
    return results


def topk_legend(result: ClassificationResult, topk: int) -> list:
    """Legend entries: the ``topk`` best classes with their scores, best first (a score that
    rounds to 0.000 is written ``<0.001``, not as zero)."""
    entries = []
    for k, (name, score) in enumerate(zip(result.names[:topk], result.scores[:topk])):
        entries.append((None, f'{k + 1}. {name}  ' + (f'{score:.3f}' if score >= 5e-4
                                                      else '<0.001')))
    return entries


def draw_classification(image: np.ndarray, result: ClassificationResult, model=None,
                        style: DrawStyle = DrawStyle()) -> np.ndarray:
    """The image (upscaled) with the top-k classes and their scores beside it."""
    canvas, _ = upscale(image, long_side=320)
    return add_legend(canvas, topk_legend(result, style.topk))


register_task(TaskAdapter('cls', (ImageClassifier, ), infer_classification, draw_classification))
