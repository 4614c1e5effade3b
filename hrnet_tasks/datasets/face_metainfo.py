"""Metainfo of the four facial-landmark sets (WFLW 98, 300W 68, COFW 29, AFLW 19 points).

One table per set, completed by the shared :func:`parse_pose_metainfo` (``flip_indices``,
``num_keypoints``). Flip pairs are 0-based point indices. The official code keeps them in
``MATCHED_PARTS`` (WFLW 0-based, the other three 1-based); the pairs below are the same
swaps, written as mirrored runs of the landmark scheme: ``_mirror(a, b)`` pairs a with b,
a+1 with b-1, ... (the middle point of an odd run maps to itself), ``_against(a, b, c)``
pairs a..b with c, c-1, ... Counts: 44 / 29 / 11 / 8 pairs.

``nme_norm`` is the NME normaliser of the official evaluation (``compute_nme``) and of
mmpose's ``NME``: the distance between two points (0-based; outer eye corners for WFLW and
300W; the pair the official evaluation uses for COFW) or ``'box_size'`` (AFLW's per-face column).
"""
from typing import List, Tuple

Pairs = List[Tuple[int, int]]


def _mirror(first: int, last: int) -> Pairs:
    return [(first + i, last - i) for i in range((last - first + 1) // 2)]


def _against(first: int, last: int, other_last: int) -> Pairs:
    return [(first + i, other_last - i) for i in range(last - first + 1)]


def _names(k: int) -> List[str]:
    return [f'kpt-{i}' for i in range(k)]


WFLW_METAINFO = dict(
    dataset_name='wflw',
    keypoint_names=_names(98),
    flip_pairs=(_mirror(0, 32)  # face contour, 33 points, chin (16) in the middle
                + _against(33, 37, 46) + _against(38, 41, 50)  # eyebrows: upper, lower arcs
                + _against(60, 64, 72) + _against(65, 67, 75)  # eyes: upper lids, lower lids
                + _mirror(55, 59)  # lower nose (nostrils); the bridge 51-54 is on the axis
                + _mirror(76, 82) + _mirror(83, 87)  # outer lips: upper, lower
                + _mirror(88, 92) + _mirror(93, 95)  # inner lips: upper, lower
                + [(96, 97)]),  # pupils
    nme_norm=[60, 72],
)

W300_METAINFO = dict(
    dataset_name='300w',
    keypoint_names=_names(68),
    flip_pairs=(_mirror(0, 16)  # jaw
                + _mirror(17, 26)  # eyebrows
                + _mirror(31, 35)  # lower nose; the bridge 27-30 is on the axis
                + _against(36, 39, 45) + _against(40, 41, 47)  # eyes: corners + upper, lower
                + _mirror(48, 54) + _mirror(55, 59)  # outer lips: upper, lower
                + _mirror(60, 64) + _mirror(65, 67)),  # inner lips: upper, lower
    nme_norm=[36, 45],
)

COFW_METAINFO = dict(
    dataset_name='cofw',
    keypoint_names=_names(29),
    # COFW's scheme lists left and right points in pairs, not in mirrored runs
    flip_pairs=[(0, 1), (4, 6), (2, 3), (5, 7), (8, 9), (10, 11), (12, 14), (16, 17), (13, 15),
                (18, 19), (22, 23)],
    nme_norm=[8, 9],
)

AFLW_METAINFO = dict(
    dataset_name='aflw',
    keypoint_names=_names(19),
    flip_pairs=(_mirror(0, 5)  # eyebrows
                + _mirror(6, 11)  # eye corners and centres
                + _mirror(12, 14)  # nose
                + _mirror(15, 17)),  # mouth; 18 (chin) is on the axis
    nme_norm='box_size',
)

FACE_METAINFOS = {m['dataset_name']: m for m in
                  (WFLW_METAINFO, W300_METAINFO, COFW_METAINFO, AFLW_METAINFO)}
