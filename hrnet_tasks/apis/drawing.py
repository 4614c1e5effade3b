"""The drawing pieces every task's picture shares, so all demos look alike and can be trusted.

* ``DrawStyle``: the options of every task's ``draw`` function (``tools/demo.py`` flags):
  ``score_thr`` (people and boxes below it are not drawn) and ``kpt_thr`` (joints), both
  0.3 as in mmpose's visualiser; ``joint_scores`` (per-joint score labels, off by
  default); ``alpha`` (mask opacity); ``topk`` (classes listed).
* ``upscale``: a canvas large enough for readable text, and the factor to map coordinates.
* ``LabelPlacer`` / ``put_label``: text labels that never overlap each other or the marks
  reserved on the canvas (joints); a label with no free place nearby is left out.
* ``draw_people``: skeletons of the people above the thresholds, each in its colour.
* ``draw_boxes``: boxes above the threshold with a ``name score`` label each.
* ``add_legend``: a white panel on the right of the picture listing what it shows (the
  people and their scores, the classes present, the top-k classes), so nothing drawn
  is covered by text.

Colours are BGR (OpenCV's order) everywhere; coordinates are in original image pixels
and multiplied by the ``scale`` that ``upscale`` returned.
"""
import colorsys
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
Colour = Tuple[int, int, int]
Rect = Tuple[int, int, int, int]  # x0, y0, x1, y1


@dataclass
class DrawStyle:
    score_thr: float = 0.3  # people and boxes below are not drawn (mmpose: bbox_thr 0.3)
    kpt_thr: float = 0.3  # joints below are not drawn (mmpose: kpt_thr 0.3)
    joint_scores: bool = False  # write each drawn joint's score next to it
    alpha: float = 0.5  # opacity of segmentation masks
    topk: int = 5  # classes listed for classification


def upscale(image: np.ndarray, long_side: int = 640) -> Tuple[np.ndarray, float]:
    """A copy of ``image`` enlarged (never shrunk) so its long side is ``long_side``, and
    the factor applied."""
    scale = max(1.0, long_side / max(image.shape[:2]))
    if scale == 1.0:
        return image.copy(), scale
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR), scale


def instance_colours(n: int) -> List[Colour]:
    """``n`` bright colours far apart in hue (golden-ratio steps), the same for every call."""
    colours = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.85, 1.0)
        colours.append((int(b * 255), int(g * 255), int(r * 255)))
    return colours


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class LabelPlacer:
    """Places text labels near their anchors so that no two overlap, nor a reserved mark."""

    # where to try a label, relative to its anchor, in label widths / heights (the baseline):
    # right-above, right-below, left-above, left-below, centred above / below, then farther
    _OFFSETS = [(0.15, -0.3), (0.15, 1.3), (-1.15, -0.3), (-1.15, 1.3), (-0.5, -0.8),
                (-0.5, 1.8), (0.6, -1.3), (0.6, 2.3), (-1.6, -1.3), (-1.6, 2.3), (-0.5, -1.8),
                (-0.5, 2.8)]

    def __init__(self, shape: Sequence[int]):
        self.height, self.width = shape[:2]
        self.taken: List[Rect] = []

    def reserve(self, rect: Rect):
        """Keep labels off ``rect`` (e.g. a joint's dot)."""
        self.taken.append(tuple(int(v) for v in rect))

    def place(self, text: str, anchor: Tuple[float, float], font_scale: float = 0.4,
              thickness: int = 1) -> Optional[Tuple[int, int]]:
        """The baseline origin of ``text`` near ``anchor`` where it overlaps nothing placed
        or reserved (and stays on the canvas), or None when there is no such place."""
        (w, h), base = cv2.getTextSize(text, FONT, font_scale, thickness)
        ax, ay = anchor
        for dx, dy in self._OFFSETS:
            x, y = int(ax + dx * w), int(ay + dy * h)
            rect = (x - 1, y - h - 1, x + w + 1, y + base + 1)
            if rect[0] < 0 or rect[1] < 0 or rect[2] > self.width or rect[3] > self.height:
                continue
            if any(_overlaps(rect, t) for t in self.taken):
                continue
            self.taken.append(rect)
            return x, y
        return None


def put_label(canvas: np.ndarray, placer: LabelPlacer, text: str, anchor: Tuple[float, float],
              colour: Colour = (255, 255, 255), font_scale: float = 0.4) -> bool:
    """Write ``text`` on a dark backing at a free place near ``anchor``; False when it was
    left out for lack of room."""
    origin = placer.place(text, anchor, font_scale)
    if origin is None:
        return False
    (w, h), base = cv2.getTextSize(text, FONT, font_scale, 1)
    x, y = origin
    cv2.rectangle(canvas, (x - 1, y - h - 1), (x + w, y + base), (0, 0, 0), -1)
    cv2.putText(canvas, text, (x, y), FONT, font_scale, colour, 1, cv2.LINE_AA)
    return True


def visible_people(keypoints: np.ndarray, scores: np.ndarray,
                   style: DrawStyle = DrawStyle()) -> List[int]:
    """Indices of the people ``draw_people`` draws: score at least ``style.score_thr`` and at
    least one joint at or above ``style.kpt_thr``."""
    return [p for p in range(len(scores)) if scores[p] >= style.score_thr
            and (keypoints[p, :, 2] >= style.kpt_thr).any()]


def draw_people(canvas: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                skeleton_links: Sequence[Tuple[int, int]], scale: float,
                style: DrawStyle = DrawStyle(),
                placer: Optional[LabelPlacer] = None) -> List[Tuple[int, Colour]]:
    """Skeletons of the people ``visible_people`` selects: their joints at or above
    ``style.kpt_thr``, and the links between two such joints; each person in its own colour with
    its score above it, and (``style.joint_scores``) each joint's score beside it. Returns
    (person index, colour) of each person drawn, for the legend.

    keypoints: (P, K, 3) x, y (image pixels), joint score; scores: (P,).
    """
    placer = placer or LabelPlacer(canvas.shape)
    people = visible_people(keypoints, scores, style)
    colours = instance_colours(len(people))
    radius = max(2, int(round(canvas.shape[1] / 200)))
    marks = []
    for colour, p in zip(colours, people):
        pts = keypoints[p]
        shown = pts[:, 2] >= style.kpt_thr
        xy = [(int(round(x * scale)), int(round(y * scale))) for x, y in pts[:, :2]]
        for a, b in skeleton_links:
            if shown[a] and shown[b]:
                cv2.line(canvas, xy[a], xy[b], colour, 2, cv2.LINE_AA)
        for k in np.flatnonzero(shown):
            cv2.circle(canvas, xy[k], radius, colour, -1, cv2.LINE_AA)
            cv2.circle(canvas, xy[k], radius, (0, 0, 0), 1, cv2.LINE_AA)
            placer.reserve((xy[k][0] - radius, xy[k][1] - radius, xy[k][0] + radius,
                            xy[k][1] + radius))
        marks.append((colour, p, shown, xy))
    # labels after every dot is reserved, so no label covers a joint
    for colour, p, shown, xy in marks:
        top = min(np.flatnonzero(shown), key=lambda k: xy[k][1])
        put_label(canvas, placer, f'{scores[p]:.2f}', xy[top], colour, font_scale=0.5)
        if style.joint_scores:
            for k in np.flatnonzero(shown):
                put_label(canvas, placer, f'{keypoints[p, k, 2]:.2f}', xy[k], colour)
    return [(p, colour) for colour, p, _, _ in marks]


def draw_boxes(canvas: np.ndarray, boxes: np.ndarray, scores: np.ndarray, names: Sequence[str],
               scale: float, style: DrawStyle = DrawStyle(),
               placer: Optional[LabelPlacer] = None,
               colours: Optional[Sequence[Colour]] = None) -> List[Tuple[int, Colour]]:
    """Boxes (N, 4: x1, y1, x2, y2 image pixels) whose score is at least ``style.score_thr``,
    each with a ``name score`` label; ``colours`` per box (default: one per box). Returns
    (box index, colour) of each box drawn."""
    placer = placer or LabelPlacer(canvas.shape)
    kept = [i for i in range(len(scores)) if scores[i] >= style.score_thr]
    colours = instance_colours(len(boxes)) if colours is None else colours
    for i in kept:
        x1, y1, x2, y2 = (int(round(v * scale)) for v in boxes[i][:4])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colours[i], 2, cv2.LINE_AA)
    for i in kept:
        x1, y1 = (int(round(v * scale)) for v in boxes[i][:2])
        put_label(canvas, placer, f'{names[i]} {scores[i]:.2f}', (x1, y1), colours[i],
                  font_scale=0.5)
    return [(i, colours[i]) for i in kept]


def add_legend(canvas: np.ndarray, entries: Sequence[Tuple[Optional[Colour], str]],
               min_width: int = 160) -> np.ndarray:
    """``canvas`` with a white panel on its right listing ``entries``: a colour swatch (none
    for ``None``) and a text each, e.g. the segmentation classes present, the people drawn
    and their scores, the top-k classes. The panel is as wide as the longest text and the
    result as tall as the list needs; nothing of the picture is covered."""
    line, swatch = 22, 16
    widths = [cv2.getTextSize(text, FONT, 0.45, 1)[0][0] + (swatch + 6 if colour else 0)
              for colour, text in entries]
    width = max([min_width] + [w + 16 for w in widths])
    height = max(canvas.shape[0], line * len(entries) + 12)
    out = np.full((height, canvas.shape[1] + width, 3), 255, np.uint8)
    out[:canvas.shape[0], :canvas.shape[1]] = canvas
    x0 = canvas.shape[1] + 8
    for k, (colour, text) in enumerate(entries):
        y = 8 + k * line
        x = x0
        if colour is not None:
            cv2.rectangle(out, (x, y), (x + swatch, y + swatch), tuple(int(c) for c in colour), -1)
            cv2.rectangle(out, (x, y), (x + swatch, y + swatch), (0, 0, 0), 1)
            x += swatch + 6
        cv2.putText(out, text, (x, y + 13), FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return out
