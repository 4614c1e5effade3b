"""Pictures that can be trusted (issue 18, item 5): people and joints below the thresholds are
neither drawn nor reported, labels never overlap, every picture lists what it shows."""
import itertools

import cv2
import numpy as np
import pytest

from hrnet_tasks.apis.classification import (ClassificationResult, draw_classification,
                                             topk_legend)
from hrnet_tasks.apis.drawing import (DrawStyle, LabelPlacer, add_legend, draw_boxes, draw_people,
                                      visible_people)
from hrnet_tasks.apis.multitask import MultiTaskResult, visible_parts
from hrnet_tasks.apis.pose import PoseResult, draw_pose
from hrnet_tasks.apis.segmentation import SegmentationResult, class_legend, draw_segmentation
from hrnet_tasks.datasets.coco_keypoints import parse_pose_metainfo

LINKS = parse_pose_metainfo(None)['skeleton_links']


def _people(scores, joint_score=0.9, k=17, seed=0):
    rng = np.random.default_rng(seed)
    kpts = np.zeros((len(scores), k, 3), np.float32)
    kpts[..., :2] = rng.uniform(20, 180, (len(scores), k, 2))
    kpts[..., 2] = joint_score
    return kpts, np.asarray(scores, np.float32)


def test_labels_never_overlap_and_stay_on_the_canvas():
    placer = LabelPlacer((100, 120))
    placed = [placer.place('0.87', (60, 50)) for _ in range(40)]  # 40 labels on one spot
    rects = placer.taken
    assert 1 < len(rects) < 40 and placed.count(None) == 40 - len(rects)
    for a, b in itertools.combinations(rects, 2):
        assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    assert all(r[0] >= 0 and r[1] >= 0 and r[2] <= 120 and r[3] <= 100 for r in rects)


def test_only_people_and_joints_above_the_thresholds_are_drawn():
    kpts, scores = _people([0.9, 0.5, 0.29, 0.1])
    kpts[1, :, 2] = 0.2  # a person above the threshold, every joint below: nothing to draw
    kpts[0, :8, 2] = 0.1  # half of person 0's joints below the threshold
    assert visible_people(kpts, scores) == [0]
    canvas = np.zeros((200, 200, 3), np.uint8)
    drawn = draw_people(canvas, kpts, scores, LINKS, 1.0)
    assert [p for p, _ in drawn] == [0]
    low = DrawStyle(score_thr=0.05, kpt_thr=0.05)
    assert visible_people(kpts, scores, low) == [0, 1, 2, 3]
    # one label per person by default; with joint_scores one per drawn joint too (a label
    # without room is left out); the 9 dots drawn are reserved so no label covers them
    placer = LabelPlacer(canvas.shape)
    draw_people(np.zeros_like(canvas), kpts, scores, LINKS, 1.0, DrawStyle(), placer)
    assert len(placer.taken) == 9 + 1
    placer = LabelPlacer(canvas.shape)
    draw_people(np.zeros_like(canvas), kpts, scores, LINKS, 1.0, DrawStyle(joint_scores=True),
                placer)
    assert 9 + 1 < len(placer.taken) <= 9 + 1 + 9


def test_reported_people_are_the_drawn_people():
    kpts, scores = _people([0.8, 0.6, 0.31, 0.3, 0.2, 0.05])
    result = PoseResult(kpts, scores, [str(i) for i in range(17)])
    for style in [DrawStyle(), DrawStyle(score_thr=0.5), DrawStyle(score_thr=0.0)]:
        shown = result.visible(style)
        canvas = np.zeros((200, 200, 3), np.uint8)
        assert len(shown) == len(draw_people(canvas, kpts, scores, LINKS, 1.0, style))
    assert len(result.visible()) == 4  # 0.3 is drawn (>=), 0.2 and 0.05 are not
    joint = MultiTaskResult({'pose': result, 'seg': None})
    assert len(visible_parts(joint)['pose']) == 4
    picture = draw_pose(np.zeros((200, 200, 3), np.uint8), result)
    assert picture.shape[1] > 200  # the legend beside the image


def test_seg_legend_lists_the_classes_present_largest_first():
    label_map = np.zeros((40, 40), np.int32)
    label_map[:10] = 2
    label_map[10:15] = 5
    result = SegmentationResult(label_map, [f'class{i}' for i in range(6)],
                                [(i * 40, 0, 255 - i * 40) for i in range(6)])
    entries = class_legend(result)
    assert [text for _, text in entries] == ['class0 62%', 'class2 25%', 'class5 12%']
    assert entries[1][0] == (255 - 80, 0, 80)  # BGR of class 2's RGB palette entry
    picture = draw_segmentation(np.zeros((40, 40, 3), np.uint8), result)
    assert picture.shape[1] > picture.shape[0]  # legend panel on the right


def test_classification_lists_the_top5_with_scores():
    """Top-5 beside the image; a score that would print as 0.000 reads <0.001."""
    result = ClassificationResult([3, 1, 4, 0, 2, 5], [0.5, 0.2, 0.1, 0.1, 2e-5, 1e-6],
                                  ['cat', 'dog', 'fox', 'owl', 'bee', 'elk'])
    image = np.zeros((64, 64, 3), np.uint8)
    picture = draw_classification(image, result)
    assert picture.shape[0] >= 320 and picture.shape[1] > 320
    assert [t for _, t in topk_legend(result, 5)] == [
        '1. cat  0.500', '2. dog  0.200', '3. fox  0.100', '4. owl  0.100', '5. bee  <0.001']


def test_boxes_below_the_threshold_are_left_out():
    boxes = np.array([[10, 10, 50, 50], [60, 60, 90, 90], [5, 5, 20, 20]], np.float32)
    canvas = np.zeros((100, 100, 3), np.uint8)
    drawn = draw_boxes(canvas, boxes, np.array([0.9, 0.2, 0.3]), ['person'] * 3, 1.0)
    assert [i for i, _ in drawn] == [0, 2]
    assert canvas[75, 60].sum() == 0  # box 1's left edge is not drawn


@pytest.mark.parametrize('entries', [[], [((0, 0, 255), 'x' * 60)]])
def test_legend_fits_its_text(entries):
    out = add_legend(np.zeros((50, 80, 3), np.uint8), entries)
    assert out.shape[0] == 50 and out.shape[1] >= 80 + 160
    if entries:
        width = cv2.getTextSize(entries[0][1], cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0]
        assert out.shape[1] - 80 >= width + 16 + 22
