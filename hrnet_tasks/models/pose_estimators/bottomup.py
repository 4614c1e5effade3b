"""Bottom-up pose estimator (HigherHRNet): the shared backbone + a bottom-up head."""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseModel

from hrnet_tasks.models.data_preprocessor import ImageBatchPreprocessor
from hrnet_tasks.models.heads.base import build_head, with_batch_meta
from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class PoseDataPreprocessor(ImageBatchPreprocessor):
    """Stacks uint8 HWC->CHW images, padding bottom/right with black pixels to a
    multiple of ``size_divisor``, converts BGR->RGB and normalises.

    Padding happens before normalisation, so padded pixels are black, as in the
    official test-time resize (which pads with zeros on the uint8 image).
    """

    def __init__(self,
                 mean=(123.675, 116.28, 103.53),
                 std=(58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 size_divisor: int = 32):
        super().__init__(mean, std, bgr_to_rgb, size_divisor=size_divisor)

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs, samples = self.unpack(data)
        batch = self.pad_then_normalize(inputs, self.padded_size(inputs, training))
        return dict(inputs=batch, data_samples=samples)


@MODELS.register_module()
class BottomUpPoseEstimator(BaseModel):
    """Bottom-up pose estimation: the shared backbone and one bottom-up head.

    The estimator runs the backbone on each test view the head asks for
    (``head.view_inputs``); the head aggregates the views and decodes people
    (:meth:`HigherHRNetHead.predict`), so another bottom-up head works unchanged.

    Args:
        backbone (dict): the shared ``HRNet`` (``out_mode='highest'``).
        head (dict): ``HigherHRNetHead``; ``in_channels`` / ``norm_cfg`` left out are
            taken from the backbone.
        codec (dict, optional): ``AssociativeEmbedding`` decoding settings, passed to
            the head (which holds the codec) unless the head config has its own.
        test_cfg (dict): ``flip_test`` (bool), ``scale_factors`` (list of float,
            multi-scale test; tags are taken from scale 1 only).
        metainfo (dict, optional): pose metainfo (keypoint names, flip pairs, grouping
            order), passed to the head; without it, 17 keypoints mean COCO's.
        data_preprocessor (dict): ``PoseDataPreprocessor``.

    ``mode='tensor'`` returns the raw head outputs ``[(B, 2K, H/4, W/4), (B, K, H/2, W/2)]``.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 codec: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='PoseDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        head = dict(head)
        if codec is not None:
            head.setdefault('codec', codec)
        if metainfo is not None:
            head.setdefault('metainfo', metainfo)
        self.head = build_head(head, self.backbone)
        self.test_cfg = dict(flip_test=True, scale_factors=[1.0])
        self.test_cfg.update(test_cfg or {})

    @property
    def codec(self):
        return self.head.codec

    @property
    def metainfo(self) -> Optional[dict]:
        return self.head.metainfo

    def extract_feat(self, inputs: torch.Tensor):
        return self.backbone(inputs)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        if mode == 'loss':
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; use "tensor", "loss" or "predict"')

    def view_feats(self, inputs: torch.Tensor) -> list:
        """Backbone features of each test view of the head."""
        return [self.extract_feat(x) for x in self.head.view_inputs(inputs, self.test_cfg)]

    def forward_test(self, inputs: torch.Tensor, flip_indices: Optional[Sequence[int]] = None):
        """Aggregated heatmaps (B, K, H, W) and tags (B, K, H, W, L) at input size: what
        :meth:`predict` decodes (``tools/benchmark.py`` times it)."""
        if flip_indices is None and self.test_cfg.get('flip_test', True):
            flip_indices = self.head.flip_indices()
        return self.head.aggregate(self.view_feats(inputs), inputs.shape[-2:], flip_indices,
                                   self.test_cfg)

    def predict(self, inputs: torch.Tensor, data_samples=None):
        data_samples = with_batch_meta(inputs, data_samples)
        # a model loaded by apis.init_model knows its dataset's flips from the checkpoint
        dataset_flip = (getattr(self, 'dataset_meta', None) or {}).get('flip_indices')
        if dataset_flip is not None and self.head.metainfo is None:
            for sample in data_samples:
                if sample.metainfo.get('flip_indices') is None:
                    sample.set_metainfo(dict(flip_indices=list(dataset_flip)))
        return self.head.predict(self.view_feats(inputs), data_samples, self.test_cfg)
