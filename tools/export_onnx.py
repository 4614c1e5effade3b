"""Export a task network (the raw ``mode='tensor'`` outputs) to ONNX and check it.

    python tools/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--input-size H W]
                                [--dynamic-batch] [--opset 17] [--no-check]

Classification exports the logits; pose the multi-resolution heatmaps and tags; top-down
pose (and faces) the heatmaps of each crop (``heatmaps``; crop and decode in Python);
segmentation the logits (OCR: auxiliary and main); a detector (Faster R-CNN, FCOS, ...) the
boxes (in input pixels), scores and labels of one image of a fixed size, with torchvision's
proposal, RoIAlign and NMS steps inside (``--check-image`` checks them on a real picture,
where a random input may detect nothing); a joint multi-task model one named
output per head (``pose_0``, ``pose_1``, ``seg``: heads with several tensors get indices).
Post-processing (pose grouping, resizing seg logits to the image) stays in Python and is
shared with the PyTorch path. Unless ``--no-check``, the exported file is run in
onnxruntime on a random input and compared with PyTorch.
"""
import argparse
import os.path as osp
import sys

import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout


def flatten(outputs):
    import torch
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, dict):  # a joint model: head name -> that head's outputs
        outputs = list(outputs.values())
    return [t for item in outputs for t in flatten(item)]


def tensor_outputs(model):
    """The model's ``mode='tensor'`` outputs as a flat tuple of tensors (a module, so it
    exports; defined here so that ``--help`` does not import torch)."""
    import torch

    class TensorOutputs(torch.nn.Module):

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, inputs):
            return tuple(flatten(self.model(inputs, mode='tensor')))

    return TensorOutputs(model)


def detection_outputs(model):
    """A detector's ``export_detections`` (boxes, scores, labels of one image) as a module."""
    import torch

    class DetectionOutputs(torch.nn.Module):

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, inputs):
            return self.model.export_detections(inputs)

    return DetectionOutputs(model)


def default_input_size(cfg):
    """(H, W) from the config: the seg ``crop_size`` (mmseg order, (H, W)), the pose
    ``input_size`` (square), or the classification test crop; else 224x224."""
    if cfg.get('crop_size'):
        return tuple(cfg.crop_size)
    if cfg.get('input_size'):
        size = cfg.input_size
        return (size, size) if isinstance(size, int) else (size[1], size[0])
    for step in cfg.get('test_pipeline', []):
        if step.get('type') == 'CenterCrop':
            crop = step['crop_size']
            return (crop, crop) if isinstance(crop, int) else (crop[1], crop[0])
        if step.get('type') == 'Resize' and cfg.model.get('type') == 'Detector':
            # the keep-ratio bound (W, H) as a padded detection batch: multiples of 32
            w, h = step['scale']
            return -(-h // 32) * 32, -(-w // 32) * 32
    return 224, 224


def output_names(outputs, single: str = 'logits'):
    """ONNX output names: ``single`` (``logits``; a heatmap head's ``heatmaps``) /
    ``output<i>``; for a joint model's dict of heads, the head name (``pose_<i>`` when the
    head returns several tensors)."""
    if isinstance(outputs, dict):
        names = []
        for head, value in outputs.items():
            n = len(flatten(value))
            names += [head] if n == 1 else [f'{head}_{i}' for i in range(n)]
        return names
    n_out = len(flatten(outputs))
    return [single] if n_out == 1 else [f'output{i}' for i in range(n_out)]


def export(model, out: str, size, dynamic_batch: bool, opset: int):
    import torch
    dummy = torch.randn(1, 3, *size)
    if hasattr(model, 'export_detections'):
        wrapper, names = detection_outputs(model).eval(), ['boxes', 'scores', 'labels']
        torch.onnx.export(wrapper, dummy, out, input_names=['input'], output_names=names,
                          opset_version=opset, dynamo=False)
        return wrapper, names
    wrapper = tensor_outputs(model).eval()  # eval: the exporter restores this module's mode
    head = getattr(model, 'head', None)
    single = 'heatmaps' if getattr(head, 'label_field', None) == 'gt_heatmaps' else 'logits'
    with torch.no_grad():
        names = output_names(model(dummy, mode='tensor'), single)
    axes = {name: {0: 'batch'} for name in ['input', *names]} if dynamic_batch else None
    torch.onnx.export(wrapper, dummy, out, input_names=['input'], output_names=names,
                      dynamic_axes=axes, opset_version=opset, dynamo=False)
    return wrapper, names


def check(wrapper, out: str, size, batch: int, inputs=None):
    """(max abs difference, largest |output|) of onnxruntime vs PyTorch on a random input."""
    import numpy as np
    import onnxruntime as ort
    import torch
    x = torch.randn(batch, 3, *size) if inputs is None else inputs
    with torch.no_grad():
        expected = [t.numpy() for t in wrapper(x)]
    got = ort.InferenceSession(out, providers=['CPUExecutionProvider']).run(
        None, {'input': x.numpy()})
    shapes = [(e.shape, g.shape) for e, g in zip(expected, got) if e.shape != g.shape]
    if shapes:  # e.g. a different number of detections
        return float('inf'), max(float(np.abs(e).max()) if e.size else 0.0 for e in expected)
    if not any(e.size for e in expected):
        return 0.0, 0.0
    diff = max(float(np.abs(e - g).max()) for e, g in zip(expected, got) if e.size)
    return diff, max(float(np.abs(e).max()) for e in expected if e.size)


def picture_input(model, path: str, size):
    """The image at ``path`` resized to ``size`` (H, W) and batched by the model's data
    preprocessor (normalised as in inference)."""
    import cv2
    import torch
    img = cv2.resize(cv2.imread(path), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    tensor = torch.from_numpy(img.transpose(2, 0, 1).copy())
    return model.data_preprocessor(dict(inputs=[tensor]), False)['inputs']


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--input-size', nargs=2, type=int, metavar=('H', 'W'))
    parser.add_argument('--dynamic-batch', action='store_true')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--no-check', action='store_true')
    parser.add_argument('--check-image', metavar='IMG',
                        help='check on this picture (resized to the input size) instead of a '
                        'random input')
    args = parser.parse_args(argv)
    check_image = [args.check_image] if args.check_image else []
    for path in (args.config, args.checkpoint, *check_image):
        if not osp.isfile(path):
            sys.exit(f'error: file not found: {path}')
    from hrnet_tasks.checkpoint_files import damaged_checkpoint
    damaged = damaged_checkpoint(args.checkpoint)
    if damaged:
        sys.exit(f'error: {damaged}')
    start = time.perf_counter()
    print('[1/3] building the model and loading the checkpoint', flush=True)
    from hrnet_tasks.apis import init_model
    from hrnet_tasks.errors import CheckpointError, ConfigError
    try:
        model = init_model(args.config, args.checkpoint)
    except (ConfigError, CheckpointError) as err:  # e.g. a file that would run code
        sys.exit(f'error: {err}')
    size = tuple(args.input_size) if args.input_size else default_input_size(model.cfg)
    if hasattr(model, 'export_detections') and args.dynamic_batch:
        sys.exit('error: --dynamic-batch: torchvision traces its detectors\' per-image proposal '
                 'and NMS steps for one image of a fixed size; export without it')
    print(f'[2/3] exporting at {size[0]}x{size[1]} ({time.perf_counter() - start:.1f} s)',
          flush=True)
    wrapper, names = export(model, args.out, size, args.dynamic_batch, args.opset)
    print(f'exported {type(model).__name__} at {size[0]}x{size[1]} with outputs {names} '
          f'to {args.out}')
    if not args.no_check:
        print(f'[3/3] checking with onnxruntime against PyTorch '
              f'({time.perf_counter() - start:.1f} s)', flush=True)
        inputs = picture_input(model, args.check_image, size) if args.check_image else None
        diff, scale = check(wrapper, args.out, size, batch=2 if args.dynamic_batch else 1,
                            inputs=inputs)
        print(f'onnxruntime vs PyTorch max abs diff: {diff:.3g} (largest |output| {scale:.3g}); '
              f'done in {time.perf_counter() - start:.1f} s')
        # fp32 rounding grows with the outputs (untrained weights can give logits of 1e3)
        if diff > 1e-4 * max(1.0, scale):
            sys.exit(f'error: exported model differs from PyTorch by {diff:.3g} '
                     f'(> 1e-4 x max(1, {scale:.3g}))')


if __name__ == '__main__':
    main()
