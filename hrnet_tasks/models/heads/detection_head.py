"""Object detection head: the HRFPN neck and one of torchvision's detectors (Faster R-CNN,
Mask R-CNN, FCOS, RetinaNet) behind the project's head contract (:class:`BaseHead`).

torchvision builds every detection part (anchor generator, RPN, RoI heads with
MultiScaleRoIAlign, box coder, matchers, losses, NMS and post-processing); this module only
feeds those parts. It never runs a torchvision detector's ``forward``, so torchvision's
``GeneralizedRCNNTransform`` never resizes or normalises the images: the pipeline resizes
them once (keep-ratio), the data preprocessor normalises and pads them, and the detector's
parts see the padded batch size and each image's resized size (``img_shape``). Boxes go
back to the original image with torchvision's ``resize_boxes`` (and masks are pasted with
``paste_masks_in_image``) from ``img_shape`` to ``ori_shape``.

Labels: data samples carry 0-based contiguous labels (``gt_instances.labels``); the two-stage
detectors get them + 1 (torchvision's background is 0) and give them back - 1.
"""
import copy
from typing import Dict, List, Sequence

import torch
from mmengine.structures import BaseDataElement, InstanceData
from torch import nn
from torchvision.models.detection import FCOS, FasterRCNN, MaskRCNN, RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.transform import paste_masks_in_image, resize_boxes
from torchvision.ops import MultiScaleRoIAlign

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.models.heads.base import BaseHead
from hrnet_tasks.registry import MODELS

DETECTORS = {'FasterRCNN': FasterRCNN, 'MaskRCNN': MaskRCNN, 'FCOS': FCOS,
             'RetinaNet': RetinaNet}
TWO_STAGE = ('FasterRCNN', 'MaskRCNN')
# detector arguments given as dicts in configs -> the torchvision class they build
PART_BUILDERS = {'rpn_anchor_generator': AnchorGenerator, 'anchor_generator': AnchorGenerator,
                 'box_roi_pool': MultiScaleRoIAlign, 'mask_roi_pool': MultiScaleRoIAlign}
# torchvision's one-stage loss names -> logged names (mmengine sums the keys with 'loss')
LOSS_NAMES = {'classification': 'loss_cls', 'bbox_regression': 'loss_bbox',
              'bbox_ctrness': 'loss_centerness'}


class FeaturesFromHead(nn.Module):
    """What a torchvision detector holds as its backbone here: nothing to run. The
    :class:`DetectionHead` computes the features (HRNet + HRFPN) and feeds the detector's
    parts itself; calling this means the detector's own forward (with its image
    transform) was used by mistake."""

    def __init__(self, out_channels: int):
        super().__init__()
        self.out_channels = out_channels

    def forward(self, images):
        raise RuntimeError('a DetectionHead runs the parts of its torchvision detector, not '
                           'its forward (which would resize and normalise the images again)')


def build_part(name: str, cfg):
    """A config dict of a detector part (anchor generator, RoI pooler) as the torchvision
    object; anything else as given."""
    if not isinstance(cfg, dict) or name not in PART_BUILDERS:
        return cfg
    cfg = dict(cfg)
    if PART_BUILDERS[name] is AnchorGenerator:  # torchvision wants tuples of tuples
        cfg = {k: tuple(tuple(v) for v in cfg[k]) for k in ('sizes', 'aspect_ratios')}
    return PART_BUILDERS[name](**cfg)


@MODELS.register_module()
class DetectionHead(BaseHead):
    """HRFPN + a torchvision detector on the four HRNet branches (``backbone_output='all'``).

    Args:
        in_channels (list[int]): the four branch widths (from the backbone when left out).
        num_classes (int): object classes, background excluded (80 for COCO).
        neck (dict): the neck config (``HRFPN``); its ``in_channels`` come from here.
        detector (dict): ``type`` (``FasterRCNN``, ``MaskRCNN``, ``FCOS``, ``RetinaNet``) and
            that torchvision class's keyword arguments (``rpn_pre_nms_top_n_test``,
            ``box_score_thresh``, ``score_thresh``, ...); ``rpn_anchor_generator`` /
            ``anchor_generator`` (``sizes``, ``aspect_ratios``) and ``box_roi_pool`` /
            ``mask_roi_pool`` (``featmap_names``, ``output_size``, ``sampling_ratio``) are
            given as dicts.
        mask_thr (float): Mask R-CNN's binary mask threshold on the pasted probabilities.

    Training reads ``gt_instances`` (``bboxes`` (N, 4) xyxy in input pixels, ``labels``
    (N,), ``masks`` (N, H, W) uint8 for Mask R-CNN); losses keep torchvision's names for
    the R-CNNs (``loss_objectness``, ``loss_rpn_box_reg``, ``loss_classifier``,
    ``loss_box_reg``, ``loss_mask``) and ``loss_cls``, ``loss_bbox``, ``loss_centerness``
    for the one-stage detectors. ``predict`` sets ``pred_instances`` (``bboxes`` xyxy in
    original image pixels, ``labels``, ``scores``, and boolean ``masks``).
    """

    backbone_output = 'all'
    label_field = 'gt_instances'

    def __init__(self, in_channels: Sequence[int], num_classes: int = 80,
                 neck: dict = dict(type='HRFPN'), detector: dict = dict(type='FasterRCNN'),
                 mask_thr: float = 0.5, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        neck = dict(copy.deepcopy(neck))
        if neck.get('in_channels') is None:
            neck['in_channels'] = list(in_channels)
        self.neck = MODELS.build(neck)
        cfg = dict(copy.deepcopy(detector))
        kind = cfg.pop('type', None)
        if kind not in DETECTORS:
            raise ConfigError(f'head.detector.type must be one of {list(DETECTORS)}, got '
                              f'{kind!r}')
        if 'num_classes' in cfg:
            raise ConfigError('give the class count as head.num_classes (objects, background '
                              'excluded), not head.detector.num_classes')
        self.kind = kind
        self.two_stage = kind in TWO_STAGE
        self.num_classes = num_classes
        self.mask_thr = mask_thr
        cfg = {name: build_part(name, value) for name, value in cfg.items()}
        # torchvision's R-CNN class count includes the background (index 0)
        self.detector = DETECTORS[kind](FeaturesFromHead(self.neck.out_channels),
                                        num_classes + 1 if self.two_stage else num_classes,
                                        **cfg)

    def check_dataset_meta(self, meta, source: str = 'the dataset'):
        """One-line error when the dataset's class count is not the head's."""
        classes = (meta or {}).get('classes')
        if classes is not None and len(classes) != self.num_classes:
            raise ConfigError(f'{source} has {len(classes)} classes ({", ".join(classes[:5])}'
                              f'{", ..." if len(classes) > 5 else ""}) but the detection head '
                              f'{self.num_classes}: set model.head.num_classes={len(classes)}')

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def image_list(maps: Dict[str, torch.Tensor], data_samples) -> ImageList:
        """The batch as torchvision's detector parts see it: the padded batch size (the
        anchor strides) and each image's unpadded size (proposal clipping, RoI scales). The
        pixels are already in the features, so the tensor holds no channels."""
        batch = tuple(data_samples[0].metainfo['batch_input_shape'])
        sizes = [tuple(int(v) for v in s.metainfo['img_shape'][:2]) for s in data_samples]
        first = next(iter(maps.values()))
        return ImageList(first.new_empty((len(sizes), 0, *batch)), sizes)

    def targets(self, data_samples) -> List[Dict[str, torch.Tensor]]:
        offset = 1 if self.two_stage else 0
        out = []
        for sample in data_samples:
            gt = sample.gt_instances
            target = dict(boxes=gt.bboxes.float(), labels=gt.labels.long() + offset)
            if self.kind == 'MaskRCNN':
                if 'masks' not in gt:
                    raise RuntimeError('Mask R-CNN trains on gt_instances.masks: load the '
                                       'dataset with with_mask=True')
                target['masks'] = gt.masks
            out.append(target)
        return out

    # ------------------------------------------------------------------ contract
    def forward(self, feats) -> tuple:
        """Raw dense outputs: the HRFPN maps, then the RPN's objectness and box deltas per
        level (R-CNNs) or the one-stage head's outputs (classification logits, box
        regression, and FCOS's centerness), all before any decoding or NMS."""
        maps = self.neck(feats)
        levels = list(maps.values())
        if self.two_stage:
            objectness, deltas = self.detector.rpn.head(levels)
            return (*levels, *objectness, *deltas)
        outputs = self.detector.head(levels)
        return (*levels, *outputs.values())

    def loss(self, feats, data_samples) -> Dict[str, torch.Tensor]:
        maps = self.neck(feats)
        images = self.image_list(maps, data_samples)
        targets = self.targets(data_samples)
        det = self.detector
        if self.two_stage:
            proposals, losses = det.rpn(images, maps, targets)
            _, roi_losses = det.roi_heads(maps, proposals, images.image_sizes, targets)
            losses.update(roi_losses)
            return losses
        levels = list(maps.values())
        outputs = det.head(levels)
        anchors = det.anchor_generator(images, levels)
        if self.kind == 'FCOS':
            losses = det.compute_loss(targets, outputs, anchors,
                                      [x.size(2) * x.size(3) for x in levels])
        else:
            losses = det.compute_loss(targets, outputs, anchors)
        return {LOSS_NAMES.get(k, k): v for k, v in losses.items()}

    def detections(self, feats, data_samples) -> List[Dict[str, torch.Tensor]]:
        """torchvision's detections per image (boxes in input pixels, torchvision labels,
        scores, mask probabilities (N, 1, 28, 28)), before the mapping to the image."""
        maps = self.neck(feats)
        images = self.image_list(maps, data_samples)
        det = self.detector
        if self.two_stage:
            proposals, _ = det.rpn(images, maps)
            detections, _ = det.roi_heads(maps, proposals, images.image_sizes)
            return detections
        levels = list(maps.values())
        outputs = det.head(levels)
        anchors = det.anchor_generator(images, levels)
        # per-level split of the flattened outputs, as the one-stage detectors' forward does
        locations = [x.size(2) * x.size(3) for x in levels]
        per_location = outputs['cls_logits'].size(1) // sum(locations)
        sizes = [n * per_location for n in locations]
        split = {k: list(v.split(sizes, dim=1)) for k, v in outputs.items()}
        return det.postprocess_detections(split, [list(a.split(sizes)) for a in anchors],
                                          images.image_sizes)

    def image_detections(self, feats, size) -> tuple:
        """(boxes (N, 4) in input pixels, scores (N,), 0-based labels (N,)) of a batch of one
        image of ``size`` (H, W), unpadded: what ``tools/export_onnx.py`` exports."""
        size = tuple(int(v) for v in size)
        sample = BaseDataElement(metainfo=dict(img_shape=size, batch_input_shape=size))
        det = self.detections(feats, [sample])[0]
        return det['boxes'], det['scores'], det['labels'] - (1 if self.two_stage else 0)

    def predict(self, view_feats: Sequence, data_samples, test_cfg: dict = None):
        offset = 1 if self.two_stage else 0
        for sample, det in zip(data_samples, self.detections(view_feats[0], data_samples)):
            size = tuple(int(v) for v in sample.metainfo['img_shape'][:2])
            ori = tuple(int(v) for v in sample.metainfo['ori_shape'][:2])
            boxes = resize_boxes(det['boxes'], size, ori)
            pred = InstanceData(bboxes=boxes, labels=det['labels'] - offset,
                                scores=det['scores'])
            if 'masks' in det:
                pred.masks = paste_masks_in_image(det['masks'], boxes, ori)[:, 0] > self.mask_thr
            sample.pred_instances = pred
        return data_samples
