"""Associative-embedding codec: targets, resize geometry, decoding rules and GT round trips."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hrnet_tasks.codecs import (AssociativeEmbedding, back_project, bottomup_resize_params,
                                resize_matrix)
from hrnet_tasks.datasets import parse_pose_metainfo
from hrnet_tasks.evaluation import CocoKeypointMetric

META = parse_pose_metainfo(None)


def test_heatmap_target_values():
    codec = AssociativeEmbedding()
    joints = np.zeros((1, 17, 3), np.float32)
    joints[0, 3] = (20.7, 30.2, 2)
    joints[0, 5] = (-0.5, 3.0, 1)  # int(-0.5) == 0: inside
    joints[0, 6] = (40.0, 40.0, 0)  # unlabelled
    joints[0, 7] = (64.0, 10.0, 2)  # outside a 64-wide map
    hm = codec.encode_heatmaps(joints, 64)
    assert hm.shape == (17, 64, 64) and hm.dtype == np.float32
    assert hm[3, 30, 20] == 1.0
    for d in range(-7, 8):
        assert hm[3, 30, 20 + d] == pytest.approx(np.exp(-d * d / 8), rel=1e-6)
    assert hm[3, 30, 28] == 0 and hm[3, 30, 12] == 0
    assert hm[5, 3, 0] == 1.0
    assert hm[6].max() == 0 and hm[7].max() == 0
    # overlapping people: element-wise max
    two = np.concatenate([joints, joints + np.array([2, 0, 0], np.float32)])
    hm2 = codec.encode_heatmaps(two, 64)
    assert hm2[3, 30, 22] == 1.0 and hm2[3, 30, 20] == 1.0


def test_joint_targets_are_compact_and_decodable():
    codec = AssociativeEmbedding()
    rng = np.random.default_rng(0)
    joints = np.concatenate([rng.uniform(-5, 70, (3, 17, 2)), rng.integers(0, 3, (3, 17, 1))], 2)
    out = codec.encode_joints(joints.astype(np.float32), 64)
    assert out.shape == (30, 17, 2) and out.dtype == np.int32
    ix, iy = joints[..., 0].astype(int), joints[..., 1].astype(int)
    ok = (joints[..., 2] > 0) & (ix >= 0) & (iy >= 0) & (ix < 64) & (iy < 64)
    assert out[..., 1].sum() == ok.sum()
    for n in range(3):
        flags = out[n, :, 1]
        assert flags.tolist() == sorted(flags.tolist(), reverse=True)  # written compactly
        ks = np.nonzero(ok[n])[0]
        for slot, k in enumerate(ks):
            kk, rest = divmod(int(out[n, slot, 0]), 64 * 64)
            y, x = divmod(rest, 64)
            assert (kk, y, x) == (k, iy[n, k], ix[n, k])
    many = np.tile(joints[:1], (40, 1, 1)).astype(np.float32)
    assert codec.encode_joints(many, 64)[..., 1].any(axis=1).sum() == 30  # capped at max_people


def test_test_resize_geometry():
    assert bottomup_resize_params(480, 640, 512)[0] == (704, 512)
    assert bottomup_resize_params(640, 427, 512)[0] == (512, 768)
    sizes = [bottomup_resize_params(480, 640, 512, s, 0.5)[0] for s in (2, 1, 0.5)]
    assert sizes == [(1536, 1024), (768, 512), (384, 256)]
    size, centre, s = bottomup_resize_params(427, 640, 512)
    assert centre == (320, 214)
    mat = resize_matrix(centre, size, s)
    pts = np.array([[0.0, 0.0], [639.0, 426.0], [123.4, 321.9]])
    fwd = pts @ mat[:, :2].T + mat[:, 2]
    assert np.abs(back_project(fwd, centre, size, s) - pts).max() < 1e-4


def test_flip_indices_are_an_involution():
    flip = np.array(META['flip_indices'])
    assert flip.tolist() == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    assert (flip[flip] == np.arange(17)).all()


def test_flip_test_with_an_equivariant_stand_in_model():
    """A 'network' that is exactly flip-equivariant: flipped-back outputs equal the originals."""
    from hrnet_tasks.registry import MODELS
    model = MODELS.build(
        dict(type='BottomUpPoseEstimator',
             backbone=dict(type='HRNet', arch='w18_small_v1', out_mode='highest'),
             head=dict(type='HigherHRNetHead', in_channels=16)))
    flip = META['flip_indices']
    torch.manual_seed(0)
    mix4, mix2 = torch.randn(34, 3), torch.randn(17, 3)
    perm34 = flip + [17 + k for k in flip]

    def g(x, mix, stride):
        return torch.einsum('oc,bchw->bohw', mix, F.avg_pool2d(x, stride)**2)

    def fake_forward(feats):  # f(x) = g(x) + flip(g(flip x)) with channels permuted
        x = feats[0]
        y0 = g(x, mix4, 4) + g(x.flip(3), mix4, 4).flip(3)[:, perm34]
        y1 = g(x, mix2, 2) + g(x.flip(3), mix2, 2).flip(3)[:, flip]
        return [y0, y1]

    model.head.forward = fake_forward
    model.extract_feat = lambda x: (x, )
    x = torch.rand(1, 3, 32, 64)
    model.test_cfg['flip_test'] = False
    plain_hm, plain_tag = model.forward_test(x, flip)
    model.test_cfg['flip_test'] = True
    hm, tags = model.forward_test(x, flip)
    assert tags.shape == (1, 17, 32, 64, 2) and hm.abs().max() > 0
    torch.testing.assert_close(tags[..., 0], plain_tag[..., 0])
    torch.testing.assert_close(hm, plain_hm)
    torch.testing.assert_close(tags[..., 0], tags[..., 1])


def test_adjust_rule():
    codec = AssociativeEmbedding(refine=False)
    hm = np.zeros((17, 20, 20), np.float32)
    tags = np.zeros((17, 20, 20, 1), np.float32)
    hm[0, 10, 10], hm[0, 10, 11], hm[0, 9, 10] = 1.0, 0.5, 0.5  # right > left; up > down
    hm[1, 5, 5] = 1.0  # ties: -0.25 on both axes
    (kpts, scores), = codec.decode(torch.from_numpy(hm)[None], torch.from_numpy(tags)[None])
    assert len(kpts) == 1
    assert kpts[0, 0, :2].tolist() == [10.75, 10.25]
    assert kpts[0, 1, :2].tolist() == [5.25, 5.25]
    assert scores[0] == pytest.approx(2 / 17)


def test_empty_image_and_determinism():
    codec = AssociativeEmbedding()
    (kpts, scores), = codec.decode(torch.zeros(1, 17, 64, 64), torch.zeros(1, 17, 64, 64, 2))
    assert kpts.shape == (0, 17, 3) and scores.shape == (0, )
    rng = torch.Generator().manual_seed(0)
    hm, tags = torch.rand(2, 17, 64, 64, generator=rng), torch.randn(2,
                                                                     17,
                                                                     64,
                                                                     64,
                                                                     2,
                                                                     generator=rng)
    first, second = codec.decode(hm, tags), codec.decode(hm, tags)
    for (a, sa), (b, sb) in zip(first, second):
        assert np.array_equal(a, b) and np.array_equal(sa, sb)


# ------------------------------------------------------------------ round trips
def render(codec, kpts_input, width, height):
    """GT heatmaps at 1/2 of the input (float32), a constant tag per person inside its
    Gaussian support, both upsampled x2 bilinearly to the input size."""
    half = kpts_input.copy()
    half[..., :2] /= 2
    hm = codec.encode_heatmaps(half, (width // 2, height // 2))
    tag = np.zeros_like(hm)
    for n in range(len(half)):
        tag[codec.encode_heatmaps(half[n:n + 1], (width // 2, height // 2)) > 0] = n + 1
    up = lambda a: F.interpolate(
        torch.from_numpy(a)[None], size=(height, width), mode='bilinear', align_corners=False)
    return up(hm), up(tag)[..., None]


def roundtrip(coco_dict, caps=(30, ), input_size=512, batch=1, noise=None):
    """Encode every image's GT with our codec, decode, back-project, evaluate with our metric.

    ``caps``: the decoder's ``max_instances`` values to decode the same maps with (30 as
    in the COCO configs; None: the official, uncapped decoder). ``noise``: (heatmap std,
    tag std) of seeded Gaussian noise added at input size. Returns, per cap, ``stats``,
    ``num_det``, ``num_gt`` and ``results`` (what the metric was given).
    """
    import tempfile
    from pycocotools.coco import COCO
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump(coco_dict, f)
    codecs = {cap: AssociativeEmbedding(input_size=input_size, joint_order=META['group_order'],
                                        max_instances=cap)
              for cap in caps}
    metrics = {cap: CocoKeypointMetric(ann_file=f.name) for cap in caps}
    for metric in metrics.values():
        metric.dataset_meta = META
    rng = torch.Generator().manual_seed(0)
    coco = COCO(f.name)
    pending = []

    def flush():
        if not pending:
            return
        w_max = max(p[0][0] for p in pending)
        h_max = max(p[0][1] for p in pending)
        hms = torch.zeros(len(pending), 17, h_max, w_max)
        tags = torch.zeros(len(pending), 17, h_max, w_max, 1)
        for i, ((w, h), _, _, _, hm, tag) in enumerate(pending):
            hms[i, :, :h, :w], tags[i, :, :h, :w] = hm[0], tag[0]
        for cap, codec in codecs.items():
            decoded = codec.decode(hms, tags, [p[0] for p in pending])
            for ((w, h), centre, s, img_id, _, _), (kpts, scores) in zip(pending, decoded):
                xy = back_project(kpts[..., :2], centre, (w, h), s)
                metrics[cap].process(None, [
                    dict(img_id=img_id,
                         pred_keypoints=xy,
                         pred_keypoint_scores=kpts[..., 2],
                         pred_scores=scores)
                ])
        pending.clear()

    num_gt = 0
    for img_id in coco.getImgIds():
        info = coco.loadImgs(img_id)[0]
        size, centre, s = bottomup_resize_params(info['height'], info['width'], input_size)
        mat = resize_matrix(centre, size, s)
        anns = [
            a for a in coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=False))
            if a['num_keypoints'] > 0
        ]
        num_gt += len(anns)
        kp = np.array([a['keypoints'] for a in anns], np.float32).reshape(-1, 17, 3)
        kp[..., 0], kp[...,
                       1] = kp[..., 0] * mat[0, 0] + mat[0, 2], kp[..., 1] * mat[1, 1] + mat[1, 2]
        hm, tag = render(next(iter(codecs.values())), kp, *size)
        if noise is not None:
            hm = hm + noise[0] * torch.randn(hm.shape, generator=rng)
            tag = tag + noise[1] * torch.randn(tag.shape, generator=rng)
        pending.append((size, centre, s, img_id, hm, tag))
        if len(pending) == batch:
            flush()
    flush()
    return {cap: dict(stats=m.compute_metrics(m.results), num_gt=num_gt, results=m.results,
                      num_det=sum(len(r['scores']) for r in m.results))
            for cap, m in metrics.items()}


def roundtrip_ap(coco_dict, input_size=512, batch=1):
    """AP, detections and GT people of the round trip with the COCO configs' decoder."""
    out = roundtrip(coco_dict, input_size=input_size, batch=batch)[30]
    return out['stats'], out['num_det'], out['num_gt']


def synthetic_people(seed=0, n_images=12, heights=(60, 400)):
    """640x480 images with 1-3 non-overlapping upright people of the given heights."""
    import importlib.util
    path = osp.join(osp.dirname(__file__), '..', '..', 'data_prep', 'tiny_pose.py')
    spec = importlib.util.spec_from_file_location('tiny_pose', path)
    tiny_pose = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny_pose)
    CATEGORY, TEMPLATE = tiny_pose.CATEGORY, tiny_pose.TEMPLATE
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for i in range(n_images):
        images.append(dict(id=i + 1, file_name=f'{i}.jpg', width=640, height=480))
        n = int(rng.integers(1, 4))
        for slot in range(n):
            h = float(rng.uniform(*heights))
            h = min(h, 470.0)
            w_slot = 640 / n
            cx = (slot + 0.5) * w_slot
            h = min(h, w_slot / 0.45)
            top = rng.uniform(2, 478 - h)
            xy = np.stack([cx + TEMPLATE[:, 0] * h, top + TEMPLATE[:, 1] * h], 1)
            xy += rng.normal(0, h * 0.005, xy.shape)
            kp = np.concatenate([xy, np.full((17, 1), 2.0)], 1)
            x0, y0 = xy.min(0)
            x1, y1 = xy.max(0)
            anns.append(
                dict(id=len(anns) + 1,
                     image_id=i + 1,
                     category_id=1,
                     iscrowd=0,
                     keypoints=kp.reshape(-1).tolist(),
                     num_keypoints=17,
                     bbox=[x0, y0, x1 - x0, y1 - y0],
                     area=float((x1 - x0) * (y1 - y0))))
    return dict(images=images, annotations=anns, categories=[CATEGORY])


def test_gt_roundtrip_synthetic_ap_is_one():
    stats, num_det, num_gt = roundtrip_ap(synthetic_people(), batch=3)
    assert stats['AP'] == pytest.approx(1.0, abs=1e-9)
    assert num_det == num_gt


@pytest.mark.parametrize('split,min_ap', [('val2017', 1.0), ('train2017', 0.95)])
def test_gt_roundtrip_real_coco_samples(shared_data, split, min_ap):
    path = osp.join(shared_data, 'coco_kpt', 'annotations', f'person_keypoints_{split}.json')
    if not osp.isfile(path):
        pytest.skip(f'{path} not found')
    # the COCO configs' decoder (max_instances 30) and the official, uncapped one
    out = roundtrip(json.load(open(path)), caps=(30, None), batch=2)
    stats, num_det, num_gt = out[30]['stats'], out[30]['num_det'], out[30]['num_gt']
    print(f'{split}: GT round-trip AP {stats["AP"]:.4f}, {num_det} detections for {num_gt} people')
    assert stats['AP'] >= min_ap - 1e-9
    assert out[None]['stats'] == stats and out[None]['num_det'] == num_det
