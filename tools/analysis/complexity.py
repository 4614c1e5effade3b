"""Parameters and multiply-accumulates (MACs) of any hrnet_tasks config's model.

    python tools/analysis/complexity.py CONFIG [--shape H W] [--per-stage]

Counting conventions:

* Parameters: every ``nn.Parameter`` of the built model (trainable or frozen);
  BN running statistics are buffers and not counted (mmpretrain/timm convention).
  For classifiers with mmpretrain's ``HRFuseScales`` neck an extra line gives
  the official/timm-layout count, whose four head convs carry a bias
  (256 + 512 + 1024 + 2048 = 3,840 more parameters).
* Compute: ``mmengine.analysis.FlopAnalyzer`` (fvcore-style JIT counter, the one
  behind ``get_model_complexity_info``) on the model in eval mode, called as
  ``model(x, mode='tensor')`` with one ``1x3xHxW`` input. Despite the name it
  counts multiply-accumulates: one per conv/linear MAC, plus one per element for
  BN (eval), nearest upsampling and adaptive average pooling, four per output
  element of bilinear resizing; element-wise adds and ReLUs are not counted.
  This is the convention of timm's ``infer_gmacs`` and of the mmpretrain model
  zoo; true FLOPs are about 2x. The official HRNet README "GFLOPs" are conv+fc
  MACs divided by 1024^3 instead, about 7% below.
"""
import argparse
import inspect
import logging
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)  # run from a checkout

from hrnet_tasks.utils import register_all_modules  # noqa: E402

MACS_UNIT = 'GMACs (multiply-accumulates / 1e9)'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Count parameters and MACs of a config\'s model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'),
                        help='input height and width (default: 224 224)')
    parser.add_argument('--per-stage', action='store_true',
                        help='break params and MACs down per backbone stage and neck/head')
    return parser.parse_args(argv)


def build_model(config: str):
    from mmengine.config import Config

    from hrnet_tasks.registry import MODELS
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    model.eval()
    return model


def count_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def official_head_bias_params(model) -> Optional[int]:
    """Conv biases the official/timm classification head has and HRFuseScales lacks.

    None when the model has no HRFuseScales neck (then the line is not printed).
    """
    from mmpretrain.models.necks import HRFuseScales
    necks = [m for m in model.modules() if isinstance(m, HRFuseScales)]
    if not necks:
        return None
    extra = 0
    for neck in necks:
        for conv_module in list(neck.downsample_layers) + [neck.final_layer]:
            conv = conv_module.conv
            if conv.bias is None:
                extra += conv.out_channels
    return extra


class _TensorMode:
    """Call an mmengine ``BaseModel`` in ``mode='tensor'`` (plain modules as they are)."""

    def __new__(cls, model):
        import torch.nn as nn

        accepts_mode = 'mode' in inspect.signature(model.forward).parameters
        if not accepts_mode:
            return model

        class TensorMode(nn.Module):

            def __init__(self, inner):
                super().__init__()
                self.model = inner

            def forward(self, x):
                return self.model(x, mode='tensor')

        return TensorMode(model)


def analyse(model, shape: Tuple[int, int]):
    """Return (total MACs, {qualified module name of ``model``: MACs})."""
    import torch
    from mmengine.analysis import FlopAnalyzer

    wrapped = _TensorMode(model)
    prefix = 'model.' if wrapped is not model else ''
    inputs = (torch.randn(1, 3, *shape), )
    analyzer = FlopAnalyzer(wrapped, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    with torch.no_grad():
        total = analyzer.total()
        by_module = analyzer.by_module()
    per_name = {}
    for name, value in by_module.items():
        if prefix and name == 'model':
            per_name[''] = value
        elif name.startswith(prefix):
            per_name[name[len(prefix):]] = value
    return total, per_name


def _name_of(model) -> Dict[int, str]:
    return {id(m): n for n, m in model.named_modules()}


def stage_rows(model, macs: Dict[str, int]) -> List[Tuple[str, int, int]]:
    """(label, params, MACs) for stem, stage1..4 and every other top-level part."""
    rows = []
    names = _name_of(model)
    backbone = getattr(model, 'backbone', None)
    top_children = list(model.named_children())
    if backbone is not None and hasattr(backbone, 'stage_modules'):
        bb_name = names[id(backbone)]
        covered_params = covered_macs = 0
        for stage in range(5):
            modules = backbone.stage_modules(stage)
            p = sum(count_params(m) for m in modules)
            c = sum(macs.get(names[id(m)], 0) for m in modules)
            label = 'stem' if stage == 0 else f'stage{stage}' + (
                ' (incl. transition{})'.format(stage - 1) if stage >= 2 else '')
            rows.append((f'{bb_name}.{label}' if bb_name != 'backbone' else label, p, c))
            covered_params += p
            covered_macs += c
        rest_p = count_params(backbone) - covered_params
        rest_c = macs.get(bb_name, 0) - covered_macs
        if rest_p or rest_c:
            rows.append((f'{bb_name} (other ops)', rest_p, rest_c))
        top_children = [(n, m) for n, m in top_children if m is not backbone]
    for name, child in top_children:
        p, c = count_params(child), macs.get(name, 0)
        if p or c:
            rows.append((name, p, c))
    listed_c = sum(r[2] for r in rows)
    listed_p = sum(r[1] for r in rows)
    rest_c = macs.get('', 0) - listed_c
    rest_p = count_params(model) - listed_p
    if rest_p or rest_c:
        rows.append(('(top-level ops)', rest_p, rest_c))
    return rows


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    logging.getLogger('mmengine').setLevel(logging.ERROR)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('mmengine', log_level='ERROR')

    model = build_model(args.config)
    shape = tuple(args.shape)
    params = count_params(model)
    total_macs, macs = analyse(model, shape)

    print(f'config: {args.config}')
    print(f'model: {type(model).__name__}'
          + (f' (backbone {type(model.backbone).__name__} '
             f'{getattr(model.backbone, "arch", "")})'.replace(' )', ')')
             if hasattr(model, 'backbone') else ''))
    print(f'input: 1x3x{shape[0]}x{shape[1]}')
    print(f'params: {params:,} ({params / 1e6:.2f} M)')
    extra = official_head_bias_params(model)
    if extra is not None:
        official = params + extra
        print(f'params, official/timm layout (+{extra:,} head conv biases): '
              f'{official:,} ({official / 1e6:.2f} M)')
    print(f'{MACS_UNIT}: {total_macs / 1e9:.3f}')
    if args.per_stage:
        rows = stage_rows(model, macs)
        width = max(len('part'), *(len(r[0]) for r in rows))
        print()
        print(f'{"part":<{width}}  {"params":>13}  {"M":>7}  {"GMACs":>8}  {"% MACs":>6}')
        for label, p, c in rows:
            share = 100 * c / total_macs if total_macs else 0.0
            print(f'{label:<{width}}  {p:>13,}  {p / 1e6:>7.3f}  {c / 1e9:>8.4f}  {share:>6.1f}')
        print(f'{"total":<{width}}  {params:>13,}  {params / 1e6:>7.3f}  {total_macs / 1e9:>8.4f}  '
              f'{100.0 if total_macs else 0.0:>6.1f}')


if __name__ == '__main__':
    main()
