"""The one-backbone-one-head pose model both regimes share, and its data preprocessor.

:class:`BasePoseEstimator` holds the shared backbone and one pose head and answers the
three modes; the head owns everything regime-specific (targets, test views, decoding),
so :class:`~.bottomup.BottomUpPoseEstimator` and :class:`~.topdown.TopdownPoseEstimator`
differ only in their defaults and their extra test-time entry points.
"""
from typing import Optional

import torch
from mmengine.model import BaseModel

from hrnet_tasks.models.data_preprocessor import ImageBatchPreprocessor
from hrnet_tasks.models.heads.base import build_head, with_batch_meta
from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class PoseDataPreprocessor(ImageBatchPreprocessor):
    """Stacks uint8 HWC->CHW images, padding bottom/right with black pixels to a
    multiple of ``size_divisor`` (None: to the largest image), converts BGR->RGB and
    normalises.

    Padding happens before normalisation, so padded pixels are black, as in the
    official test-time resize (which pads with zeros on the uint8 image).
    """

    def __init__(self,
                 mean=(123.675, 116.28, 103.53),
                 std=(58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 size_divisor: Optional[int] = 32):
        super().__init__(mean, std, bgr_to_rgb, size_divisor=size_divisor)

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs, samples = self.unpack(data)
        batch = self.pad_then_normalize(inputs, self.padded_size(inputs, training))
        return dict(inputs=batch, data_samples=samples)


class BasePoseEstimator(BaseModel):
    """The shared backbone and one pose head.

    The estimator runs the backbone on each test view the head asks for
    (``head.view_inputs``); the head aggregates the views and decodes (its ``predict``).

    Args:
        backbone (dict): the shared ``HRNet``.
        head (dict): the head; ``in_channels`` / ``norm_cfg`` left out are taken from the
            backbone.
        codec (dict, optional): the head's codec, passed to it unless the head config has
            its own.
        test_cfg (dict, optional): the head's test settings, over :attr:`default_test_cfg`.
        metainfo (dict, optional): keypoint metainfo (names, flip pairs, ...), passed to
            the head unless its config has its own.
        data_preprocessor (dict): default ``PoseDataPreprocessor`` with
            :attr:`default_size_divisor`.
    """

    default_test_cfg: dict = {}
    default_size_divisor: Optional[int] = 32

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 codec: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='PoseDataPreprocessor',
                                     size_divisor=self.default_size_divisor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        head = dict(head)
        if codec is not None:
            head.setdefault('codec', codec)
        if metainfo is not None:
            head.setdefault('metainfo', metainfo)
        self.head = build_head(head, self.backbone)
        self.test_cfg = dict(self.default_test_cfg)
        self.test_cfg.update(test_cfg or {})

    @property
    def codec(self):
        return self.head.codec

    @property
    def metainfo(self) -> Optional[dict]:
        return self.head.metainfo

    def check_dataset_meta(self, meta: Optional[dict], source: str = 'the dataset'):
        """One-line error when ``meta`` does not fit the head (see ``BaseHead``)."""
        self.head.check_dataset_meta(meta, source)

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

    def predict(self, inputs: torch.Tensor, data_samples=None):
        data_samples = with_batch_meta(inputs, data_samples)
        # a model loaded by apis.init_model knows its dataset's flips from the checkpoint
        dataset_flip = (getattr(self, 'dataset_meta', None) or {}).get('flip_indices')
        if dataset_flip is not None and self.head.metainfo is None:
            for sample in data_samples:
                if sample.metainfo.get('flip_indices') is None:
                    sample.set_metainfo(dict(flip_indices=list(dataset_flip)))
        return self.head.predict(self.view_feats(inputs), data_samples, self.test_cfg)
