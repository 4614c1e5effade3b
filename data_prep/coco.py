"""Check a COCO person-keypoints layout before training HigherHRNet (read-only, safe to re-run).

    python data_prep/coco.py [--root data/coco] [--splits train2017 val2017] [--no-size-check]

Expects ``<root>/annotations/person_keypoints_<split>.json`` and ``<root>/<split>/*.jpg``
(download train2017.zip, val2017.zip and annotations_trainval2017.zip from
cocodataset.org and unzip them into ``<root>``). For every split it reports images,
images with >= 1 annotation (what training keeps), annotated people, people with
labelled keypoints, crowd regions, and referenced images that are missing. It
changes nothing on disk; the exit status is 1 when something is missing.
"""
import argparse
import contextlib
import io
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from hrnet_tasks.progress import Progress  # noqa: E402


def check_split(root: str, split: str, size_check: bool = True, num_keypoints: int = 17) -> dict:
    ann_file = osp.join(root, 'annotations', f'person_keypoints_{split}.json')
    img_dir = osp.join(root, split)
    report = dict(split=split, ann_file=ann_file, img_dir=img_dir, problems=[])
    if not osp.isfile(ann_file):
        report['problems'].append(f'annotation file missing: {ann_file}')
        return report
    if not osp.isdir(img_dir):
        report['problems'].append(f'image folder missing: {img_dir}')
    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(ann_file)
    img_ids = coco.getImgIds()
    anns = coco.loadAnns(coco.getAnnIds())
    bad_kpts = [a['id'] for a in anns if len(a.get('keypoints', [])) != 3 * num_keypoints]
    with_ann = {a['image_id'] for a in anns}
    missing, wrong_size = [], []
    progress = Progress(len(img_ids), 'images', prefix=f'[{split}] ')
    for img in coco.loadImgs(img_ids):
        path = osp.join(img_dir, img['file_name'])
        if not osp.isfile(path):
            missing.append(path)
        elif size_check:
            import cv2
            im = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
            if im is None or im.shape[:2] != (img['height'], img['width']):
                wrong_size.append(path)
        progress.update()
    progress.close()
    report.update(images=len(img_ids),
                  images_with_annotations=len(with_ann & set(img_ids)),
                  people=sum(1 for a in anns if not a.get('iscrowd', 0)),
                  people_with_keypoints=sum(
                      1 for a in anns if not a.get('iscrowd', 0) and a.get('num_keypoints', 0) > 0),
                  crowd_regions=sum(1 for a in anns if a.get('iscrowd', 0)),
                  missing_images=missing,
                  unreadable_or_wrong_size=wrong_size)
    if missing:
        report['problems'].append(f'{len(missing)} referenced image(s) missing, e.g. {missing[0]}')
    if wrong_size:
        report['problems'].append(f'{len(wrong_size)} image(s) unreadable or not the annotated '
                                  f'size, e.g. {wrong_size[0]}')
    if bad_kpts:
        report['problems'].append(
            f'{len(bad_kpts)} annotation(s) without {3 * num_keypoints} keypoint '
            f'numbers, e.g. id {bad_kpts[0]}')
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default='data/coco')
    parser.add_argument('--splits', nargs='+', default=['train2017', 'val2017'])
    parser.add_argument('--no-size-check',
                        action='store_true',
                        help='skip decoding every image to compare its size (faster)')
    args = parser.parse_args(argv)
    print(f'checking COCO keypoints under {args.root} (splits: {", ".join(args.splits)}); '
          'nothing is written')
    ok = True
    for split in args.splits:
        r = check_split(args.root, split, not args.no_size_check)
        print(f'[{split}] {r["ann_file"]}')
        if 'images' in r:
            print(f'  images {r["images"]}, with >= 1 annotation {r["images_with_annotations"]} '
                  f'(kept for training), people {r["people"]} ({r["people_with_keypoints"]} with '
                  f'keypoints), crowd regions {r["crowd_regions"]}, missing images '
                  f'{len(r["missing_images"])}')
        for problem in r['problems']:
            print(f'  PROBLEM: {problem}')
        ok = ok and not r['problems']
    print('layout OK' if ok else 'layout has problems (see above)')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
