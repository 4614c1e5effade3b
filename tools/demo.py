"""Run a trained model on images and write the picture of each result as PNG.

    python tools/demo.py CONFIG CHECKPOINT IMAGE [IMAGE ...] [--out out.png | --out-dir DIR]
                         [--bboxes FILE] [--score-thr T] [--kpt-thr T] [--joint-scores]
    python tools/demo.py POSE_CFG POSE_CKPT IMAGE --det-config DET_CFG --det-checkpoint DET_CKPT
                         [--det-score-thr 0.5] --out out.png

Every task draws its own result type in one style (hrnet_tasks.apis.drawing): the
picture and, on its right, a legend of what it shows (top-5 classes with scores, the
segmentation classes present, the people drawn with their scores); people and joints
below --score-thr / --kpt-thr are neither drawn nor reported. Top-down pose draws a
skeleton per person box of ``--bboxes`` (the whole image is one person without it).
With ``--det-config/--det-checkpoint`` a detector finds the people first (its person boxes
scored at least ``--det-score-thr``) and the top-down model poses each of them; a joint model
with a detection head and a top-down head does both from its one checkpoint.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out', help='output PNG (one input image)')
    parser.add_argument('--out-dir', default='demo_out', help='output folder (several images)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--bboxes', metavar='FILE',
                        help='top-down pose: person boxes, JSON: a list of [x, y, w, h] (or of '
                        'COCO detection results {"bbox": ..., "score": ...}) for one image, or '
                        'a dict image -> such a list')
    parser.add_argument('--kpt-thr', type=float, default=0.3,
                        help='pose: joints scored below it are not drawn (default 0.3)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='people and boxes scored below it are neither drawn nor reported '
                        '(default 0.3, as mmpose\'s visualiser)')
    parser.add_argument('--joint-scores', action='store_true',
                        help='pose: write each drawn joint\'s score beside it')
    parser.add_argument('--det-config', help='detect-then-pose: the detector config')
    parser.add_argument('--det-checkpoint', help='detect-then-pose: the detector checkpoint')
    parser.add_argument('--det-score-thr', type=float, default=0.5,
                        help='detect-then-pose: person boxes scored below it are not posed '
                        '(default 0.5)')
    args = parser.parse_args(argv)
    boxes_file = [args.bboxes] if args.bboxes else []
    if bool(args.det_config) != bool(args.det_checkpoint):
        sys.exit('error: --det-config and --det-checkpoint go together (the detector of '
                 'detect-then-pose)')
    if args.det_config and args.bboxes:
        sys.exit('error: give the person boxes by --bboxes or by a detector (--det-config), '
                 'not both')
    detector = [args.det_config, args.det_checkpoint] if args.det_config else []
    for path in [args.config, args.checkpoint, *args.images, *boxes_file, *detector]:
        if not osp.isfile(path):
            sys.exit(f'error: file not found: {path}')
    if args.out and len(args.images) > 1:
        sys.exit('error: --out takes one image; use --out-dir for several')
    from hrnet_tasks.checkpoint_files import damaged_checkpoint
    damaged = damaged_checkpoint(args.checkpoint)
    if damaged:
        sys.exit(f'error: {damaged}')
    import cv2
    from mmengine.config import Config

    from hrnet_tasks.apis import inference, init_model, task_of
    from hrnet_tasks.apis.inference import require_test_pipeline
    from hrnet_tasks.errors import CheckpointError, ConfigError
    try:
        cfg = Config.fromfile(args.config)
        require_test_pipeline(cfg)  # before the model is built
        model = init_model(cfg, args.checkpoint, device=args.device)
    except (ConfigError, CheckpointError) as err:
        sys.exit(f'error: {err}')
    adapter = task_of(model)
    from hrnet_tasks.apis.drawing import DrawStyle
    style = DrawStyle(score_thr=args.score_thr, kpt_thr=args.kpt_thr,
                      joint_scores=args.joint_scores)
    from hrnet_tasks.apis.detect_pose import (detect_then_pose, draw_detect_pose,
                                              is_detect_pose_model)
    if args.det_config or (is_detect_pose_model(model) and not args.bboxes):
        try:
            det_model = init_model(args.det_config, args.det_checkpoint, device=args.device) \
                if args.det_config else model
            for image_path in args.images:
                result = detect_then_pose(det_model, model, image_path, args.det_score_thr)
                out = args.out or osp.join(args.out_dir, osp.splitext(
                    osp.basename(image_path))[0] + '.png')
                os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
                cv2.imwrite(out, draw_detect_pose(cv2.imread(image_path), result, model, style))
                print(f'{image_path}: {result}\n  -> {out}')
        except (ConfigError, CheckpointError, ValueError) as err:
            sys.exit(f'error: {err}')
        return
    if args.bboxes:
        from hrnet_tasks.apis.topdown import inference_topdown, read_bboxes
        from hrnet_tasks.models.pose_estimators import TopdownPoseEstimator
        if not isinstance(model, TopdownPoseEstimator):
            sys.exit(f'error: --bboxes is for top-down models (TopdownPoseEstimator), not '
                     f'{type(model).__name__}')
        try:
            boxes = read_bboxes(args.bboxes, args.images)
        except ValueError as err:
            sys.exit(f'error: {err}')
        infer_boxes = adapter.infer_boxes or inference_topdown
        results = [infer_boxes(model, image, *boxes[image]) for image in args.images]
    else:
        results = inference(model, args.images)
    for image_path, result in zip(args.images, results):
        out = args.out or osp.join(args.out_dir, osp.splitext(osp.basename(image_path))[0] + '.png')
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        cv2.imwrite(out, adapter.draw(cv2.imread(image_path), result, model, style=style))
        # what the picture shows (e.g. the people above --score-thr), so the counts agree
        shown = adapter.shown(result, style) if adapter.shown else result
        print(f'{image_path}: {shown}\n  -> {out}')


if __name__ == '__main__':
    main()
