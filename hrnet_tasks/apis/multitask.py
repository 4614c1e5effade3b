"""Joint-model results (one per image, every head's output) and their picture."""
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Dict, List

import numpy as np

from hrnet_tasks.apis.classification import ClassificationResult, class_names, topk_legend
from hrnet_tasks.apis.detection import DetectionResult, draw_detections
from hrnet_tasks.apis.drawing import DrawStyle, add_legend, draw_people, upscale
from hrnet_tasks.apis.inference import TaskAdapter, collate_and_predict, load_inputs, register_task
from hrnet_tasks.apis.pose import PoseResult, people_legend, pose_metainfo
from hrnet_tasks.apis.segmentation import SegmentationResult, blend_mask, class_legend
from hrnet_tasks.models.multitask import MultiTaskModel


@dataclass
class MultiTaskResult:
    """Head name -> that task's result (``PoseResult``, ``SegmentationResult``,
    ``ClassificationResult``, ``DetectionResult``), all for the same image."""
    tasks: Dict[str, object]

    def __getitem__(self, name: str):
        return self.tasks[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tasks

    def __repr__(self):
        return 'MultiTaskResult(' + ', '.join(f'{k}={v!r}' for k, v in self.tasks.items()) + ')'


def _pipelines(cfg):
    """The config's test pipeline without the label loaders (inference has no labels)."""
    from mmengine.dataset import Compose

    from hrnet_tasks.apis.inference import require_test_pipeline
    require_test_pipeline(cfg)
    steps = [dict(t) for t in cfg.test_pipeline
             if t['type'] not in ('LoadPersonMask', 'LoadSegAnnotations')]
    return Compose(steps), Compose([t for t in steps if not t['type'].startswith('Load')])


def _task_view(model, name: str):
    """An object with the ``dataset_meta`` of task ``name``: a mixed-dataset model keeps
    one metainfo per task (``MultiTaskDataset.metainfo``), a joint one a single metainfo."""
    meta = getattr(model, 'dataset_meta', None) or {}
    if isinstance(meta.get(name), dict):
        meta = meta[name]
    return SimpleNamespace(dataset_meta=meta)


def _seg_classes(model, head):
    from hrnet_tasks.datasets.segmentation import make_palette
    meta = model.dataset_meta
    classes = meta.get('classes') or [str(i) for i in range(head.num_classes)]
    palette = meta.get('palette') or make_palette(len(classes))
    return list(classes), [tuple(int(v) for v in c) for c in palette]


def _to_result(model, name: str, sample):
    head = model.heads[name]
    kind = head.backbone_output
    model = _task_view(model, name)
    if head.pred_field('pred_keypoints') in sample and head.label_field == 'gt_heatmaps':
        # the head's own fields: two pose heads write under their pred_prefix
        fields = [sample.get(head.pred_field(f)) for f in
                  ('pred_keypoints', 'pred_keypoint_scores', 'pred_scores')]
        kpts = np.concatenate([fields[0], fields[1][..., None]], -1)
        order = np.argsort(-fields[2], kind='stable')
        return PoseResult(kpts[order], fields[2][order],
                          list(pose_metainfo(model)['keypoint_names']))
    if 'pred_sem_seg' in sample and kind == 'concat':
        classes, palette = _seg_classes(model, head)
        return SegmentationResult(sample.pred_sem_seg.data[0].cpu().numpy().astype(np.int32),
                                  classes, palette)
    scores = sample.pred_score.float().cpu().numpy()
    order = np.argsort(-scores)[:5]
    names = class_names(model)
    return ClassificationResult([int(i) for i in order], [float(scores[i]) for i in order],
                                [str(names[i]) if names else str(i) for i in order])


def infer_multitask(model, images) -> List[MultiTaskResult]:
    from hrnet_tasks.apis.detect_pose import detect_then_pose, head_named, is_detect_pose_model
    if is_detect_pose_model(model):
        # detection + top-down heads: the person boxes of the image, then their poses
        det, pose = head_named(model, 'det'), head_named(model, 'topdown')
        return [MultiTaskResult({det: r.detections, pose: r.poses})
                for r in (detect_then_pose(model, model, image) for image in images)]
    from_path, from_array = _pipelines(model.cfg)
    samples = collate_and_predict(model, load_inputs(images, from_path, from_array))
    return [MultiTaskResult({name: _to_result(model, name, s) for name in model.heads})
            for s in samples]


def draw_multitask(image: np.ndarray, result: MultiTaskResult, model=None,
                   style: DrawStyle = DrawStyle()) -> np.ndarray:
    """One picture: the segmentation masks blended over the image, the skeletons on top,
    and one legend on the right: the classes present, the people drawn, the top-k classes
    (the single-task pictures' pieces, hrnet_tasks.apis.drawing)."""
    canvas, legend = image, []
    for name, res in result.tasks.items():
        if isinstance(res, SegmentationResult):
            canvas = blend_mask(canvas, res, style.alpha)
            legend += [(None, f'{name}:')] + class_legend(res)
    canvas, scale = upscale(canvas)
    for name, res in result.tasks.items():
        if isinstance(res, PoseResult):
            meta = pose_metainfo(_task_view(model, name) if model is not None else None)
            drawn = draw_people(canvas, res.keypoints, res.scores, meta['skeleton_links'],
                                scale, style)
            legend += [(None, f'{name}:')] + people_legend(res.scores, drawn, style)
        elif isinstance(res, ClassificationResult):
            legend += [(None, f'{name}:')] + topk_legend(res, style.topk)
        elif isinstance(res, DetectionResult):
            legend += [(None, f'{name}:')] + draw_detections(canvas, res, scale, style)
    return add_legend(canvas, legend)


def visible_parts(result: MultiTaskResult, style: DrawStyle = DrawStyle()) -> MultiTaskResult:
    """What ``draw_multitask`` shows: each pose result cut to its visible people."""
    return MultiTaskResult({name: res.visible(style) if isinstance(res, PoseResult) else res
                            for name, res in result.tasks.items()})


register_task(TaskAdapter('multitask', (MultiTaskModel, ), infer_multitask, draw_multitask,
                          shown=visible_parts))
