"""Bottom-up pose estimator (HigherHRNet): the shared backbone + a bottom-up head."""
from typing import Optional, Sequence

import torch

from hrnet_tasks.models.pose_estimators.base import BasePoseEstimator, PoseDataPreprocessor
from hrnet_tasks.registry import MODELS

__all__ = ['BottomUpPoseEstimator', 'PoseDataPreprocessor']


@MODELS.register_module()
class BottomUpPoseEstimator(BasePoseEstimator):
    """Bottom-up pose estimation: the shared backbone and one bottom-up head (a
    :class:`BasePoseEstimator`).

    The head aggregates the test views and groups people
    (:meth:`HigherHRNetHead.predict`), so another bottom-up head works unchanged.

    Args:
        backbone (dict): the shared ``HRNet`` (``out_mode='highest'``).
        head (dict): ``HigherHRNetHead``.
        codec (dict, optional): ``AssociativeEmbedding`` decoding settings.
        test_cfg (dict): ``flip_test`` (bool, default True), ``scale_factors`` (list of
            float, multi-scale test; tags are taken from scale 1 only).
        metainfo (dict, optional): pose metainfo (keypoint names, flip pairs, grouping
            order); without it, 17 keypoints mean COCO's.
        data_preprocessor (dict): ``PoseDataPreprocessor``.

    ``mode='tensor'`` returns the raw head outputs ``[(B, 2K, H/4, W/4), (B, K, H/2, W/2)]``.
    """

    default_test_cfg = dict(flip_test=True, scale_factors=[1.0])

    def forward_test(self, inputs: torch.Tensor, flip_indices: Optional[Sequence[int]] = None):
        """Aggregated heatmaps (B, K, H, W) and tags (B, K, H, W, L) at input size: what
        :meth:`predict` decodes (``tools/benchmark.py`` times it)."""
        if flip_indices is None and self.test_cfg.get('flip_test', True):
            flip_indices = self.head.flip_indices()
        return self.head.aggregate(self.view_feats(inputs), inputs.shape[-2:], flip_indices,
                                   self.test_cfg)
