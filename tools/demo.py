"""Run a trained model on images and write the picture of each result as PNG.

    python tools/demo.py CONFIG CHECKPOINT IMAGE [IMAGE ...] [--out out.png | --out-dir DIR]

Classification writes the top-5 labels on the image; every task draws its own
result type (see hrnet_tasks.apis).
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
    args = parser.parse_args(argv)
    for path in [args.config, args.checkpoint, *args.images]:
        if not osp.isfile(path):
            sys.exit(f'error: file not found: {path}')
    if args.out and len(args.images) > 1:
        sys.exit('error: --out takes one image; use --out-dir for several')
    from hrnet_tasks.checkpoint_files import damaged_checkpoint
    damaged = damaged_checkpoint(args.checkpoint)
    if damaged:
        sys.exit(f'error: {damaged}')
    import cv2

    from hrnet_tasks.apis import inference, init_model, task_of
    model = init_model(args.config, args.checkpoint, device=args.device)
    adapter = task_of(model)
    results = inference(model, args.images)
    for image_path, result in zip(args.images, results):
        out = args.out or osp.join(args.out_dir, osp.splitext(osp.basename(image_path))[0] + '.png')
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        cv2.imwrite(out, adapter.draw(cv2.imread(image_path), result, model))
        print(f'{image_path}: {result}\n  -> {out}')


if __name__ == '__main__':
    main()
