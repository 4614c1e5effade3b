"""Behaviour every task dataset shares: path checks that name the fix, and
skip-and-count of bad images."""
import os.path as osp
from typing import List, Tuple

from mmengine.logging import MMLogger

from hrnet_tasks import datapaths
from hrnet_tasks.datapaths import DataPathError  # noqa: F401 (re-exported)
from hrnet_tasks.datasets.transforms.loading import BadImageError


def load_coco(ann_file: str, hint: str):
    """pycocotools' ``COCO`` of ``ann_file`` (its index printout silenced); a missing file
    raises ``DataPathError`` with ``hint``, an unreadable one a one-line ``ValueError``."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    if not osp.isfile(ann_file):
        raise DataPathError(f'annotation file not found: {ann_file!r}. {hint}')
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return COCO(ann_file)
        except Exception as exc:  # json and pycocotools raise many types
            raise ValueError(f'cannot read COCO annotations {ann_file}: {exc}') from exc


class CheckedDatasetMixin:
    """Mixed into every task dataset (before the mmengine/mmpretrain base class).

    * :meth:`check_paths` runs from the dataset config alone, so ``tools/train.py``
      can report a missing data root before any model is built.
    * ``__getitem__`` skips undecodable images in training when
      ``skip_bad_images`` is set, counting them. In test mode a bad image always
      raises: substituting another sample would count it twice in the metric.
    """

    PREPARE_HINT = ''
    skip_bad_images: bool = False
    num_skipped_images: int = 0

    @classmethod
    def required_paths(cls, **dataset_cfg) -> List[Tuple[str, str]]:
        return datapaths.required_paths(**dataset_cfg)

    @classmethod
    def check_paths(cls, **dataset_cfg):
        datapaths.check_paths(cls.__name__, cls.PREPARE_HINT, cls.required_paths(**dataset_cfg))

    def drop_missing_images(self, data_list: List[dict], source: str) -> List[dict]:
        """The samples of ``data_list`` whose ``img_path`` exists. An absent image raises
        :class:`BadImageError` naming ``source`` (the annotation file), or with
        ``skip_bad_images`` its samples are dropped, counted in ``num_missing_images``
        and reported in one warning."""
        exists = {}
        for sample in data_list:
            path = sample['img_path']
            if path not in exists:
                exists[path] = osp.isfile(path)
                if not exists[path] and not self.skip_bad_images:
                    raise BadImageError(path, f'image referenced by {source} not found')
        missing = [p for p, ok in exists.items() if not ok]
        self.num_missing_images = len(missing)
        if missing:
            MMLogger.get_current_instance().warning(
                f'{source}: skipped {len(missing)} referenced but absent image(s), '
                f'e.g. {missing[0]}')
        return [s for s in data_list if exists[s['img_path']]]

    @property
    def _bad_indices(self) -> set:
        # per worker process: samples already found bad are not drawn again
        if '_bad_index_set' not in self.__dict__:
            self._bad_index_set = set()
        return self._bad_index_set

    def _another_index(self) -> int:
        for _ in range(100):
            idx = self._rand_another()
            if idx not in self._bad_indices:
                return idx
        return idx

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        for _ in range(self.max_refetch + 1):
            try:
                data = self.prepare_data(idx)
            except BadImageError as err:
                if self.test_mode or not self.skip_bad_images:
                    raise
                self.num_skipped_images += 1
                self._bad_indices.add(idx)
                MMLogger.get_current_instance().warning(
                    f'skipped bad image #{self.num_skipped_images} in this worker: {err.filename}')
                idx = self._another_index()
                continue
            if data is None:  # a transform asked for another sample
                if self.test_mode:
                    raise RuntimeError(f'the test pipeline returned no data for sample {idx}')
                idx = self._another_index()
                continue
            return data
        raise RuntimeError(f'no valid sample after {self.max_refetch} retries; '
                           'check the dataset for bad images')
