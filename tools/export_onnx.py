"""Export a task network (the raw ``mode='tensor'`` outputs) to ONNX and check it.

    python tools/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--input-size H W]
                                [--dynamic-batch] [--opset 17] [--no-check]

Classification exports the logits; pose the multi-resolution heatmaps and tags;
segmentation the logits (OCR: auxiliary and main). Post-processing (pose
grouping, resizing seg logits to the image) stays in Python and is shared with
the PyTorch path. Unless ``--no-check``, the exported file is run in
onnxruntime on a random input and compared with PyTorch.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

import numpy as np  # noqa: E402
import torch  # noqa: E402


def flatten(outputs):
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [t for item in outputs for t in flatten(item)]


class TensorOutputs(torch.nn.Module):
    """The model's ``mode='tensor'`` outputs as a flat tuple of tensors."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return tuple(flatten(self.model(inputs, mode='tensor')))


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
    return 224, 224


def export(model, out: str, size, dynamic_batch: bool, opset: int):
    wrapper = TensorOutputs(model).eval()  # eval: the exporter restores this module's mode
    dummy = torch.randn(1, 3, *size)
    with torch.no_grad():
        n_out = len(wrapper(dummy))
    names = ['logits'] if n_out == 1 else [f'output{i}' for i in range(n_out)]
    axes = {name: {0: 'batch'} for name in ['input', *names]} if dynamic_batch else None
    torch.onnx.export(wrapper, dummy, out, input_names=['input'], output_names=names,
                      dynamic_axes=axes, opset_version=opset, dynamo=False)
    return wrapper, names


def check(wrapper, out: str, size, batch: int):
    """(max abs difference, largest |output|) of onnxruntime vs PyTorch on a random input."""
    import onnxruntime as ort
    x = torch.randn(batch, 3, *size)
    with torch.no_grad():
        expected = [t.numpy() for t in wrapper(x)]
    got = ort.InferenceSession(out, providers=['CPUExecutionProvider']).run(
        None, {'input': x.numpy()})
    diff = max(float(np.abs(e - g).max()) for e, g in zip(expected, got))
    return diff, max(float(np.abs(e).max()) for e in expected)


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
    args = parser.parse_args(argv)
    from hrnet_tasks.apis import init_model
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            sys.exit(f'error: file not found: {path}')
    model = init_model(args.config, args.checkpoint)
    size = tuple(args.input_size) if args.input_size else default_input_size(model.cfg)
    wrapper, names = export(model, args.out, size, args.dynamic_batch, args.opset)
    print(f'exported {type(model).__name__} at {size[0]}x{size[1]} with outputs {names} '
          f'to {args.out}')
    if not args.no_check:
        diff, scale = check(wrapper, args.out, size, batch=2 if args.dynamic_batch else 1)
        print(f'onnxruntime vs PyTorch max abs diff: {diff:.3g} (largest |output| {scale:.3g})')
        # fp32 rounding grows with the outputs (untrained weights can give logits of 1e3)
        if diff > 1e-4 * max(1.0, scale):
            sys.exit(f'error: exported model differs from PyTorch by {diff:.3g} '
                     f'(> 1e-4 x max(1, {scale:.3g}))')


if __name__ == '__main__':
    main()
