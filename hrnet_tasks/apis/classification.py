"""Classification results and their picture."""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmpretrain.models import ImageClassifier

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


def draw_classification(image: np.ndarray, result: ClassificationResult, model=None) -> np.ndarray:
    """The image (upscaled to >= 320 px wide) with the top-k labels and scores written on it."""
    scale = max(1.0, 320 / image.shape[1])
    canvas = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    line = 22
    height = line * len(result.labels) + 10
    cv2.rectangle(canvas, (0, 0), (canvas.shape[1], height), (0, 0, 0), -1)
    for k, (name, score) in enumerate(zip(result.names, result.scores)):
        text = f'{k + 1}. {name}  {score:.3f}'
        cv2.putText(canvas, text, (6, line * (k + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


register_task(TaskAdapter('cls', (ImageClassifier, ), infer_classification, draw_classification))
