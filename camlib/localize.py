"""Boxes from class activation maps, IoU, and localization accuracy (chapters 4, 5 and 7).

Zhou et al. (2016) turn a CAM into a box by keeping the pixels at or above 20 % of the
map's maximum and boxing the largest connected component. camlib min-max scales the map
first, as the weakly supervised localization protocol does (see :func:`box_from_map`).
A box counts as a correct localization when its intersection over union with the true
box is at least 0.5.

Box convention: ``(x0, y0, x1, y1)`` in whole pixel indices, x along columns and y along
rows, with ``x1`` and ``y1`` exclusive, so ``image[y0:y1, x0:x1]`` is the boxed region and
the box's area is ``(x1 - x0) * (y1 - y0)``. :data:`NO_BOX`, ``(0, 0, 0, 0)``, is the one
"no box" value: a flat map gives it, and :func:`camlib.data.lane_scenes` gives it to a
scene without a vehicle. :func:`has_box` tells which boxes are real.

The module has:

- :func:`check_boxes` and :func:`check_image_size`: the one check of boxes and the one
  reading of ``image_size`` (an int or ``(H, W)``) that localize, metrics, data and plot use;
- :func:`has_box`, :data:`NO_BOX`;
- :func:`box_from_map`, :func:`boxes_from_maps`: boxes from maps;
- :func:`boxes_from_fractions`: pixel boxes from a box model's output (chapter 5);
- :func:`iou`, :func:`paired_ious`, :func:`box_ious`, :func:`localization_accuracy`,
  :func:`threshold_sweep`, :func:`best_threshold`, :func:`localization_error`: scores
  against true boxes;
- :func:`area_share`: a box's share of the image, the chance level of energy-in-box.
- :func:`instances_found`, :func:`share_of_instances_found`: which of several objects
  per image a map finds (a peak inside each object's box).

A function that scores a map against a true box refuses a true :data:`NO_BOX`: there is
nothing to find in that image. Keep the images with a box first,
``keep = localize.has_box(true_boxes)``.

Example:
    >>> box_from_map(np.array([[0, 0, 0], [0, 5, 4], [0, 0, 0]]))
    (1, 1, 3, 2)
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import ndimage

from camlib.maps import check_maps, upsample

__all__ = [
    "NO_BOX",
    "has_box",
    "check_boxes",
    "check_image_size",
    "box_from_map",
    "boxes_from_maps",
    "iou",
    "paired_ious",
    "boxes_from_fractions",
    "box_ious",
    "localization_accuracy",
    "best_threshold",
    "threshold_sweep",
    "localization_error",
    "area_share",
    "instances_found",
    "share_of_instances_found",
]

#: The one "no box" value: the empty box, for a flat map or an image without an object.
NO_BOX = (0, 0, 0, 0)
_EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=bool)
_FORMAT = "(x0, y0, x1, y1) with x1 and y1 exclusive"


# ---------------------------------------------------------------------------------------
# Checking boxes and sizes
# ---------------------------------------------------------------------------------------


def _is_whole(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return isinstance(value, numbers.Integral) or (
        np.isfinite(value) and float(value).is_integer()
    )


def check_image_size(image_size, name="image_size"):
    """``image_size`` as ``(H, W)`` ints: one int means a square image.

    This is the one place where camlib reads an image size: ``64`` is ``(64, 64)``, and
    ``images.shape[1:3]`` can be passed as it is.

    Args:
        image_size: an int, or two ints ``(H, W)`` (whole floats are accepted).
        name: the argument's name, for the error message.

    Returns:
        ``(H, W)`` as a tuple of Python ints, each at least 1.

    Raises:
        ValueError: not one or two whole numbers of at least 1.

    Example:
        >>> check_image_size(64), check_image_size((48, 64))
        ((64, 64), (48, 64))
    """
    if isinstance(image_size, (str, bytes)):
        pair = ()
    elif np.ndim(image_size) == 0:
        pair = (image_size, image_size)
    else:
        try:
            pair = tuple(np.asarray(image_size).tolist())
        except (TypeError, ValueError):
            pair = ()
    if len(pair) != 2 or not all(_is_whole(v) and v >= 1 for v in pair):
        raise ValueError(f"{name} must be (H, W) or one int, each a whole number of at least 1 "
                         f"pixel; got {image_size!r}.")
    return int(pair[0]), int(pair[1])


def check_boxes(boxes, *, image_size=None, n=None, name="boxes", allow_no_box=True):
    """Boxes as an int64 array (N, 4) of ``(x0, y0, x1, y1)``, after checking them.

    The one box check of camlib: localize, metrics, data and plot all use it.

    - One box ``(4,)`` is read as a batch of one, shape (1, 4).
    - Values must be finite whole pixel indices; floats such as ``3.0`` are converted to
      ints, ``3.5`` is refused.
    - ``0 <= x0 <= x1`` and ``0 <= y0 <= y1``; with ``image_size`` also ``x1 <= W`` and
      ``y1 <= H``. A box of zero width or height is empty, like :data:`NO_BOX`.

    Args:
        boxes: an array-like (N, 4), or one box (4,).
        image_size: the image's ``(H, W)`` or one int, when known (see
            :func:`check_image_size`).
        n: the number of boxes expected (one per map or image), when known.
        name: the argument's name, for error messages.
        allow_no_box: False refuses empty boxes such as :data:`NO_BOX`, with the fix
            ``keep = localize.has_box(boxes)``.

    Returns:
        An int64 array (N, 4).

    Raises:
        ValueError: wrong shape (a transposed (4, N) array is named as such), non-numeric,
            NaN or inf, not whole numbers, ``x1 < x0`` or ``y1 < y0`` (with a hint when the
            boxes look like ``(x, y, w, h)``), negative, outside the image, the wrong
            count, or empty when ``allow_no_box=False``.

    Example:
        >>> check_boxes((2, 3, 6, 8), image_size=16).tolist()
        [[2, 3, 6, 8]]
    """
    if isinstance(boxes, (str, bytes)):
        raise ValueError(f"{name} must be numbers {_FORMAT}, got the string {boxes!r}.")
    try:
        array = np.asarray(boxes)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be one numeric array (N, 4) of {_FORMAT}; "
                         "got a ragged or non-numeric sequence.") from None
    if array.dtype == bool or array.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numbers {_FORMAT}, got dtype {array.dtype}.")
    if array.shape == (4,):
        array = array[None]
    if array.ndim == 2 and array.shape[0] == 4 and array.shape[1] != 4:
        raise ValueError(f"{name} have shape {array.shape}, which looks transposed: one box "
                         f"per row is (N, 4), so pass {name}.T.")
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{name} must be (N, 4), one box {_FORMAT} per row (or one box of "
                         f"shape (4,)), got shape {array.shape}.")
    if n is not None and len(array) != n:
        raise ValueError(f"Got {len(array)} {name} for {n} maps or images; give one per map "
                         "(one box per image).")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or inf; a box needs finite pixel indices.")
    if array.dtype.kind == "f":
        if not np.all(array == np.round(array)):
            raise ValueError(f"{name} must be whole pixel indices, got fractions such as "
                             f"{array[array != np.round(array)][0]!r}; pass np.round({name}).")
    array = array.astype(np.int64)
    x0, y0, x1, y1 = array.T
    if (array == -1).all(axis=1).any():
        raise ValueError(f"{name} contain (-1, -1, -1, -1) rows; camlib's no-box value is "
                         "localize.NO_BOX = (0, 0, 0, 0): replace those rows with it.")
    inverted = (x1 < x0) | (y1 < y0)
    if inverted.any():
        i = int(np.flatnonzero(inverted)[0])
        raise ValueError(
            f"{name}[{i}] = {tuple(array[i].tolist())} has x1 < x0 or y1 < y0 "
            f"({int(inverted.sum())} such boxes). Boxes are (x0, y0, x1, y1), not (x, y, w, h): "
            "convert with np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)."
        )
    if (array < 0).any():
        i = int(np.flatnonzero((array < 0).any(axis=1))[0])
        raise ValueError(f"{name}[{i}] = {tuple(array[i].tolist())} has a negative "
                         "coordinate; pixel indices start at 0.")
    if image_size is not None:
        height, width = check_image_size(image_size)
        outside = (x1 > width) | (y1 > height)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise ValueError(
                f"{name}[{i}] = {tuple(array[i].tolist())} reaches outside the {height}×{width} "
                f"image ({int(outside.sum())} such boxes): a box needs x1 ≤ {width} and "
                f"y1 ≤ {height}. Are the boxes in the map's grid instead of image pixels, or "
                "(x, y, w, h)?"
            )
    if not allow_no_box and not has_box(array).all():
        i = int(np.flatnonzero(~has_box(array))[0])
        raise ValueError(
            f"{name}[{i}] = {tuple(array[i].tolist())} is empty (NO_BOX): that image has no "
            f"object to find ({int((~has_box(array)).sum())} such boxes). Keep the images "
            f"with a box: keep = localize.has_box({name}), then pass maps[keep], "
            f"{name}[keep]."
        )
    return array


def has_box(boxes):
    """For each box: does it enclose at least one pixel? A bool array (N,).

    :data:`NO_BOX`, and any box of zero width or height, has no box. Use it to keep the
    images that have an object before scoring maps against their boxes.

    Example:
        >>> has_box([(2, 2, 5, 5), NO_BOX]).tolist()
        [True, False]
    """
    boxes = check_boxes(boxes)
    return (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])


def _check_threshold(threshold, name="threshold", low_open=False):
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise ValueError(f"{name} must be a number in [0, 1], got {threshold!r}.")
    inside = (0.0 < threshold <= 1.0) if low_open else (0.0 <= threshold <= 1.0)
    if not inside:
        span = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} is a fraction in {span}, got {threshold!r}.")
    return float(threshold)


# ---------------------------------------------------------------------------------------
# Boxes from maps
# ---------------------------------------------------------------------------------------


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
    points nowhere and gives :data:`NO_BOX`.

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

    Raises:
        ValueError: a map that is not 2-D, empty, or has NaN or inf; a threshold that is
            not a number in [0, 1].

    Example:
        >>> m = np.zeros((8, 8)); m[1:3, 1:3] = 1.0; m[4:8, 5:7] = 0.9
        >>> box_from_map(m)          # the larger blob wins, though its peak is lower
        (5, 4, 7, 8)
        >>> box_from_map(m + 5) == box_from_map(m) == box_from_map(3 * m)
        True
    """
    cam = check_maps(cam, "cam").astype(np.float64)
    if cam.ndim != 2:
        raise ValueError(f"cam must be one 2-D (h, w) map, got shape {cam.shape}; "
                         "for a batch use boxes_from_maps.")
    threshold = _check_threshold(threshold)
    return _box(cam, threshold)


def _box(cam, threshold):
    low, high = cam.min(), cam.max()
    if not high > low:
        return NO_BOX
    scaled = (cam - low) / (high - low)
    labels, count = ndimage.label(scaled >= threshold, structure=_EIGHT_NEIGHBOURS)
    index = np.arange(1, count + 1)
    areas = ndimage.sum_labels(np.ones_like(scaled), labels, index)
    mass = ndimage.sum_labels(scaled, labels, index)
    best = index[np.lexsort((-index, mass, areas))[-1]]
    rows, cols = ndimage.find_objects(labels)[best - 1]
    return (cols.start, rows.start, cols.stop, rows.stop)


def _batch(maps, image_size):
    """Maps as float32 (N, h, w), upsampled to ``image_size`` when it is given."""
    maps = check_maps(maps)
    maps = maps[None] if maps.ndim == 2 else maps
    if image_size is not None:
        size = check_image_size(image_size)
        if tuple(maps.shape[1:3]) != size:
            maps = upsample(maps, size)
    return maps


def boxes_from_maps(maps, threshold=0.2, *, image_size=None):
    """One box per map, as an int64 array (N, 4) of ``(x0, y0, x1, y1)``.

    With ``image_size`` (``(H, W)`` or one int) each map is first upsampled to the image
    with :func:`camlib.maps.upsample` (bilinear), so the boxes are in image pixels;
    otherwise they are in the map's own grid. A flat map gives :data:`NO_BOX`.

    Example:
        >>> boxes_from_maps(np.eye(4)[None], image_size=8).tolist()
        [[0, 0, 8, 8]]
    """
    maps = _batch(maps, image_size)
    threshold = _check_threshold(threshold)
    return np.array([_box(m.astype(np.float64), threshold) for m in maps],
                    dtype=np.int64).reshape(-1, 4)


def iou(box_a, box_b):
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes (x1, y1 exclusive).

    An empty box (:data:`NO_BOX`, or zero width or height) overlaps nothing: IoU 0.0.

    Example:
        >>> iou((0, 0, 4, 4), (2, 0, 6, 4))   # 8 shared pixels of 24
        0.3333333333333333
    """
    a = check_boxes(box_a, name="box_a")
    b = check_boxes(box_b, name="box_b")
    if len(a) != 1 or len(b) != 1:
        raise ValueError(f"iou compares two single boxes, got {len(a)} and {len(b)}; "
                         "for many boxes use box_ious.")
    return float(_ious(a, b)[0])


def _ious(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    width = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    height = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    overlap = width * height
    union = area_a + area_b - overlap
    return np.where(union > 0, overlap / np.where(union > 0, union, 1.0), 0.0)


def box_ious(maps, true_boxes, threshold=0.2, *, image_size=None):
    """IoU of each map's box with its true box: a float array (N,).

    The true boxes are in image pixels when ``image_size`` is given (the maps are then
    upsampled), otherwise in the maps' grid. A true :data:`NO_BOX` is refused: keep the
    images with a box first, ``keep = localize.has_box(true_boxes)``.

    Example:
        >>> m = np.zeros((1, 8, 8)); m[0, 2:5, 2:5] = 1
        >>> box_ious(m, [(2, 2, 5, 5)]).tolist()
        [1.0]
    """
    maps = _batch(maps, image_size)
    true_boxes = check_boxes(true_boxes, image_size=maps.shape[1:3], n=len(maps),
                             name="true_boxes", allow_no_box=False)
    predicted = boxes_from_maps(maps, threshold)
    return _ious(predicted, true_boxes)


def _check_iou_threshold(iou_threshold):
    return _check_threshold(iou_threshold, "iou_threshold", low_open=True)


def localization_accuracy(maps, true_boxes, threshold=0.2, iou_threshold=0.5, *,
                          image_size=None):
    """Fraction of images whose box from the map has IoU ≥ ``iou_threshold`` with the true box.

    ``iou_threshold`` is the paper's criterion, 0.5; ``1 - accuracy`` is the localization
    error. Give ``image_size`` when the true boxes are in image pixels and the maps are
    not. True boxes must all be real (see :func:`box_ious`).

    Example:
        >>> m = np.zeros((2, 8, 8)); m[:, 2:5, 2:5] = 1
        >>> localization_accuracy(m, [(2, 2, 5, 5), (0, 0, 8, 8)])
        0.5
    """
    iou_threshold = _check_iou_threshold(iou_threshold)
    ious = box_ious(maps, true_boxes, threshold, image_size=image_size)
    return float(np.mean(ious >= iou_threshold))


def best_threshold(maps, true_boxes, thresholds=None, iou_threshold=0.5, *, image_size=None):
    """The threshold with the best localization accuracy, and that accuracy.

    Choose it on a validation split and report accuracy on a separate test split; ties go
    to the smallest threshold. ``thresholds`` defaults to 0.05, 0.10, ..., 0.95.

    Example:
        >>> m = np.zeros((1, 10, 10)); m[0, 1:9, 1:9] = 0.3; m[0, 2:5, 2:5] = 1  # on a glow
        >>> best_threshold(m, [(2, 2, 5, 5)], [0.2, 0.5])
        (0.5, 1.0)
    """
    if thresholds is None:
        thresholds = np.round(np.arange(0.05, 1.0, 0.05), 2)
    thresholds = _check_thresholds(thresholds)
    scores = threshold_sweep(maps, true_boxes, thresholds, iou_threshold, image_size=image_size)
    best = int(np.argmax(scores))
    return float(thresholds[best]), float(scores[best])


def _check_thresholds(thresholds):
    if isinstance(thresholds, (str, bytes)) or np.ndim(thresholds) != 1 or not len(thresholds):
        raise ValueError(f"thresholds must be a non-empty sequence of numbers in [0, 1], got "
                         f"{thresholds!r}.")
    return np.array([_check_threshold(t, "each threshold") for t in thresholds])


def threshold_sweep(maps, true_boxes, thresholds, iou_threshold=0.5, *, image_size=None):
    """Localization accuracy at each threshold: a float array, one entry per threshold.

    The maps are upsampled once (when ``image_size`` is given), not once per threshold.

    Example:
        >>> m = np.zeros((1, 10, 10)); m[0, 1:9, 1:9] = 0.3; m[0, 2:5, 2:5] = 1  # on a glow
        >>> threshold_sweep(m, [(2, 2, 5, 5)], [0.2, 0.5]).tolist()
        [0.0, 1.0]
    """
    thresholds = _check_thresholds(thresholds)
    iou_threshold = _check_iou_threshold(iou_threshold)
    maps = _batch(maps, image_size)
    true_boxes = check_boxes(true_boxes, image_size=maps.shape[1:3], n=len(maps),
                             name="true_boxes", allow_no_box=False)
    return np.array([
        np.mean(_ious(boxes_from_maps(maps, t), true_boxes) >= iou_threshold)
        for t in thresholds
    ])


def localization_error(maps, true_boxes, predicted_classes, true_classes, threshold=0.2,
                       iou_threshold=0.5, *, image_size=None):
    """Top-1 localization error as Zhou et al. (2016) report it.

    An image counts as localized only if the predicted class is right **and** the box
    has IoU ≥ ``iou_threshold`` (0.5). ``maps`` should be the maps of the predicted
    classes, as the paper draws them.

    Example:
        >>> m = np.zeros((2, 8, 8)); m[:, 2:5, 2:5] = 1
        >>> localization_error(m, [(2, 2, 5, 5)] * 2, [0, 1], [0, 0])
        0.5
    """
    iou_threshold = _check_iou_threshold(iou_threshold)
    classes = []
    for name, values in (("predicted_classes", predicted_classes),
                         ("true_classes", true_classes)):
        array = np.asarray(values).reshape(-1)
        if array.dtype.kind not in "iu" or array.dtype == bool:
            raise ValueError(f"{name} must be integer class indices, got {values!r}.")
        classes.append(array)
    predicted_classes, true_classes = classes
    if predicted_classes.shape != true_classes.shape:
        raise ValueError(
            f"Got {predicted_classes.size} predicted classes but {true_classes.size} true "
            "classes; give one of each per image."
        )
    ious = box_ious(maps, true_boxes, threshold, image_size=image_size)
    if len(ious) != len(true_classes):
        raise ValueError(f"Got {len(ious)} maps but {len(true_classes)} classes; give one "
                         "per map.")
    return float(1.0 - np.mean((predicted_classes == true_classes) & (ious >= iou_threshold)))


def area_share(boxes, image_size):
    """Each box's area as a fraction of the image: chance level for energy-in-box.

    What a map spread evenly over the image would put inside the box. ``image_size`` is
    ``(H, W)`` or one int for a square image (see :func:`check_image_size`); the boxes
    must lie inside it, so a share is never above 1. :data:`NO_BOX` has share 0.

    Example:
        >>> area_share([(0, 0, 32, 16), NO_BOX], 64).tolist()
        [0.125, 0.0]
    """
    height, width = check_image_size(image_size)
    boxes = check_boxes(boxes, image_size=(height, width)).astype(np.float64)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / (height * width)


# ---------------------------------------------------------------------------------------
# Boxes that a model predicts
# ---------------------------------------------------------------------------------------


def paired_ious(boxes_a, boxes_b, *, image_size=None):
    """IoU of each box in ``boxes_a`` with the box at the same place in ``boxes_b`` (N,).

    Example:
        >>> paired_ious([(0, 0, 4, 4), (0, 0, 2, 2)], [(2, 0, 6, 4), (0, 0, 2, 2)]).round(3)
        array([0.333, 1.   ])
    """
    a = check_boxes(boxes_a, image_size=image_size, name="boxes_a")
    b = check_boxes(boxes_b, image_size=image_size, n=len(a), name="boxes_b")
    return _ious(a, b)


def boxes_from_fractions(fractions, image_size):
    """Pixel boxes from boxes given as fractions of the image's side (N, 4), as ints.

    A box model such as :func:`camlib.architectures.box_cnn` outputs
    ``(x0, y0, x1, y1)`` divided by the image's width and height. The corners are rounded
    to whole pixels and clipped to the image; corners given in the wrong order are
    swapped, so every result is a valid box (it may be empty).

    Example:
        >>> boxes_from_fractions([[0.25, 0.0, 0.75, 0.5]], 64).tolist()
        [[16, 0, 48, 32]]
    """
    height, width = check_image_size(image_size)
    try:
        f = np.asarray(fractions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("fractions must be a numeric array (N, 4) of (x0, y0, x1, y1) "
                         "divided by the image's width and height.") from None
    if f.ndim == 1 and f.shape == (4,):
        f = f[None]
    if f.ndim != 2 or f.shape[1] != 4:
        raise ValueError(f"fractions must be (N, 4), (x0, y0, x1, y1) / (W, H, W, H); got "
                         f"shape {f.shape}.")
    if not np.isfinite(f).all():
        raise ValueError("fractions contain NaN or inf; a box model that diverged gives "
                         "them. Retrain it with a lower learning rate.")
    pixels = np.rint(f * [width, height, width, height])
    pixels = np.clip(pixels, 0, [width, height, width, height]).astype(np.int64)
    x0, x1 = np.minimum(pixels[:, 0], pixels[:, 2]), np.maximum(pixels[:, 0], pixels[:, 2])
    y0, y1 = np.minimum(pixels[:, 1], pixels[:, 3]), np.maximum(pixels[:, 1], pixels[:, 3])
    return np.stack([x0, y0, x1, y1], axis=1)


# ---------------------------------------------------------------------------------------
# Several objects per image
# ---------------------------------------------------------------------------------------


def _check_instance_boxes(instance_boxes, maps):
    """``instance_boxes`` as int64 (N, K, 4), one row of K boxes per map, inside the maps."""
    try:
        array = np.asarray(instance_boxes)
    except (TypeError, ValueError):
        array = np.array(None)
    if array.ndim == 2 and len(maps) == 1:
        array = array[None]
    if array.ndim != 3 or array.shape[2] != 4:
        raise ValueError(f"instance_boxes must be (N, K, 4): K boxes {_FORMAT} for each of "
                         f"the N maps, with NO_BOX rows for missing objects; got shape "
                         f"{array.shape}.")
    if len(array) != len(maps):
        raise ValueError(f"Got instance boxes for {len(array)} images but {len(maps)} maps; "
                         "give one row of boxes per map.")
    n, k = array.shape[:2]
    flat = check_boxes(array.reshape(-1, 4), image_size=maps.shape[1:3],
                       name="instance_boxes.reshape(-1, 4)")
    return flat.reshape(n, k, 4)


def instances_found(maps, instance_boxes, *, image_size=None, level=0.5):
    """For each object of each image: does the map reach ``level`` inside its box?

    Each map is min-max scaled to [0, 1], as :func:`box_from_map` scales it. An object
    counts as found when the scaled map is at least ``level`` at one pixel or more inside
    its box. So ``level=1`` finds only the objects whose box holds the map's maximum, and
    ``level=0`` finds every object. A flat map (every value equal) points nowhere and
    finds no object. An empty box (:data:`NO_BOX`, a slot without an object) is never
    found; ``has_box(instance_boxes.reshape(-1, 4)).reshape(N, K)`` marks the real
    objects, and :func:`share_of_instances_found` counts only those.

    Args:
        maps: one map (h, w) or a batch (N, h, w), any scale and any offset.
        instance_boxes: int array (N, K, 4) of ``(x0, y0, x1, y1)``, x1 and y1 exclusive:
            K boxes per image, with :data:`NO_BOX` where an image has fewer objects, as
            :func:`camlib.data.several_shapes` gives them. For one map, (K, 4) also works.
        image_size: the image's ``(H, W)`` or one int, when the boxes are in image pixels
            and the maps are not. The maps are then upsampled with
            :func:`camlib.maps.upsample` (bilinear). Without it, the boxes are in the
            maps' own grid.
        level: the cut on the scaled map, in [0, 1]. A value equal to the cut counts.

    Returns:
        A bool array (N, K).

    Raises:
        ValueError: bad maps (see :func:`camlib.maps.check_maps`), boxes that are not
            (N, K, 4) or do not fit the image (see :func:`check_boxes`), a different number
            of maps and rows of boxes, or a ``level`` that is not a number in [0, 1].

    Example:
        >>> m = np.zeros((1, 8, 8)); m[0, 1, 1] = 1.0; m[0, 6, 6] = 0.8
        >>> boxes = [[(0, 0, 3, 3), (5, 5, 8, 8), NO_BOX]]
        >>> instances_found(m, boxes).tolist()
        [[True, True, False]]
        >>> instances_found(m, boxes, level=0.9).tolist()
        [[True, False, False]]
    """
    maps = _batch(maps, image_size)
    level = _check_threshold(level, "level")
    boxes = _check_instance_boxes(instance_boxes, maps)
    n, k = boxes.shape[:2]
    found = np.zeros((n, k), bool)
    for i, cam in enumerate(maps.astype(np.float64)):
        low, high = cam.min(), cam.max()
        if not high > low:
            continue
        scaled = (cam - low) / (high - low)
        for j, (x0, y0, x1, y1) in enumerate(boxes[i]):
            if x1 > x0 and y1 > y0:
                found[i, j] = scaled[y0:y1, x0:x1].max() >= level
    return found


def share_of_instances_found(maps, instance_boxes, *, image_size=None, level=0.5):
    """The share of real objects that the maps find, over all images: a float in [0, 1].

    It is the mean of :func:`instances_found` over the boxes that are not empty; slots
    without an object (:data:`NO_BOX`) do not count. The arguments are those of
    :func:`instances_found`.

    Raises:
        ValueError: the errors of :func:`instances_found`, or no real box at all.

    Example:
        >>> m = np.zeros((2, 8, 8)); m[:, 1, 1] = 1.0
        >>> boxes = [[(0, 0, 3, 3), (5, 5, 8, 8)], [(0, 0, 3, 3), NO_BOX]]
        >>> share_of_instances_found(m, boxes)   # 2 of 3 objects
        0.6666666666666666
    """
    found = instances_found(maps, instance_boxes, image_size=image_size, level=level)
    boxes = np.asarray(instance_boxes)
    real = has_box(boxes.reshape(-1, 4)).reshape(found.shape)
    if not real.any():
        raise ValueError("instance_boxes hold no real box (all are NO_BOX): there is no "
                         "object to find. Pass the boxes of images that have objects.")
    return float(found[real].mean())
