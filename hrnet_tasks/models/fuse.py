"""Inference-only speed-up: fold each BatchNorm into the convolution that feeds it.

In eval mode BN is a per-channel affine map, so ``BN(conv(x))`` equals one conv
with rescaled weights and a bias; folding removes a full pass over every
feature map (about 200 BN layers in HRNet-W32). The result must not be trained:
the BNs are gone.
"""
import copy

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval

# (conv, norm) attribute pairs used in forward one after the other: the HRNet stem,
# ResNet-style blocks (mmpretrain BasicBlock/Bottleneck) and mmcv's ConvModule.
_ATTRIBUTE_PAIRS = (('conv1', 'bn1'), ('conv2', 'bn2'), ('conv3', 'bn3'), ('conv', 'bn'))


def _foldable(conv, bn) -> bool:
    return (type(conv) in (nn.Conv2d, nn.ConvTranspose2d) and isinstance(bn, _BatchNorm)
            and bn.affine and bn.track_running_stats and bn.num_features == conv.out_channels)


def _fold(conv, bn):
    return fuse_conv_bn_eval(conv, bn, transpose=isinstance(conv, nn.ConvTranspose2d))


def optimize_for_inference(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Eval-mode copy of ``model`` with every conv->BN pair folded into one conv.

    Covers ``nn.Sequential(conv, bn, ...)`` (transitions, fuse layers, projections,
    the HigherHRNet deconvolution)
    and the ``convN``/``bnN`` and ``conv``/``bn`` attribute pairs of blocks and
    ConvModules; anything else is left as it is. Outputs equal the unfolded
    model's up to float rounding.
    """
    model = model if inplace else copy.deepcopy(model)
    model.eval()
    for module in list(model.modules()):
        if isinstance(module, nn.Sequential):
            names = list(module._modules)
            for first, second in zip(names, names[1:]):
                conv, bn = module._modules[first], module._modules[second]
                if _foldable(conv, bn):
                    module._modules[first] = _fold(conv, bn)
                    module._modules[second] = nn.Identity()
        if tuple(getattr(module, 'order', ('conv', 'norm')))[:2] != ('conv', 'norm'):
            continue  # a ConvModule that normalises before convolving
        for conv_name, bn_name in _ATTRIBUTE_PAIRS:
            conv, bn = module._modules.get(conv_name), module._modules.get(bn_name)
            if _foldable(conv, bn):
                module._modules[conv_name] = _fold(conv, bn)
                module._modules[bn_name] = nn.Identity()
    return model
