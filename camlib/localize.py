"""Boxes from class activation maps, IoU, and localization accuracy.

Zhou et al. (2016) turn a CAM into a box by keeping the pixels at or above 20 % of the
map's maximum and boxing the largest connected component. camlib min-max scales the map
first, as the weakly supervised localization protocol does (see :func:`box_from_map`). A box counts as a correct
localization when its intersection over union with the true box is at least 0.5.

Box convention: ``(x0, y0, x1, y1)`` in pixel indices, x along columns and y along rows,
with ``x1`` and ``y1`` exclusive, so ``image[y0:y1, x0:x1]`` is the boxed region and the
box's area is ``(x1 - x0) * (y1 - y0)``. ``(0, 0, 0, 0)`` is the empty box.

Example:
    >>> box_from_map(np.array([[0, 0, 0], [0, 5, 4], [0, 0, 0]]))
    (1, 1, 3, 2)
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = [
    "EMPTY_BOX",
    "box_from_map",
    "boxes_from_maps",
    "iou",
    "box_ious",
    "localization_accuracy",
    "best_threshold",
    "threshold_sweep",
    "localization_error",
    "area_share",
]

EMPTY_BOX = (0, 0, 0, 0)
_EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=bool)


def box_from_map(cam, threshold=0.2):
    """Bounding box of the largest region where the min-max scaled map is ≥ ``threshold``.

    This is the rule of Zhou et al. (2016), "keep the pixels at or above 20 % of the
    maximum and box the largest connected component", applied the way the weakly
    supervised localization protocol (Choe et al., 2020, ``wsolevaluation``) and the CAM
    authors' demo code apply it: the map is first min-max scaled to [0, 1], so the box
    does not change when a constant is added to the map or when the map is multiplied by
    a positive number. ``box_from_map(m + 5) == box_from_map(m)``. A map whose values are
    all ≥ 0 with a positive floor (Score-CAM, LayerCAM, Grad-CAM++) is therefore judged
    by its contrast, not by its floor; a signed CAM is judged without a ReLU.

    Regions are connected with 8-connectivity (diagonal neighbours touch). If two regions
    have the same area, the one with the larger summed map value wins, then the first in
    row-major order. A flat map (every value equal, including all zero) has no contrast,
    points nowhere and gives the empty box ``(0, 0, 0, 0)``.

    Where this differs from ``wsolevaluation``: it keeps pixels ``>= threshold`` of the
    float map, where ``wsolevaluation`` keeps ``> int(threshold · 255)`` of a uint8 map;
    and it takes the largest component by pixel count, where ``wsolevaluation`` takes the
    contour of largest area (a one-pixel-wide chain has contour area 0).

    Args:
        cam: a 2-D map (h, w), any scale and any offset, signed or not.
        threshold: the cut on the min-max scaled map, in [0, 1]. Pixels equal to the cut
            are kept.

    Returns:
        ``(x0, y0, x1, y1)`` as Python ints in the map's own pixel grid, x1 and y1
        exclusive.

    Example:
        >>> m = np.zeros((8, 8)); m[1:3, 1:3] = 1.0; m[4:8, 5:7] = 0.9
        >>> box_from_map(m)          # the larger blob wins, though its peak is lower
        (5, 4, 7, 8)
        >>> box_from_map(m + 5) == box_from_map(m) == box_from_map(3 * m)
        True
    """
    cam = np.asarray(cam, dtype=np.float64)
    if cam.ndim != 2:
        raise ValueError(f"cam must be a 2-D (h, w) map, got shape {cam.shape}.")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}.")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold is a fraction of the map's range in [0, 1], got {threshold}.")
    if not np.all(np.isfinite(cam)):
        raise ValueError("cam contains NaN or inf; a box needs finite values.")
    if cam.size == 0:
        return EMPTY_BOX
    low, high = cam.min(), cam.max()
    if not high > low:
        return EMPTY_BOX
    scaled = (cam - low) / (high - low)
    labels, count = ndimage.label(scaled >= threshold, structure=_EIGHT_NEIGHBOURS)
    index = np.arange(1, count + 1)
    areas = ndimage.sum_labels(np.ones_like(scaled), labels, index)
    mass = ndimage.sum_labels(scaled, labels, index)
    best = index[np.lexsort((-index, mass, areas))[-1]]
    rows, cols = ndimage.find_objects(labels)[best - 1]
    return (cols.start, rows.start, cols.stop, rows.stop)


def boxes_from_maps(maps, threshold=0.2, *, image_size=None):
    """One box per map, as an int array (N, 4) of ``(x0, y0, x1, y1)``.

    With ``image_size=(H, W)`` each map is first upsampled to the image with
    :func:`camlib.maps.upsample` (bilinear), so the boxes are in image pixels; otherwise
    they are in the map's own grid.

    Example:
        >>> boxes = boxes_from_maps(cam(model, images), image_size=(64, 64))  # doctest: +SKIP
    """
    maps = _as_batch(maps)
    if image_size is not None:
        from camlib.maps import upsample

        maps = upsample(maps, image_size)
    return np.array([box_from_map(m, threshold) for m in maps], dtype=np.int64).reshape(-1, 4)


def iou(box_a, box_b):
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes (x1, y1 exclusive).

    An empty box (zero width or height) overlaps nothing: IoU 0.0.

    Example:
        >>> iou((0, 0, 4, 4), (2, 0, 6, 4))   # 8 shared pixels of 24
        0.3333333333333333
    """
    ax0, ay0, ax1, ay1 = (float(v) for v in box_a)
    bx0, by0, bx1, by1 = (float(v) for v in box_b)
    area_a = max(ax1 - ax0, 0.0) * max(ay1 - ay0, 0.0)
    area_b = max(bx1 - bx0, 0.0) * max(by1 - by0, 0.0)
    overlap = max(min(ax1, bx1) - max(ax0, bx0), 0.0) * max(min(ay1, by1) - max(ay0, by0), 0.0)
    union = area_a + area_b - overlap
    return overlap / union if union > 0 else 0.0


def box_ious(maps, true_boxes, threshold=0.2, *, image_size=None):
    """IoU of each map's box with its true box: a float array (N,).

    Example:
        >>> box_ious(maps, boxes, image_size=(64, 64)).mean()   # doctest: +SKIP
    """
    predicted = boxes_from_maps(maps, threshold, image_size=image_size)
    true_boxes = np.asarray(true_boxes).reshape(-1, 4)
    if len(true_boxes) != len(predicted):
        raise ValueError(
            f"Got {len(predicted)} maps but {len(true_boxes)} true boxes; give one per map."
        )
    return np.array([iou(p, t) for p, t in zip(predicted, true_boxes)])


def localization_accuracy(
    maps, true_boxes, threshold=0.2, iou_threshold=0.5, image_size=None
):
    """Fraction of images whose box from the map has IoU ≥ ``iou_threshold`` with the
    true box (the paper's criterion, 0.5). ``1 - accuracy`` is the localization error.

    Give ``image_size`` when the true boxes are in image pixels and the maps are not.

    Example:
        >>> localization_accuracy(cam(model, x), boxes, image_size=x.shape[1:3])  # doctest: +SKIP
        0.87
    """
    ious = box_ious(maps, true_boxes, threshold, image_size=image_size)
    return float(np.mean(ious >= iou_threshold))


def best_threshold(
    maps, true_boxes, thresholds=None, iou_threshold=0.5, image_size=None
):
    """The threshold with the best localization accuracy, and that accuracy.

    Choose it on a validation split and report accuracy on a separate test split; ties go
    to the smallest threshold. ``thresholds`` defaults to 0.05, 0.10, ..., 0.95.

    Example:
        >>> t, acc = best_threshold(val_maps, val_boxes, image_size=(64, 64))  # doctest: +SKIP
        >>> localization_accuracy(test_maps, test_boxes, t, image_size=(64, 64))  # doctest: +SKIP
    """
    if thresholds is None:
        thresholds = np.round(np.arange(0.05, 1.0, 0.05), 2)
    scores = threshold_sweep(maps, true_boxes, thresholds, iou_threshold, image_size)
    best = int(np.argmax(scores))
    return float(thresholds[best]), float(scores[best])


def threshold_sweep(maps, true_boxes, thresholds, iou_threshold=0.5, image_size=None):
    """Localization accuracy at each threshold: a float array, one entry per threshold.

    The maps are upsampled once (when ``image_size`` is given), not once per threshold.

    Example:
        >>> threshold_sweep(maps, boxes, [0.1, 0.2, 0.5], image_size=(64, 64))  # doctest: +SKIP
        array([0.61, 0.78, 0.42])
    """
    maps = _as_batch(maps)
    if image_size is not None:
        from camlib.maps import upsample

        maps = upsample(maps, image_size)
    return np.array([localization_accuracy(maps, true_boxes, t, iou_threshold) for t in thresholds])


def localization_error(maps, true_boxes, predicted_classes, true_classes, threshold=0.2,
                       iou_threshold=0.5, image_size=None):
    """Top-1 localization error as Zhou et al. (2016) report it: an image counts as
    localized only if the predicted class is right **and** the box has IoU ≥ 0.5.

    ``maps`` should be the maps of the predicted classes, as the paper draws them.

    Example:
        >>> localization_error(maps, boxes, predicted, labels, image_size=(64, 64))  # doctest: +SKIP
        0.21
    """
    predicted_classes = np.asarray(predicted_classes).reshape(-1)
    true_classes = np.asarray(true_classes).reshape(-1)
    if predicted_classes.shape != true_classes.shape:
        raise ValueError(
            f"Got {predicted_classes.size} predicted classes but {true_classes.size} true "
            "classes; give one of each per image."
        )
    ious = box_ious(maps, true_boxes, threshold, image_size=image_size)
    if len(ious) != len(true_classes):
        raise ValueError(f"Got {len(ious)} maps but {len(true_classes)} classes; give one per map.")
    return float(1.0 - np.mean((predicted_classes == true_classes) & (ious >= iou_threshold)))


def _as_batch(maps):
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        return maps[None]
    if maps.ndim != 3:
        raise ValueError(f"maps must be (N, h, w) or one (h, w) map, got shape {maps.shape}.")
    return maps


def area_share(boxes, image_size):
    """Each box's area as a fraction of an image of ``image_size`` = (H, W): what a map spread
    evenly over the image would put inside the box, i.e. chance for energy-in-box.

    Example:
        >>> area_share([(0, 0, 32, 16)], (64, 64)).tolist()
        [0.125]
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    widths = np.clip(boxes[:, 2] - boxes[:, 0], 0, None)
    heights = np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    return widths * heights / float(np.prod(image_size))
