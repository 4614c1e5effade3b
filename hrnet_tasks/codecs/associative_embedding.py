"""Associative-embedding codec of HigherHRNet: training targets and test-time grouping.

Encoding (per output resolution, joints already in that resolution's pixels):

* heatmaps: unnormalised Gaussian, sigma 2 px, 15x15 window (6 sigma + 3) peaked at
  the *truncated* integer joint position; people merged by element-wise max.
* joints: (max_people, K, 2) int32; person i writes its labelled in-bounds joints
  compactly as (k * H * W + y * W + x, 1).

Decoding (batched, heatmaps and tags already aggregated at input size):

top-k per joint after max-pool NMS -> Hungarian grouping by tag distance
(``scipy.optimize.linear_sum_assignment``) -> person score (mean of the grouped
values) -> optional cap (``max_instances``: the best-scored people) -> quarter-pixel
adjust (+0.5) -> refine (fill missing joints from the tag-consistent heatmap
maximum) -> back-projection to the original image.

The rules follow the official HigherHRNet test code; deviations: the solver may
break exact ties differently from ``munkres``, and the optional cap. The cap cannot
change COCO AP: the metric keeps the 20 best-scored people of each image, and the
score is fixed before refinement. It bounds the cost on a young model, whose noisy
maps group into hundreds of people.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from hrnet_tasks.decode_cap import max_instances_problem
from hrnet_tasks.errors import ConfigError
from hrnet_tasks.registry import TASK_UTILS


def align_to(x: float, multiple: int) -> int:
    """The official rounding ``int((x + multiple - 1) // multiple * multiple)`` on the float x.

    Not a true ceiling for fractional x: 768.77 aligns to 768, not 832 (a 333x500
    image at 512). Kept bit for bit so trained checkpoints see the official borders.
    """
    return int((x + multiple - 1) // multiple * multiple)


def bottomup_resize_params(h: int,
                           w: int,
                           input_size: int,
                           scale: float = 1.0,
                           min_scale: float = 1.0,
                           size_factor: int = 64):
    """Test-time size, centre and inverse scale of the official bottom-up resize.

    Returns ``((W', H'), (cx, cy), s)``: the warped image is ``W' x H'``, the
    integer-rounded image centre maps to its middle and one warped pixel is ``s``
    source pixels.
    """
    m = align_to(min_scale * input_size, size_factor)
    if w < h:
        w_r = int(m * scale / min_scale)
        h_r = int(align_to(m * h / w, size_factor) * scale / min_scale)
        s = w / w_r
    else:
        h_r = int(m * scale / min_scale)
        w_r = int(align_to(m * w / h, size_factor) * scale / min_scale)
        s = h / h_r
    centre = (int(w / 2.0 + 0.5), int(h / 2.0 + 0.5))
    return (w_r, h_r), centre, s


def resize_matrix(centre, out_size, s) -> np.ndarray:
    """2x3 affine taking source pixels to the resized image (uniform scale 1/s)."""
    (cx, cy), (ow, oh) = centre, out_size
    return np.array([[1 / s, 0, ow / 2 - cx / s], [0, 1 / s, oh / 2 - cy / s]], np.float64)


def back_project(xy: np.ndarray, centre, out_size, s) -> np.ndarray:
    """Inverse of :func:`resize_matrix` for points (..., 2)."""
    out = np.array(xy, dtype=np.float64, copy=True)
    out[..., 0] = centre[0] + (out[..., 0] - out_size[0] / 2) * s
    out[..., 1] = centre[1] + (out[..., 1] - out_size[1] / 2) * s
    return out


@TASK_UTILS.register_module()
class AssociativeEmbedding:
    """HigherHRNet targets and grouping.

    Args:
        input_size (int): square training input side R.
        heatmap_strides (seq of int): output strides of the resolutions trained
            (HigherHRNet: 4 and 2).
        sigma (float): Gaussian sigma in heatmap pixels at every resolution.
        max_people (int): joint-target rows (extra people are dropped, with a count).
        num_keypoints (int): K.
        nms_kernel (int): max-pool NMS window on the input-size heatmap.
        topk (int): candidates per joint.
        det_thr (float): minimum heatmap value of a candidate.
        tag_thr (float): maximum tag distance to join a group.
        use_detection_val (bool): subtract the heatmap value in the matching cost.
        ignore_too_much (bool): stop creating groups once there are ``max_people``.
        adjust (bool): quarter-pixel offset towards the higher neighbour, plus 0.5.
        refine (bool): fill missing joints of each person from the tag map.
        max_instances (int, optional): keep only the people with the highest
            scores (the score COCO ranks by), before adjust and refine; ties keep
            the earlier person, as COCOeval's stable sort does. ``None`` (official):
            keep everyone. At least 20 (``hrnet_tasks.decode_cap.COCO_MAX_DETS``), so
            COCO AP is unchanged.
        joint_order (seq of int, optional): order in which joint types are grouped
            (COCO: head, shoulders, hips, elbows, wrists, knees, ankles); default 0..K-1.
    """

    # Refinement (see _refine_argmax): first candidates per joint, and the most
    # (pair, pixel, tag dim) entries scored at once: 4M float32 = 16 MB per temporary,
    # however many people there are.
    refine_block = 1024
    refine_chunk = 1 << 22

    def __init__(self,
                 input_size: int = 512,
                 heatmap_strides: Sequence[int] = (4, 2),
                 sigma: float = 2.0,
                 max_people: int = 30,
                 num_keypoints: int = 17,
                 nms_kernel: int = 5,
                 topk: int = 30,
                 det_thr: float = 0.1,
                 tag_thr: float = 1.0,
                 use_detection_val: bool = True,
                 ignore_too_much: bool = False,
                 adjust: bool = True,
                 refine: bool = True,
                 max_instances: Optional[int] = None,
                 joint_order: Optional[Sequence[int]] = None):
        self.input_size = input_size
        self.heatmap_strides = tuple(heatmap_strides)
        self.heatmap_sizes = tuple(input_size // s for s in self.heatmap_strides)
        self.sigma = sigma
        self.max_people = max_people
        self.num_keypoints = num_keypoints
        self.nms_kernel = nms_kernel
        self.topk = topk
        self.det_thr = det_thr
        self.tag_thr = tag_thr
        self.use_detection_val = use_detection_val
        self.ignore_too_much = ignore_too_much
        self.adjust = adjust
        self.refine = refine
        problem = max_instances_problem(max_instances)
        if problem:
            raise ConfigError(f'AssociativeEmbedding {problem}')
        self.max_instances = max_instances
        self.joint_order = list(joint_order) if joint_order is not None else list(
            range(num_keypoints))
        if sorted(self.joint_order) != list(range(num_keypoints)):
            raise ValueError(f'joint_order must be a permutation of 0..{num_keypoints - 1}, '
                             f'got {self.joint_order}')
        radius = int(3 * sigma + 1)
        size = 2 * radius + 1  # 6 sigma + 3
        ax = np.arange(size, dtype=np.float64) - radius
        self._radius = radius
        # Evaluated in float64 and rounded once, as the official code stores its float64
        # window into float32 heatmaps (float32 arithmetic differs in the last bit).
        self._window = np.exp(-(ax[None, :]**2 + ax[:, None]**2) / (2 * sigma**2)).astype(
            np.float32)
        # offsets of the window entries in row-major order, matching ``_window.ravel()``
        self._window_dy, self._window_dx = (d.ravel() for d in np.mgrid[-radius:radius + 1,
                                                                       -radius:radius + 1])

    # ------------------------------------------------------------------ encode
    def _valid(self, joints: np.ndarray, width: int, height: int):
        """Integer positions and validity (v > 0, truncated position inside the map).

        ``joints`` is float64, as in the official code: a float32 cast first moves a
        coordinate just below an integer (e.g. 63.99999999) onto the next pixel.
        """
        ix = joints[..., 0].astype(np.int64)  # int() truncation toward zero
        iy = joints[..., 1].astype(np.int64)
        ok = (joints[..., 2] > 0) & (ix >= 0) & (iy >= 0) & (ix < width) & (iy < height)
        return ix, iy, ok

    def encode_heatmaps(self, joints: np.ndarray, size) -> np.ndarray:
        """(N, K, 3) joints in heatmap pixels -> (K, H, W) float32 Gaussian heatmaps.

        All window pixels of all valid joints are scattered at once with
        ``np.maximum.at``: the maximum of the same float32 window values as drawing
        the windows one by one, so bit-identical, without a per-joint Python loop.
        """
        width, height = (size, size) if np.isscalar(size) else size
        joints = np.asarray(joints, np.float64).reshape(-1, self.num_keypoints, 3)
        hms = np.zeros((self.num_keypoints, height, width), np.float32)
        ix, iy, ok = self._valid(joints, width, height)
        n_idx, k_idx = np.nonzero(ok)
        if not len(n_idx):
            return hms
        # (J, S*S): pixel of every window entry of every valid joint, clipped to the map
        xs = ix[n_idx, k_idx][:, None] + self._window_dx
        ys = iy[n_idx, k_idx][:, None] + self._window_dy
        inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
        flat = ((k_idx[:, None] * height + ys) * width + xs)[inside]
        values = np.broadcast_to(self._window.ravel(), xs.shape)[inside]
        np.maximum.at(hms.reshape(-1), flat, values)
        return hms

    def encode_joints(self, joints: np.ndarray, size) -> np.ndarray:
        """(N, K, 3) joints -> (max_people, K, 2) int32 (flat index, 1), compact per person."""
        width, height = (size, size) if np.isscalar(size) else size
        joints = np.asarray(joints, np.float64).reshape(-1, self.num_keypoints, 3)
        joints = joints[:self.max_people]
        out = np.zeros((self.max_people, self.num_keypoints, 2), np.int32)
        ix, iy, ok = self._valid(joints, width, height)
        # slot of each valid joint = number of valid joints of the same person before it
        slot = np.cumsum(ok, axis=1) - 1
        n_idx, k_idx = np.nonzero(ok)
        s_idx = slot[n_idx, k_idx]
        out[n_idx, s_idx, 0] = (k_idx * height + iy[n_idx, k_idx]) * width + ix[n_idx, k_idx]
        out[n_idx, s_idx, 1] = 1
        return out

    def encode(self, keypoints_per_res: Sequence[np.ndarray], sizes=None) -> dict:
        """Targets for every resolution: ``heatmaps``, ``joints`` lists (1/4 first)."""
        sizes = sizes or self.heatmap_sizes
        return dict(heatmaps=[self.encode_heatmaps(j, s) for j, s in zip(keypoints_per_res, sizes)],
                    joints=[self.encode_joints(j, s) for j, s in zip(keypoints_per_res, sizes)])

    # ------------------------------------------------------------------ decode
    def _max_filter(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        """Maximum over a centred window of ``nms_kernel`` along ``dim``, borders padded
        with -inf: ``max_pool2d``'s values (max is exact), as elementwise maxima of
        shifted views, several times faster than ``max_pool2d`` on CPU."""
        pad = (self.nms_kernel - 1) // 2
        size = x.shape[dim]
        padded = F.pad(x, [0, 0] * (x.dim() - 1 - dim) + [pad, pad], value=float('-inf'))
        out = padded.narrow(dim, 0, size)
        for shift in range(1, self.nms_kernel):
            out = torch.maximum(out, padded.narrow(dim, shift, size))
        return out

    def _topk(self, heatmaps: torch.Tensor, tags: torch.Tensor):
        """NMS + top-k: values (B,K,M), x/y (B,K,M) int, tags (B,K,M,L) as numpy."""
        heatmaps = heatmaps.float()
        pooled = self._max_filter(self._max_filter(heatmaps, 3), 2)
        nms = heatmaps * (pooled == heatmaps).float()
        b, k, h, w = nms.shape
        m = min(self.topk, h * w)
        vals, idx = nms.view(b, k, -1).topk(m, dim=2)
        flat_tags = tags.float().reshape(b, k, h * w, -1)
        tag_vals = torch.gather(flat_tags, 2, idx[..., None].expand(-1, -1, -1,
                                                                    flat_tags.shape[-1]))
        return (vals.numpy(), (idx % w).numpy(), torch.div(idx, w, rounding_mode='floor').numpy(),
                tag_vals.numpy())

    def _group(self, vals, xs, ys, tags):
        """Hungarian matching of one image's candidates into people (K, 3 + L) arrays.

        As in the official code, people are keyed by the first tag component of
        the candidate that started them: a new candidate with exactly the same tag
        lands in the existing person (this merges tied NMS maxima of one joint).
        """
        num_k, dim = self.num_keypoints, tags.shape[-1]
        groups = {}  # key -> (K, 3 + L) array; insertion ordered
        group_tags = {}  # key -> list of tags
        for k in self.joint_order:
            sel = vals[k] > self.det_thr
            if not sel.any():
                continue
            cand = np.concatenate([
                np.stack([xs[k][sel], ys[k][sel], vals[k][sel]], 1).astype(np.float64),
                tags[k][sel].astype(np.float64)
            ],
                                  axis=1)
            if self.ignore_too_much and len(groups) >= self.max_people:
                continue

            def start(row):
                key = float(row[3])
                groups.setdefault(key, np.zeros((num_k, 3 + dim), np.float64))[k] = row
                group_tags[key] = [row[3:]]

            if not groups:
                for row in cand:
                    start(row)
                continue
            keys = list(groups)[:self.max_people]
            means = np.stack([np.mean(group_tags[g], axis=0) for g in keys])  # (G, L)
            dist = np.linalg.norm(cand[:, None, 3:] - means[None], axis=2)  # (n, G)
            cost = np.round(dist) * 100
            if self.use_detection_val:
                cost = cost - cand[:, 2:3]
            n, g_num = cost.shape
            if n > g_num:
                cost = np.concatenate([cost, np.full((n, n - g_num), 1e10)], axis=1)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if c < g_num and dist[r, c] < self.tag_thr:
                    groups[keys[c]][k] = cand[r]
                    group_tags[keys[c]].append(cand[r, 3:])
                else:
                    start(cand[r])
        if not groups:
            return np.zeros((0, num_k, 3 + dim), np.float64)
        return np.stack(list(groups.values()))

    @staticmethod
    def _quarter_offsets(hms: np.ndarray, k: np.ndarray, x: np.ndarray, y: np.ndarray):
        """Official sub-pixel rule, vectorised: +-0.25 towards the higher neighbour
        (ties -0.25, neighbours clamped to the map), then +0.5."""
        _, h, w = hms.shape
        right = hms[k, y, np.minimum(x + 1, w - 1)]
        left = hms[k, y, np.maximum(x - 1, 0)]
        down = hms[k, np.minimum(y + 1, h - 1), x]
        up = hms[k, np.maximum(y - 1, 0), x]
        fx = x + np.where(right > left, 0.25, -0.25) + 0.5
        fy = y + np.where(down > up, 0.25, -0.25) + 0.5
        return fx, fy

    def _refine_argmax(self, hm: torch.Tensor, tag: torch.Tensor, refs: torch.Tensor,
                       joints: np.ndarray) -> np.ndarray:
        """Row-major first argmax of ``hm[k] - round(||tag[k] - ref||)`` for every pair
        (``refs[i]``, ``joints[i]``): flat pixel indices (n,).

        Exact, without scoring every pixel for every pair. A pixel scores at most its
        heatmap value (the rounded distance is >= 0), so a pixel can only tie or beat a
        score ``b`` if its heatmap value is >= ``b``:

        1. all pairs, batched: score the ``refine_block`` highest pixels of their joint
           (in row-major order, so ties resolve as in a full argmax). A pair whose best
           score there exceeds the lowest heatmap value of the block is settled: every
           other pixel scores below it.
        2. the other pairs, per joint, in descending order of that best score: score
           every pixel whose heatmap value reaches the lowest best score of a chunk
           (row-major again; the whole map once that is over a quarter of it), chunks
           sized to ``refine_chunk``.

        The cost is linear in the pairs: at most one full map each (random-weight maps,
        whose scores are all close), a block for most pairs of a trained model.
        """
        hw, n, dim = hm.shape[1], len(joints), tag.shape[-1]
        m = min(self.refine_block, hw)
        top_val, top_idx = hm.topk(m, dim=1)  # (K, m), descending
        floor = top_val[:, -1]
        top_idx, order = top_idx.sort(dim=1)
        top_val = top_val.gather(1, order)
        top_tag = tag.gather(1, top_idx[..., None].expand(-1, -1, dim))  # (K, m, L)
        k_t = torch.from_numpy(joints)
        best = torch.empty(n, dtype=hm.dtype)
        flat = torch.empty(n, dtype=torch.int64)
        step = max(1, self.refine_chunk // (m * dim))
        for s in range(0, n, step):
            k = k_t[s:s + step]
            d = torch.cdist(refs[s:s + step, None], top_tag[k],
                            compute_mode='donot_use_mm_for_euclid_dist')[:, 0]
            best[s:s + step], arg = (top_val[k] - torch.round(d)).max(dim=1)
            flat[s:s + step] = top_idx[k, arg]
        open_pairs = (best <= floor[k_t]).numpy()
        for k in np.unique(joints[open_pairs]).tolist():
            rest = np.nonzero(open_pairs & (joints == k))[0]
            rest = rest[np.argsort(-best[rest].numpy(), kind='stable')]
            done = 0
            while done < len(rest):
                size = len(rest) - done
                while True:  # shrink the chunk until its scores fit refine_chunk
                    reach = hm[k] >= best[rest[done + size - 1]]
                    count = int(reach.sum())
                    # a dense support is scored whole: gathering it costs more than the
                    # pixels it leaves out
                    width = hw if 4 * count > hw else count
                    if size == 1 or size * width * dim <= self.refine_chunk:
                        break
                    size = max(1, self.refine_chunk // (width * dim))
                pairs = torch.from_numpy(rest[done:done + size])
                pixels = None if width == hw else torch.nonzero(reach).flatten()
                hm_k, tag_k = (hm[k], tag[k]) if pixels is None else (hm[k, pixels],
                                                                      tag[k, pixels])
                d = torch.cdist(refs[pairs], tag_k, compute_mode='donot_use_mm_for_euclid_dist')
                arg = (hm_k[None] - torch.round(d)).argmax(dim=1)
                flat[pairs] = arg if pixels is None else pixels[arg]
                done += size
        return flat.numpy()

    def _refine(self, hms: np.ndarray, tags: np.ndarray, people: np.ndarray) -> np.ndarray:
        """Fill missing joints of every person (P, K, 3+L) from the person's mean tag.

        For a missing joint k: the first maximum of ``heatmap_k - round(||tag_k - ref||)``
        is taken when its heatmap value is positive. All (person, joint) pairs are
        solved together (:meth:`_refine_argmax`), in memory-bounded chunks.
        """
        found = people[:, :, 2] > 0  # (P, K)
        todo = ~found & found.any(axis=1, keepdims=True)
        if not todo.any():
            return people
        num_k, h, w = hms.shape
        p_idx, k_idx = np.nonzero(found)
        xi = people[p_idx, k_idx, 0].astype(np.int64)
        yi = people[p_idx, k_idx, 1].astype(np.int64)
        picked = tags[k_idx, yi, xi]  # (n, L)
        ref = np.zeros((len(people), tags.shape[-1]), np.float64)
        np.add.at(ref, p_idx, picked)
        ref /= np.maximum(found.sum(axis=1), 1)[:, None]
        hm_t = torch.from_numpy(hms).reshape(num_k, -1)
        tag_t = torch.from_numpy(tags).reshape(num_k, h * w, -1)
        ref_t = torch.from_numpy(ref).to(tag_t.dtype)
        p_idx, k_idx = np.nonzero(todo)
        y, x = np.divmod(self._refine_argmax(hm_t, tag_t, ref_t[p_idx], k_idx), w)
        val = hms[k_idx, y, x]
        ok = val > 0
        fx, fy = self._quarter_offsets(hms, k_idx[ok], x[ok], y[ok])
        people[p_idx[ok], k_idx[ok], 0] = fx
        people[p_idx[ok], k_idx[ok], 1] = fy
        people[p_idx[ok], k_idx[ok], 2] = val[ok]
        return people

    def _top_people(self, scores: np.ndarray) -> np.ndarray:
        """Indices (ascending) of the ``max_instances`` best people, ranked as COCOeval
        ranks the float32 scores it is given: a stable sort, so ties keep the earlier."""
        ranked = np.argsort(-scores.astype(np.float32), kind='stable')
        return np.sort(ranked[:self.max_instances])

    def decode_one(self, hms: np.ndarray, tags: np.ndarray, vals, xs, ys, tag_vals):
        """Grouping, score, cap, adjust and refine for one image at input size.

        Returns keypoints (P, K, 3) (x, y, score) in input pixels and scores (P,).
        """
        people = self._group(vals, xs, ys, tag_vals)
        num_k = self.num_keypoints
        if not len(people):
            return np.zeros((0, num_k, 3), np.float32), np.zeros((0, ), np.float32)
        scores = people[:, :, 2].mean(axis=1)  # adjust moves x, y only: the official score
        if self.max_instances is not None and len(people) > self.max_instances:
            keep = self._top_people(scores)
            people, scores = people[keep], scores[keep]
        if self.adjust:
            p_idx, k_idx = np.nonzero(people[:, :, 2] > 0)
            x = people[p_idx, k_idx, 0].astype(np.int64)
            y = people[p_idx, k_idx, 1].astype(np.int64)
            fx, fy = self._quarter_offsets(hms, k_idx, x, y)
            people[p_idx, k_idx, 0] = fx
            people[p_idx, k_idx, 1] = fy
        if self.refine:
            people = self._refine(hms, tags, people)
        return people[:, :, :3].astype(np.float32), scores.astype(np.float32)

    def count_people(self, heatmaps: torch.Tensor, tags: torch.Tensor) -> List[int]:
        """People the grouping finds in each image of (B, K, H, W) heatmaps and
        (B, K, H, W[, L]) tags, before the ``max_instances`` cap."""
        if tags.dim() == 4:
            tags = tags[..., None]
        vals, xs, ys, tag_vals = self._topk(heatmaps.detach().float().cpu(),
                                            tags.detach().float().cpu())
        return [len(self._group(*found)) for found in zip(vals, xs, ys, tag_vals)]

    def decode(self,
               heatmaps: torch.Tensor,
               tags: torch.Tensor,
               sizes: Optional[Sequence[Tuple[int, int]]] = None):
        """Batched decode.

        Args:
            heatmaps: (B, K, H, W) aggregated heatmaps at input size.
            tags: (B, K, H, W, L) tag maps at input size.
            sizes: optional per-image valid (W, H) (the rest is batch padding).

        Returns:
            list of (keypoints (P, K, 3), scores (P,)) in input pixels.
        """
        if tags.dim() == 4:
            tags = tags[..., None]
        heatmaps, tags = heatmaps.detach().float().cpu(), tags.detach().float().cpu()
        results = []
        if sizes is not None and any(
                tuple(s) != (heatmaps.shape[3], heatmaps.shape[2]) for s in sizes):
            for i, (w, h) in enumerate(sizes):
                results += self.decode(heatmaps[i:i + 1, :, :h, :w], tags[i:i + 1, :, :h, :w])
            return results
        vals, xs, ys, tag_vals = self._topk(heatmaps, tags)
        hms_np, tags_np = heatmaps.numpy(), tags.numpy()
        for i in range(heatmaps.shape[0]):
            results.append(
                self.decode_one(hms_np[i], tags_np[i], vals[i], xs[i], ys[i], tag_vals[i]))
        return results
