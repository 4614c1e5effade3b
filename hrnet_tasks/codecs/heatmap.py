"""Single-instance Gaussian heatmap codec of top-down pose and facial landmarks.

One instance per crop. Coordinates are *input-crop pixels* on both sides: ``encode`` takes
keypoints already warped into the crop, ``decode`` returns them there; mapping them back
to the image is the inverse of the crop affine (``hrnet_tasks.datasets.transforms.topdown``).

Three modes, as in the official code (plain) and mmpose (DARK, UDP):

* plain (official ``generate_target`` / ``get_final_preds``, mmpose ``MSRAHeatmap``):
  heatmap coordinate = input / stride, the Gaussian centred on the *rounded* pixel
  ``trunc(u + 0.5)``, drawn in the window ``|d| <= 3 sigma``; decoding takes the argmax and
  steps 0.25 px toward the higher neighbour when ``1 < x < W-1 and 1 < y < H-1``.
* ``unbiased`` (DARK): the Gaussian at the float coordinate over the whole map; decoding
  blurs the map, takes its log and adds one Taylor (Newton) step at the argmax.
* ``use_udp`` (UDP): heatmap coordinate = input x (W_hm - 1) / (W_in - 1); the Gaussian at
  the float coordinate inside the window of the rounded pixel; decoding is one Newton step
  on the blurred log-map (edge-padded, no bounds test). The flip test adds no shift.

Target weight = visibility, set to 0 when the window lies wholly outside the map (the
official rule: its upper-left corner at or beyond the map size, or its lower-right
corner below 0); a joint of weight 0 leaves its map empty.
"""
from typing import Sequence, Tuple

import cv2
import numpy as np

from hrnet_tasks.registry import TASK_UTILS


def _pair(value) -> Tuple[int, int]:
    if np.isscalar(value):
        return int(value), int(value)
    w, h = value
    return int(w), int(h)


def blur_heatmaps(heatmaps: np.ndarray, kernel: int) -> np.ndarray:
    """Each (H, W) map blurred with ``cv2.GaussianBlur(kernel)`` on a zero-padded copy and
    rescaled to its own maximum (the DARK / UDP pre-processing); any leading shape."""
    border = (kernel - 1) // 2
    shape = heatmaps.shape
    maps = heatmaps.reshape(-1, *shape[-2:]).astype(np.float32, copy=True)
    for i, hm in enumerate(maps):
        peak = hm.max()
        padded = np.zeros((hm.shape[0] + 2 * border, hm.shape[1] + 2 * border), np.float32)
        padded[border:border + hm.shape[0], border:border + hm.shape[1]] = hm
        blurred = cv2.GaussianBlur(padded, (kernel, kernel), 0)
        blurred = blurred[border:border + hm.shape[0], border:border + hm.shape[1]]
        top = blurred.max()
        maps[i] = blurred * (peak / top) if top > 0 else blurred
    return maps.reshape(shape)


def heatmap_maxima(heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Integer argmax (x, y) as float64 (..., 2) and the peak values (...) of (..., H, W)
    maps; a map whose maximum is <= 0 gives location (0, 0), as the official decoder."""
    h, w = heatmaps.shape[-2:]
    flat = heatmaps.reshape(*heatmaps.shape[:-2], h * w)
    idx = flat.argmax(-1)
    scores = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
    xy = np.stack([idx % w, idx // w], -1).astype(np.float64)
    xy[scores <= 0] = 0
    return xy, scores.astype(np.float32)


def quarter_offset(heatmaps: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """The official post-processing: +-0.25 px toward the higher neighbour on both axes
    (0 on ties), only for peaks with 1 < x < W-1 and 1 < y < H-1. ``heatmaps`` (N, H, W),
    ``xy`` (N, 2) integer positions; returns the refined copy."""
    h, w = heatmaps.shape[-2:]
    out = xy.copy()
    x, y = xy[:, 0].astype(np.int64), xy[:, 1].astype(np.int64)
    inside = (x > 1) & (x < w - 1) & (y > 1) & (y < h - 1)
    n, x, y = np.nonzero(inside)[0], x[inside], y[inside]
    out[n, 0] += 0.25 * np.sign(heatmaps[n, y, x + 1] - heatmaps[n, y, x - 1])
    out[n, 1] += 0.25 * np.sign(heatmaps[n, y + 1, x] - heatmaps[n, y - 1, x])
    return out


def taylor_offset(log_maps: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """DARK refinement: one Newton step ``-H^-1 g`` of the log-map at the integer peak,
    derivatives by differences two pixels wide, applied where 1 < x < W-2 and 1 < y < H-2
    and the Hessian is invertible. ``log_maps`` (N, H, W), ``xy`` (N, 2)."""
    h, w = log_maps.shape[-2:]
    out = xy.copy()
    x, y = xy[:, 0].astype(np.int64), xy[:, 1].astype(np.int64)
    inside = (x > 1) & (x < w - 2) & (y > 1) & (y < h - 2)
    n, x, y = np.nonzero(inside)[0], x[inside], y[inside]
    f = lambda dx, dy: log_maps[n, y + dy, x + dx].astype(np.float64)  # noqa: E731
    gx, gy = 0.5 * (f(1, 0) - f(-1, 0)), 0.5 * (f(0, 1) - f(0, -1))
    hxx = 0.25 * (f(2, 0) - 2 * f(0, 0) + f(-2, 0))
    hyy = 0.25 * (f(0, 2) - 2 * f(0, 0) + f(0, -2))
    hxy = 0.25 * (f(1, 1) - f(1, -1) - f(-1, 1) + f(-1, -1))
    det = hxx * hyy - hxy**2
    ok = det != 0
    det = np.where(ok, det, 1)
    # inverse of [[hxx, hxy], [hxy, hyy]] applied to (gx, gy)
    out[n, 0] -= np.where(ok, (hyy * gx - hxy * gy) / det, 0)
    out[n, 1] -= np.where(ok, (hxx * gy - hxy * gx) / det, 0)
    return out


def udp_offset(log_maps: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """UDP refinement: one Newton step of the log-map at the integer peak from its 3x3
    neighbourhood of the edge-padded map (no bounds test), the Hessian regularised by
    float32 epsilon. ``log_maps`` (N, H, W), ``xy`` (N, 2)."""
    padded = np.pad(log_maps, ((0, 0), (1, 1), (1, 1)), mode='edge').astype(np.float64)
    n = np.arange(len(xy))
    x, y = xy[:, 0].astype(np.int64) + 1, xy[:, 1].astype(np.int64) + 1
    f = lambda dx, dy: padded[n, y + dy, x + dx]  # noqa: E731
    gx, gy = 0.5 * (f(1, 0) - f(-1, 0)), 0.5 * (f(0, 1) - f(0, -1))
    hxx = f(1, 0) - 2 * f(0, 0) + f(-1, 0)
    hyy = f(0, 1) - 2 * f(0, 0) + f(0, -1)
    # mixed derivative from the four axis-aligned quadrant differences
    hxy = 0.5 * (f(1, 1) - f(1, 0) - f(0, 1) + 2 * f(0, 0) - f(-1, 0) - f(0, -1) + f(-1, -1))
    eps = np.finfo(np.float32).eps
    a, d = hxx + eps, hyy + eps
    det = a * d - hxy**2
    out = xy.copy()
    out[:, 0] -= (d * gx - hxy * gy) / det
    out[:, 1] -= (a * gy - hxy * gx) / det
    return out


@TASK_UTILS.register_module()
class HeatmapCodec:
    """Gaussian heatmap targets and single-instance decoding.

    Args:
        input_size (tuple): crop (W, H) in pixels, e.g. (192, 256).
        heatmap_size (tuple): heatmap (W, H), e.g. (48, 64).
        sigma (float): Gaussian sigma in heatmap pixels (official: 2 at 256x192, 3 at
            384x288).
        unbiased (bool): DARK encoding and decoding.
        use_udp (bool): UDP encoding and decoding (the crop must be made with
            ``TopdownAffine(use_udp=True)``). Excludes ``unbiased``.
        blur_kernel_size (int): Gaussian blur of the DARK / UDP decoder (mmpose: 11).
        centre_rounding (str): integer centre of the plain target window: ``'round'``
            (``trunc(u + 0.5)``, official pose and mmpose) or ``'trunc'`` (``trunc(u)``,
            the official face code).
        decode_offset (float): heatmap pixels added to the plain decoder's coordinates after
            the quarter offset: 0.5 in the official face decoder (``decode_preds``), which
            undoes the mean -0.5 of ``'trunc'`` centres; 0 for pose.
    """

    def __init__(self,
                 input_size: Sequence[int] = (192, 256),
                 heatmap_size: Sequence[int] = (48, 64),
                 sigma: float = 2.0,
                 unbiased: bool = False,
                 use_udp: bool = False,
                 blur_kernel_size: int = 11,
                 centre_rounding: str = 'round',
                 decode_offset: float = 0.0):
        if centre_rounding not in ('round', 'trunc'):
            raise ValueError(f"HeatmapCodec: centre_rounding must be 'round' or 'trunc', got "
                             f'{centre_rounding!r}')
        if unbiased and use_udp:
            raise ValueError('HeatmapCodec: choose one of unbiased (DARK) and use_udp (UDP)')
        if blur_kernel_size % 2 != 1:
            raise ValueError(f'HeatmapCodec: blur_kernel_size must be odd, got '
                             f'{blur_kernel_size}')
        self.input_size = _pair(input_size)
        self.heatmap_size = _pair(heatmap_size)
        self.sigma = float(sigma)
        self.unbiased = unbiased
        self.use_udp = use_udp
        self.blur_kernel_size = blur_kernel_size
        self.centre_rounding = centre_rounding
        self.decode_offset = float(decode_offset)
        (w_in, h_in), (w_hm, h_hm) = self.input_size, self.heatmap_size
        if use_udp:
            self.scale = np.array([(w_hm - 1) / (w_in - 1), (h_hm - 1) / (h_in - 1)])
        else:
            self.scale = np.array([w_hm / w_in, h_hm / h_in])

    @property
    def shift_flipped_heatmap(self) -> bool:
        """Whether the flip test shifts the flipped-back map 1 px right (the official
        ``SHIFT_HEATMAP``): it compensates the W-1-x flip of plain and DARK crops; UDP's
        crop is flip-exact and needs none."""
        return not self.use_udp

    # ------------------------------------------------------------------ encode
    def to_heatmap(self, keypoints: np.ndarray) -> np.ndarray:
        """Input-crop pixels -> heatmap pixels (float)."""
        return np.asarray(keypoints, np.float64) * self.scale

    def encode(self, keypoints: np.ndarray, keypoints_visible: np.ndarray = None) -> dict:
        """``keypoints`` (N, K, 2) in input-crop pixels, ``keypoints_visible`` (N, K) ->
        ``heatmaps`` (K, H, W) float32 (instances merged by maximum) and
        ``keypoint_weights`` (N, K) float32."""
        kpts = self.to_heatmap(keypoints).reshape(-1, np.shape(keypoints)[-2], 2)
        n, k = kpts.shape[:2]
        vis = np.ones((n, k)) if keypoints_visible is None else \
            np.asarray(keypoints_visible, np.float64).reshape(n, k)
        w, h = self.heatmap_size
        radius = 3 * self.sigma
        heatmaps = np.zeros((k, h, w), np.float32)
        weights = np.minimum(vis, 1).astype(np.float32)
        # the window's integer centre, truncated toward zero as Python's int() does
        centre = np.trunc(kpts + 0.5) if self.centre_rounding == 'round' else np.trunc(kpts)
        ul = np.trunc(centre - radius)
        br = np.trunc(centre + radius + 1)
        outside = (ul[..., 0] >= w) | (ul[..., 1] >= h) | (br[..., 0] < 0) | (br[..., 1] < 0)
        weights[outside] = 0
        xs, ys = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)
        for i, j in zip(*np.nonzero(weights > 0.5)):
            if self.unbiased:  # whole map, float centre
                mu = kpts[i, j]
                gx = np.exp(-(xs - mu[0])**2 / (2 * self.sigma**2))
                gy = np.exp(-(ys - mu[1])**2 / (2 * self.sigma**2))
                patch = (gy[:, None] * gx[None, :]).astype(np.float32)
                np.maximum(heatmaps[j], patch, out=heatmaps[j])
                continue
            mu = kpts[i, j] if self.use_udp else centre[i, j]
            x0, y0 = int(max(ul[i, j, 0], 0)), int(max(ul[i, j, 1], 0))
            x1, y1 = int(min(br[i, j, 0], w)), int(min(br[i, j, 1], h))
            if x1 <= x0 or y1 <= y0:
                continue
            gx = np.exp(-(xs[x0:x1] - mu[0])**2 / (2 * self.sigma**2))
            gy = np.exp(-(ys[y0:y1] - mu[1])**2 / (2 * self.sigma**2))
            patch = (gy[:, None] * gx[None, :]).astype(np.float32)
            np.maximum(heatmaps[j, y0:y1, x0:x1], patch, out=heatmaps[j, y0:y1, x0:x1])
        return dict(heatmaps=heatmaps, keypoint_weights=weights)

    # ------------------------------------------------------------------ decode
    def batch_decode(self, heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(B, K, H, W) maps -> keypoints (B, K, 2) in input-crop pixels, scores (B, K)
        (the peak of each map)."""
        heatmaps = np.asarray(heatmaps, np.float32)
        b, k, h, w = heatmaps.shape
        maps = heatmaps.reshape(b * k, h, w)
        xy, scores = heatmap_maxima(maps)
        if self.use_udp:
            logs = np.log(np.clip(blur_heatmaps(maps, self.blur_kernel_size), 1e-3, 50.0))
            xy = udp_offset(logs, xy)
        elif self.unbiased:
            logs = np.log(np.maximum(blur_heatmaps(maps, self.blur_kernel_size), 1e-10))
            xy = taylor_offset(logs, xy)
        else:
            xy = quarter_offset(maps, xy) + self.decode_offset
        keypoints = (xy / self.scale).astype(np.float32).reshape(b, k, 2)
        return keypoints, scores.reshape(b, k)

    def decode(self, heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(K, H, W) maps of one instance -> keypoints (1, K, 2) in input-crop pixels and
        scores (1, K)."""
        return self.batch_decode(np.asarray(heatmaps)[None])
