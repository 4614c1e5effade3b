"""Image loading that names the file on every failure, and the packing every task shares."""
from typing import Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.structures import BaseDataElement

from hrnet_tasks.registry import TRANSFORMS


class BadImageError(RuntimeError):
    """An image that is missing, empty or cannot be decoded."""

    def __init__(self, filename: str, reason: str):
        self.filename = filename
        super().__init__(f'{reason}: {filename}. Replace or remove the file, or set '
                         '`skip_bad_images=True` on the training dataset to skip and count '
                         'such files.')


@TRANSFORMS.register_module()
class LoadImage(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that raises :class:`BadImageError` naming the file.

    A decoder that returns nothing for a truncated or non-image file would
    otherwise surface as an opaque assertion deep in a worker process.
    """

    def transform(self, results: dict) -> dict:
        filename = results['img_path']
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError:
            raise BadImageError(filename, 'image file not found') from None
        if not img_bytes:
            raise BadImageError(filename, 'image file is empty')
        try:
            img = mmcv.imfrombytes(img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as exc:  # decoders raise many types for corrupt data
            raise BadImageError(filename, f'cannot decode image ({exc})') from exc
        if img is None or img.size == 0:
            raise BadImageError(filename, 'cannot decode image (corrupt or not an image)')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


def pack_image(results: dict, meta_keys: Sequence[str]) -> Tuple[torch.Tensor, BaseDataElement]:
    """The image as a C x H x W uint8 tensor and a data sample holding the ``meta_keys``
    of ``results`` that are present (the first half of every task's Pack* transform)."""
    img = results['img']
    if img.ndim == 2:
        img = img[..., None]
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    return inputs, BaseDataElement(metainfo={k: results[k] for k in meta_keys if k in results})
