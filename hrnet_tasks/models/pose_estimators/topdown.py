"""Top-down pose estimator: the shared backbone + a heatmap head on one instance crop."""
import torch

from hrnet_tasks.models.pose_estimators.base import BasePoseEstimator
from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class TopdownPoseEstimator(BasePoseEstimator):
    """Top-down pose (and facial landmarks): one crop per person (face), one heatmap per
    keypoint (a :class:`BasePoseEstimator`).

    Args:
        backbone (dict): the shared ``HRNet`` (pose: ``out_mode='highest'``; face:
            ``out_mode='concat', upsample_mode='bilinear'``).
        head (dict): ``HeatmapHead``.
        codec (dict, optional): its ``HeatmapCodec``.
        test_cfg (dict): ``flip_test`` (default True), ``shift_heatmap`` (default: on for
            the plain and DARK codecs, off for UDP), ``output_heatmaps``.
        metainfo (dict, optional): keypoint metainfo; samples carry their flip indices.
        data_preprocessor (dict): ``PoseDataPreprocessor``, unpadded by default (crops
            have the input size; padding would move the flip axis).

    Each data sample gets ``pred_keypoints`` (1, K, 2) in image pixels,
    ``pred_keypoint_scores`` (1, K) and ``pred_scores`` (1,) (the box score).
    ``mode='tensor'`` returns the heatmaps (B, K, H/4, W/4).
    """

    default_test_cfg = dict(flip_test=True)
    default_size_divisor = None

    def forward_test(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """The flip-averaged heatmaps (B, K, H, W) that :meth:`predict` decodes
        (``tools/benchmark.py topdown`` times it)."""
        return self.head.test_heatmaps(self.view_feats(inputs), data_samples, self.test_cfg)
