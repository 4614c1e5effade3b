"""What keypoint heads (bottom-up and top-down) know about their keypoint set."""
from typing import List, Optional

from hrnet_tasks.datasets.coco_keypoints import COCO_METAINFO, parse_pose_metainfo


def known_pose_metainfo(metainfo: Optional[dict], num_keypoints: int) -> Optional[dict]:
    """``metainfo`` (parsed); COCO's when none is given and ``num_keypoints`` is COCO's
    (17); else None."""
    if metainfo is not None:
        return metainfo
    if num_keypoints == len(COCO_METAINFO['keypoint_names']):
        return parse_pose_metainfo(COCO_METAINFO)
    return None


def flip_indices_of(data_samples, metainfo: Optional[dict], num_keypoints: int) -> List[int]:
    """Keypoint permutation of a horizontal flip: the samples' (packed by the dataset),
    else ``metainfo``'s, else COCO's for 17 keypoints."""
    if data_samples:
        found = data_samples[0].metainfo.get('flip_indices')
        if found is not None:
            return list(found)
    known = known_pose_metainfo(metainfo, num_keypoints)
    if known is not None:
        return list(known['flip_indices'])
    raise ValueError(
        'flip test needs flip_indices: pass the head a metainfo or pack them per sample')


def check_keypoint_count(num_keypoints: int, meta: Optional[dict], source: str, option: str):
    """One-line :class:`ConfigError` when the dataset ``meta`` has another keypoint count
    than a head predicting ``num_keypoints`` (its config key is ``option``)."""
    from hrnet_tasks.errors import ConfigError
    k = (meta or {}).get('num_keypoints')
    if k is not None and int(k) != num_keypoints:
        name = (meta or {}).get('dataset_name', 'dataset')
        raise ConfigError(f'{source} ({name}) has {k} keypoints but the head predicts '
                          f'{num_keypoints}: set {option}={k} (or use a dataset metainfo with '
                          f'{num_keypoints} keypoints)')
