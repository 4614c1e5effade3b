"""ImageNet-style classification data: class folders, or flat images + a label list."""
from typing import Optional, Sequence

from mmpretrain.datasets import CustomDataset

from hrnet_tasks.datapaths import PREPARE_HINTS
from hrnet_tasks.datasets.base import CheckedDatasetMixin
from hrnet_tasks.registry import DATASETS


@DATASETS.register_module()
class ImageNetDataset(CheckedDatasetMixin, CustomDataset):
    """ImageNet laid out as ``<data_root>/<split>/<wnid>/*.JPEG`` or as flat images
    with a list file of ``<relative path> <class index>`` lines (``ann_file``).

    Class order follows the sorted folder names (the standard 0..999 ImageNet
    order for the 1000 wnids) unless ``classes`` are given. Built on mmpretrain's
    ``CustomDataset``; adds the path check and ``skip_bad_images``.
    """

    PREPARE_HINT = PREPARE_HINTS['ImageNetDataset']

    def __init__(self,
                 data_root: str = '',
                 data_prefix='',
                 ann_file: str = '',
                 classes: Optional[Sequence[str]] = None,
                 skip_bad_images: bool = False,
                 **kwargs):
        self.check_paths(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file)
        self.skip_bad_images = skip_bad_images
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        if classes is not None:
            metainfo['classes'] = tuple(classes)
        super().__init__(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file,
                         metainfo=metainfo or None, with_label=True, **kwargs)
