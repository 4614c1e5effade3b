"""read_bboxes: the box files tools/demo.py --bboxes takes."""
import json

import numpy as np
import pytest

from hrnet_tasks.apis.topdown import read_bboxes


def _write(tmp_path, data):
    path = tmp_path / 'boxes.json'
    path.write_text(json.dumps(data))
    return str(path)


def test_one_image_list_and_dict_forms(tmp_path):
    boxes, scores = read_bboxes(_write(tmp_path, [[10, 20, 30, 40], {'bbox': [0, 0, 5, 6],
                                                                       'score': 0.4}]),
                                ['a.jpg'])['a.jpg']
    np.testing.assert_allclose(boxes, [[10, 20, 40, 60], [0, 0, 5, 6]])  # xywh -> xyxy
    np.testing.assert_allclose(scores, [1.0, 0.4])
    per_image = read_bboxes(_write(tmp_path, {'b.jpg': [[1, 2, 3, 4]], 'dir/c.jpg': []}),
                            ['x/b.jpg', 'dir/c.jpg'])
    assert per_image['x/b.jpg'][0].tolist() == [[1, 2, 4, 6]]
    assert per_image['dir/c.jpg'][0].shape == (0, 4)
    with pytest.raises(ValueError, match='for one image, but 2 images'):
        read_bboxes(_write(tmp_path, [[1, 2, 3, 4]]), ['a.jpg', 'b.jpg'])
    with pytest.raises(ValueError, match=r'expected \[x, y, w, h\]'):
        read_bboxes(_write(tmp_path, [[1, 2, 3]]), ['a.jpg'])


def test_detection_results_of_many_images_match_by_file_name(tmp_path):
    """``tools/test.py --out dets.json`` of a detector: every image, every class."""
    dets = [dict(image_id=785, category_id=1, bbox=[1, 1, 10, 20], score=0.9),
            dict(image_id=785, category_id=3, bbox=[5, 5, 10, 10], score=0.8),  # a car
            dict(image_id=40083, category_id=1, bbox=[2, 2, 4, 4], score=0.7)]
    path = _write(tmp_path, dets)
    out = read_bboxes(path, ['val2017/000000000785.jpg', 'val2017/000000001000.jpg'])
    assert out['val2017/000000000785.jpg'][0].tolist() == [[1, 1, 11, 21]]
    assert out['val2017/000000001000.jpg'][0].shape == (0, 4)  # no detection there
    with pytest.raises(ValueError, match=r'none of \[7\]'):
        read_bboxes(path, ['img_7.jpg'])
