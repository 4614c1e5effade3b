"""Bounded decoding cost (issue 19): the ``max_instances`` cap changes no COCO AP, and the
batched refinement gives bit for bit what the per-joint refinement it replaced gave."""
import glob
import json
import os.path as osp
import resource

import cv2
import numpy as np
import pytest
import torch
from conftest import ROOT, calibrate_bn, run_tool
from mmengine.config import Config
from test_associative_embedding import META, roundtrip

from hrnet_tasks.codecs import (AssociativeEmbedding, back_project, bottomup_resize_params,
                                resize_matrix)
from hrnet_tasks.decode_cap import COCO_MAX_DETS
from hrnet_tasks.errors import ConfigError
from hrnet_tasks.evaluation import CocoKeypointMetric
from hrnet_tasks.registry import MODELS

ORDER = META['group_order']
# many small tensor ops: 2 OpenMP threads on 2 shared cores make them crawl
pytestmark = pytest.mark.usefixtures('one_thread')


# ------------------------------------------------------------------ the former refinement
# The per-joint refinement the package used up to issue 19, kept here as the reference only.
def reference_refine_argmax(hm, tag, refs, thr=0.05):
    def score(idx):
        t = tag if idx is None else tag[idx]
        h = hm if idx is None else hm[idx]
        d = torch.cdist(refs_now, t, compute_mode='donot_use_mm_for_euclid_dist')
        return h[None] - torch.round(d)

    out = np.zeros(len(refs), np.int64)
    support = torch.nonzero(hm > thr).flatten()
    rest = np.arange(len(refs))
    if 0 < len(support) < hm.numel():
        refs_now = refs
        s = score(support)
        best, arg = s.max(dim=1)
        inside = (best > thr).numpy()
        out[inside] = support[arg[inside]].numpy()
        rest = rest[~inside]
    if len(rest):
        refs_now = refs[rest]
        out[rest] = score(None).argmax(dim=1).numpy()
    return out


def reference_refine(codec, hms, tags, people):
    found = people[:, :, 2] > 0
    has_any = found.any(axis=1)
    if not has_any.any():
        return people
    num_k, h, w = hms.shape
    p_idx, k_idx = np.nonzero(found)
    xi = people[p_idx, k_idx, 0].astype(np.int64)
    yi = people[p_idx, k_idx, 1].astype(np.int64)
    picked = tags[k_idx, yi, xi]
    ref = np.zeros((len(people), tags.shape[-1]), np.float64)
    np.add.at(ref, p_idx, picked)
    ref /= np.maximum(found.sum(axis=1), 1)[:, None]
    hm_t = torch.from_numpy(hms).reshape(num_k, -1)
    tag_t = torch.from_numpy(tags).reshape(num_k, h * w, -1)
    ref_t = torch.from_numpy(ref).to(tag_t.dtype)
    for k in range(num_k):
        todo = np.nonzero(~found[:, k] & has_any)[0]
        if not len(todo):
            continue
        flat = reference_refine_argmax(hm_t[k], tag_t[k], ref_t[todo])
        y, x = np.divmod(flat, w)
        val = hms[k, y, x]
        ok = val > 0
        if not ok.any():
            continue
        fx, fy = codec._quarter_offsets(hms, np.full(ok.sum(), k), x[ok], y[ok])
        sel = todo[ok]
        people[sel, k, 0] = fx
        people[sel, k, 1] = fy
        people[sel, k, 2] = val[ok]
    return people


# ------------------------------------------------------------------ maps
def random_maps(gen, tag_dim, shape=(40, 56)):
    """Random heatmaps and widely spread tags: hundreds of people, all scores close."""
    return torch.rand(1, 17, *shape, generator=gen), 3 * torch.randn(1, 17, *shape, tag_dim,
                                                                     generator=gen)


def tied_maps(gen, tag_dim):
    """Quantised heatmaps and integer tags: many equal scores (first-argmax ties)."""
    hm, tags = random_maps(gen, tag_dim)
    return torch.round(hm * 4) / 4, torch.round(tags)


def people_maps(gen, tag_dim, shape=(40, 56), noise=0.03):
    """GT-like maps of 6 people with a third of their joints unlabelled, plus noise: the
    refinement fills those from the weak maxima near each person."""
    codec = AssociativeEmbedding()
    rng = np.random.default_rng(int(torch.randint(1 << 30, (1, ), generator=gen)))
    kp = np.zeros((6, 17, 3), np.float32)
    kp[..., 0] = rng.uniform(2, shape[1] - 2, (6, 17))
    kp[..., 1] = rng.uniform(2, shape[0] - 2, (6, 17))
    kp[..., 2] = rng.random((6, 17)) > 1 / 3
    hm = codec.encode_heatmaps(kp, (shape[1], shape[0]))
    tag = np.zeros(hm.shape + (tag_dim, ), np.float32)
    for n in range(6):
        tag[codec.encode_heatmaps(kp[n:n + 1], (shape[1], shape[0])) > 0] = n + 1
    noise = noise * torch.randn(1, 17, *shape, generator=gen)
    return torch.from_numpy(hm)[None] + noise, torch.from_numpy(tag)[None] + noise[..., None]


MAPS = dict(random=random_maps, ties=tied_maps, people=people_maps)


def grouped_people(codec, hm, tags):
    """What decode refines: the grouped (and adjusted) people, plus a person without any
    joint (refinement leaves it alone)."""
    vals, xs, ys, tag_vals = codec._topk(hm, tags)
    people = codec._group(vals[0], xs[0], ys[0], tag_vals[0])
    return np.concatenate([people, np.zeros((1, ) + people.shape[1:])])


# the default block and chunk, and tiny ones that send most pairs through the second stage
# (sparse and dense supports) in many chunks
@pytest.mark.parametrize('block, chunk', [(None, None), (4, 64)])
@pytest.mark.parametrize('tag_dim', [1, 2])
@pytest.mark.parametrize('kind', list(MAPS))
def test_refine_is_bit_identical_to_the_per_joint_reference(kind, tag_dim, block, chunk):
    codec = AssociativeEmbedding(joint_order=ORDER)
    if block is not None:
        codec.refine_block, codec.refine_chunk = block, chunk
    gen = torch.Generator().manual_seed(tag_dim)
    hm, tags = MAPS[kind](gen, tag_dim)
    people = grouped_people(codec, hm, tags)
    hms, tags_np = hm[0].numpy(), tags[0].numpy()
    expected = reference_refine(codec, hms, tags_np, people.copy())
    got = codec._refine(hms, tags_np, people.copy())
    assert np.array_equal(got, expected)
    filled = (got[:, :, 2] > 0).sum() - (people[:, :, 2] > 0).sum()
    assert filled > 0.5 * (people[:-1, :, 2] == 0).sum()  # most missing joints were filled
    assert not got[-1].any()


# ------------------------------------------------------------------ the cap
def test_cap_keeps_the_best_scored_people_bit_for_bit():
    hm, tags = random_maps(torch.Generator().manual_seed(0), 2, shape=(64, 96))
    capped = AssociativeEmbedding(joint_order=ORDER, max_instances=30)
    (kpts, scores), = capped.decode(hm, tags)
    (all_kpts, all_scores), = AssociativeEmbedding(joint_order=ORDER).decode(hm, tags)
    assert capped.count_people(hm, tags) == [len(all_scores)] and len(all_scores) > 100
    keep = np.sort(np.argsort(-all_scores, kind='stable')[:30])
    assert np.array_equal(kpts, all_kpts[keep]) and np.array_equal(scores, all_scores[keep])


def test_fewer_people_than_the_cap_decode_as_the_official_decoder():
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        hm, tags = people_maps(gen, 2, shape=(96, 128), noise=0.01)
        capped = AssociativeEmbedding(joint_order=ORDER, max_instances=COCO_MAX_DETS)
        assert capped.count_people(hm, tags)[0] < COCO_MAX_DETS
        (kpts, scores), = capped.decode(hm, tags)
        (official, official_scores), = AssociativeEmbedding(joint_order=ORDER).decode(hm, tags)
        assert np.array_equal(kpts, official) and np.array_equal(scores, official_scores)


def test_ties_at_the_cut_keep_the_earlier_person_as_cocoeval_does():
    scores = np.array([0.9] * 5 + [0.5] * 30 + [0.7] * 5)
    scores[30] += 1e-12  # higher in float64, tied in the float32 scores COCOeval is given
    keep = AssociativeEmbedding(max_instances=20)._top_people(scores)
    assert keep.tolist() == list(range(15)) + list(range(35, 40))
    # COCOeval: np.argsort([-d['score'] ...], kind='mergesort'), scores written as float32
    coco_order = np.argsort([-float(s) for s in scores.astype(np.float32)], kind='mergesort')
    assert keep.tolist() == sorted(coco_order[:20])


@pytest.mark.parametrize('bad', [10, 19, 25.0, True, '30'])
def test_cap_below_coco_max_dets_is_refused(bad):
    with pytest.raises(ConfigError, match=rf'max_instances={bad!r}: .*>= 20'):
        AssociativeEmbedding(max_instances=bad)


def test_coco_and_tiny_configs_cap_at_30():
    def codecs(node):
        if isinstance(node, dict):
            if node.get('type') == 'AssociativeEmbedding':
                yield node
            for value in node.values():
                yield from codecs(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                yield from codecs(value)

    seen = {}
    for path in glob.glob(osp.join(ROOT, 'configs', '*', '*.py')):
        if '_base_' not in path:
            for codec in codecs(Config.fromfile(path).to_dict().get('model', {})):
                seen[osp.relpath(path, ROOT)] = codec.get('max_instances')
    assert {'configs/pose/higherhrnet_w32_coco_512.py', 'configs/pose/higherhrnet_w48_coco_640.py',
            'configs/tiny/pose.py', 'configs/tiny/multitask.py'} <= set(seen)
    assert all(v == 30 for v in seen.values()), seen


def test_train_refuses_a_cap_below_20_at_once(tiny_data, tmp_path):
    """The CLI's pre-flight names the config key, before the model stack is imported."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = run_tool('tools/train.py', 'configs/tiny/pose.py', '--work-dir', str(tmp_path),
                    '--cfg-options', 'model.codec.max_instances=10')
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode != 0
    assert last.startswith('error: configs/tiny/pose.py: model.codec.max_instances=10: ')
    assert 'Epoch(train)' not in proc.stdout + proc.stderr
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 3.0, f'the refusal took {cpu:.2f} s of CPU'


# ------------------------------------------------------------------ COCO AP with and without
def top_detections(results, k=COCO_MAX_DETS):
    """Per image, the ``k`` detections COCOeval ranks (stable sort by the float32 score)."""
    out = {}
    for res in results:
        order = np.argsort(-res['scores'], kind='stable')[:k]
        out[res['img_id']] = (res['keypoints'][order], res['keypoint_scores'][order],
                              res['scores'][order])
    return out


def assert_same_evaluation(capped, uncapped):
    assert capped.keys() == uncapped.keys()
    for img_id in capped:
        assert all(np.array_equal(a, b) for a, b in zip(capped[img_id], uncapped[img_id]))


# (heatmap std, tag std) of the noise on the GT maps: tens of people found, and up to 200;
# the ideal maps (fewer than 30 people) are compared in test_gt_roundtrip_real_coco_samples.
# The 37 train images at input 256, to keep the test short.
@pytest.mark.parametrize('noise', [(0.05, 0.2), (0.1, 0.3)])
@pytest.mark.parametrize('split, input_size', [('val2017', 512), ('train2017', 256)])
def test_cap_leaves_coco_ap_of_noisy_real_samples_unchanged(shared_data, split, input_size,
                                                            noise):
    path = osp.join(shared_data, 'coco_kpt', 'annotations', f'person_keypoints_{split}.json')
    if not osp.isfile(path):
        pytest.skip(f'{path} not found')
    out = roundtrip(json.load(open(path)), caps=(30, None), input_size=input_size, batch=2,
                    noise=noise)
    assert out[30]['stats'] == out[None]['stats']  # all ten AP / AR figures, exactly
    assert_same_evaluation(top_detections(out[30]['results']),
                           top_detections(out[None]['results']))
    found = [len(r['scores']) for r in out[None]['results']]
    assert max(found) > 30 and max(len(r['scores']) for r in out[30]['results']) == 30
    print(f'{split} at {input_size}, noise {noise}: AP {out[30]["stats"]["AP"]:.4f} with and '
          f'without the cap; people found per image {min(found)}-{max(found)}, kept <= 30')


def test_cap_leaves_coco_ap_of_an_untrained_model_unchanged(shared_data, seeded):
    """Real val images through a random-weight HigherHRNet (BN statistics measured, as in
    training), whose maps group into hundreds of people."""
    ann = osp.join(shared_data, 'coco_kpt', 'annotations', 'person_keypoints_val2017.json')
    if not osp.isfile(ann):
        pytest.skip(f'{ann} not found')
    input_size = 128
    model = MODELS.build(Config.fromfile(osp.join(ROOT, 'configs', 'tiny', 'pose.py')).model)
    model = calibrate_bn(model, (input_size, input_size * 3 // 2))
    mean, std = (torch.as_tensor(v).view(3, 1, 1) for v in (model.data_preprocessor.mean,
                                                         model.data_preprocessor.std))
    codecs = {cap: AssociativeEmbedding(joint_order=ORDER, max_instances=cap)
              for cap in (30, None)}
    metrics = {cap: CocoKeypointMetric(ann_file=ann) for cap in codecs}
    found = []
    for image in json.load(open(ann))['images']:
        img = cv2.imread(osp.join(shared_data, 'coco_kpt', 'val2017', image['file_name']),
                         cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        size, centre, s = bottomup_resize_params(*img.shape[:2], input_size)
        warped = cv2.warpAffine(img, resize_matrix(centre, size, s), size)
        x = (torch.from_numpy(warped[..., ::-1].copy()).permute(2, 0, 1).float() - mean) / std
        with torch.inference_mode():
            hm, tags = model.forward_test(x[None])
        found += codecs[None].count_people(hm, tags)
        for cap, codec in codecs.items():
            (kpts, scores), = codec.decode(hm, tags)
            metrics[cap].dataset_meta = META
            metrics[cap].process(None, [dict(img_id=image['id'],
                                             pred_keypoints=back_project(kpts[..., :2], centre,
                                                                         size, s),
                                             pred_keypoint_scores=kpts[..., 2],
                                             pred_scores=scores)])
    assert min(found) > 100
    assert_same_evaluation(top_detections(metrics[30].results),
                           top_detections(metrics[None].results))
    stats = {cap: m.compute_metrics(m.results) for cap, m in metrics.items()}
    assert stats[30] == stats[None]
    print(f'untrained model, val2017: AP {stats[30]["AP"]:.4f} with and without the cap; '
          f'people found per image {found}, kept 30')


def test_refinement_memory_and_work_are_bounded(monkeypatch):
    """Scores computed at once stay within ``refine_chunk``; each (person, joint) pair
    scores at most its block and one whole map, so the work is linear in people."""
    codec = AssociativeEmbedding(joint_order=ORDER)
    codec.refine_block, codec.refine_chunk = 64, 8192
    hm, tags = random_maps(torch.Generator().manual_seed(0), 2)
    people = grouped_people(codec, hm, tags)
    found = people[:, :, 2] > 0
    pairs = (~found & found.any(axis=1, keepdims=True)).sum()
    scored, cdist = [], torch.cdist

    def counting_cdist(a, b, **kwargs):
        out = cdist(a, b, **kwargs)
        scored.append(out.numel())
        return out

    monkeypatch.setattr(torch, 'cdist', counting_cdist)
    codec._refine(hm[0].numpy(), tags[0].numpy(), people)
    assert len(people) > 100 and max(scored) * 2 <= codec.refine_chunk
    assert sum(scored) <= pairs * (codec.refine_block + hm[0, 0].numel())
