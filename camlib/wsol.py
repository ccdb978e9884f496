"""The WSOL evaluation protocol of Choe et al. (CVPR 2020): MaxBoxAcc, MaxBoxAccV2, PxAP.

Chapters 5 and 7 use it, beside camlib's own box rule (:mod:`camlib.localize`). The code
follows the authors' ``evaluation.py`` (github.com/clovaai/wsolevaluation) step by step,
with OpenCV's contours as there, so that its numbers mean what the paper's tables mean.
``tests/test_wsol.py`` runs the authors' own unit-test cases. The module has
:data:`CAM_THRESHOLDS`, :data:`IOU_THRESHOLDS`, :func:`iou_matrix`, :func:`boxes_from_map`,
:func:`to_inclusive`, :func:`scale_maps`, :func:`best_ious`, :func:`max_box_acc`,
:func:`max_box_acc_v2`, :func:`pxap`, and the bootstrap intervals over images of the last
three, :func:`box_accuracy_interval` and :func:`pxap_interval`.

Where the protocol differs from :func:`camlib.localize.box_from_map`:

- **Boxes are inclusive.** ``(x0, y0, x1, y1)`` covers the pixels x0 … x1, and the IoU
  counts ``x1 - x0 + 1`` pixels per side, so ``(0, 0, 0, 0)`` is one pixel. camlib's
  boxes end one past the last pixel; :func:`to_inclusive` converts them.
- **The map.** It is resized to the image bicubically (``cv2.INTER_CUBIC``) and min-max
  scaled, with no ReLU; camlib upsamples bilinearly and applies a ReLU first.
- **The threshold.** The map (scaled to [0, 1]) is first cut to 8 bits (``× 255``,
  truncated). A pixel is kept when it is strictly above ``int(threshold × max)``;
  camlib keeps the pixels at or above the threshold.
- **The region.** The box is the bounding rectangle of the *contour* with the largest
  polygon area (``cv2.contourArea``), not of the connected component with the most
  pixels. A contour runs through the centres of the boundary pixels, so a one-pixel-wide
  line has area 0 and loses to a small blob. The rectangle's right and bottom edges lie
  one pixel past the region (``x + w``), clipped to the image: the boxes come out one
  pixel larger than the region, except at the border.
- **Nothing kept.** A map with no pixel above the threshold gives the box (0, 0, 0, 0),
  one pixel, not camlib's "no box".
- **The threshold is chosen on the images measured.** MaxBoxAcc is the best accuracy
  over :data:`CAM_THRESHOLDS`, by design: it scores the map, not a choice of threshold.
  Localization accuracy at a threshold chosen on validation images
  (:func:`camlib.localize.best_threshold`) is the number a deployed model would reach,
  and it is never above MaxBoxAcc on the same images.
- **MaxBoxAccV2** boxes every contour and keeps the best IoU (``multi_contour_eval``),
  and averages MaxBoxAcc over the IoU thresholds 30, 50 and 70 %.

All accuracies are fractions in [0, 1]; the paper prints percentages.

Example:
    >>> iou_matrix([[1, 2, 5, 6]], [[3, 1, 4, 5]]).round(4)   # the authors' test: 8/27
    array([[0.2963]])
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "CAM_THRESHOLDS",
    "IOU_THRESHOLDS",
    "iou_matrix",
    "boxes_from_map",
    "to_inclusive",
    "scale_maps",
    "best_ious",
    "max_box_acc",
    "max_box_acc_v2",
    "box_accuracy_interval",
    "pxap",
    "pxap_interval",
]

#: The map thresholds the protocol sweeps: 0, 0.01, …, 0.99 (``cam_curve_interval=0.01``).
CAM_THRESHOLDS = np.round(np.arange(0, 1, 0.01), 2)

#: The IoU thresholds of MaxBoxAccV2, in percent.
IOU_THRESHOLDS = (30, 50, 70)


def _cv2():
    try:
        import cv2
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ValueError(
            "camlib.wsol needs OpenCV for the authors' contours: pip install "
            "opencv-python-headless (Colab already has it)."
        ) from err
    return cv2


def _check_boxes(boxes, name):
    """(N, 4) inclusive boxes as int64, or a ValueError that names the fix."""
    boxes = np.asarray(boxes)
    if boxes.ndim == 1 and boxes.shape == (4,):
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4 or len(boxes) == 0:
        raise ValueError(f"{name} must be boxes of shape (N, 4), N ≥ 1, got shape {boxes.shape}")
    if not np.issubdtype(boxes.dtype, np.number) or not np.isfinite(boxes).all():
        raise ValueError(f"{name} must be finite numbers")
    if (boxes != np.round(boxes)).any():
        raise ValueError(f"{name} must be whole pixel indices")
    boxes = boxes.astype(np.int64)
    if (boxes < 0).any():
        raise ValueError(f"{name} must be non-negative pixel indices")
    if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any():
        raise ValueError(f"{name} must be (x0, y0, x1, y1) with x0 ≤ x1 and y0 ≤ y1, the "
                         "wsolevaluation convention (inclusive ends)")
    return boxes


def iou_matrix(boxes_a, boxes_b):
    """IoU of every box of ``boxes_a`` with every box of ``boxes_b``, inclusive ends.

    The authors' ``calculate_multiple_iou``: areas count ``x1 - x0 + 1`` by
    ``y1 - y0 + 1`` pixels.

    Args:
        boxes_a: (A, 4) inclusive boxes (x0, y0, x1, y1).
        boxes_b: (B, 4) inclusive boxes.

    Returns:
        float64 (A, B).

    Raises:
        ValueError: a box with x1 < x0 or y1 < y0, a negative index, or a wrong shape.

    Example:
        >>> iou_matrix(np.zeros((1, 4)), np.zeros((2, 4)))   # one pixel each
        array([[1., 1.]])
    """
    a = _check_boxes(boxes_a, "boxes_a")[:, None, :]
    b = _check_boxes(boxes_b, "boxes_b")[None, :, :]
    width = np.maximum(0, np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1)
    height = np.maximum(0, np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1)
    inter = width * height
    area_a = (a[..., 2] - a[..., 0] + 1) * (a[..., 3] - a[..., 1] + 1)
    area_b = (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)
    return (inter / (area_a + area_b - inter)).astype(np.float64)


def _check_thresholds(thresholds):
    values = np.asarray(thresholds, dtype=float) if not isinstance(thresholds, str) else None
    if values is None or values.ndim != 1 or len(values) == 0 or not np.isfinite(values).all():
        raise ValueError(f"thresholds must be a non-empty list of numbers in [0, 1), got "
                         f"{thresholds!r}; the protocol's are CAM_THRESHOLDS")
    if (values < 0).any() or (values >= 1).any():
        raise ValueError(f"thresholds must lie in [0, 1), got {values.min()} to {values.max()}")
    return values


def _check_score_map(score_map):
    score_map = np.asarray(score_map)
    if score_map.ndim != 2 or 0 in score_map.shape:
        raise ValueError(f"score_map must be one (H, W) map, got shape {score_map.shape}")
    if not np.issubdtype(score_map.dtype, np.number):
        raise ValueError(f"score_map must be numbers, got dtype {score_map.dtype}")
    score_map = score_map.astype(np.float64)
    if not np.isfinite(score_map).all():
        raise ValueError("score_map has NaN or inf values; check the method that made it")
    if score_map.min() < 0 or score_map.max() > 1:
        raise ValueError(f"score_map must lie in [0, 1] (got {score_map.min():.3g} to "
                         f"{score_map.max():.3g}); scale it with camlib.maps.normalize")
    return score_map


def boxes_from_map(score_map, thresholds=CAM_THRESHOLDS, *, multi_contour=False):
    """The protocol's boxes at each threshold: the authors' ``compute_bboxes_from_scoremaps``.

    Args:
        score_map: one (H, W) map in [0, 1] (for example min-max scaled and upsampled to
            the image).
        thresholds: map thresholds in [0, 1).
        multi_contour: box every contour (MaxBoxAccV2) instead of the one with the
            largest area.

    Returns:
        A list with one int64 (k, 4) array of inclusive boxes per threshold.

    Raises:
        ValueError: a map that is not one 2-D array in [0, 1], with NaN or inf, or bad
            thresholds.

    Example:
        >>> boxes_from_map(np.zeros((3, 3)), [0.0, 0.5])   # nothing kept: one pixel box
        [array([[0, 0, 0, 0]]), array([[0, 0, 0, 0]])]
    """
    cv2 = _cv2()
    score_map = _check_score_map(score_map)
    thresholds = _check_thresholds(thresholds)
    if not isinstance(multi_contour, (bool, np.bool_)):
        raise ValueError(f"multi_contour must be True or False, got {multi_contour!r}")
    height, width = score_map.shape
    image = (score_map * 255).astype(np.uint8)[..., None]
    top = int(image.max())
    found = []
    for threshold in thresholds:
        _, kept = cv2.threshold(image, int(threshold * top), 255, cv2.THRESH_BINARY)
        contours = cv2.findContours(kept, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[-2]
        if len(contours) == 0:
            found.append(np.zeros((1, 4), dtype=np.int64))
            continue
        if not multi_contour:
            contours = [max(contours, key=cv2.contourArea)]
        boxes = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            boxes.append([x, y, min(x + w, width - 1), min(y + h, height - 1)])
        found.append(np.asarray(boxes, dtype=np.int64))
    return found


def to_inclusive(boxes):
    """Boxes in camlib's convention (ends one past the last pixel) made inclusive.

    Args:
        boxes: (N, 4) camlib boxes with a real box in every row (see
            :func:`camlib.localize.has_box`).

    Raises:
        ValueError: a "no box" row, or boxes that camlib's check refuses.

    Example:
        >>> to_inclusive([[10, 20, 30, 40]])
        array([[10, 20, 29, 39]])
    """
    from camlib import localize

    boxes = localize.check_boxes(boxes)
    if not localize.has_box(boxes).all():
        raise ValueError("boxes include 'no box' rows; keep the images with a box first, "
                         "keep = localize.has_box(boxes)")
    boxes = np.asarray(boxes).astype(np.int64)
    return boxes - np.array([0, 0, 1, 1])


def scale_maps(maps, *, image_size, name="maps"):
    """The authors' inference: each map resized bicubically to the image, then min-max scaled.

    ``cv2.resize`` with ``INTER_CUBIC`` to ``image_size``, then ``(m - min) / (max - min)``
    with no ReLU. A flat map becomes zeros; it is tested before the resize, because the
    bicubic kernel's rounding can make a flat map slightly uneven, which min-max scaling
    would blow up into a false contrast. :func:`max_box_acc` does this itself; give
    :func:`pxap` maps scaled this way.

    Args:
        maps: (N, h, w) or one (h, w) map, any method.
        image_size: (H, W) of the images, keyword-only.
        name: the argument's name in error messages.

    Returns:
        float64 (N, H, W) in [0, 1].

    Example:
        >>> scale_maps(np.array([[[0.0, 1.0], [2.0, 3.0]]]), image_size=4).shape
        (1, 4, 4)
    """
    from camlib.localize import check_image_size
    from camlib.maps import check_maps

    cv2 = _cv2()
    maps = check_maps(maps, name)
    maps = maps if maps.ndim == 3 else maps[None]
    height, width = check_image_size(image_size)
    scaled = np.zeros((len(maps), height, width))
    for i, one in enumerate(maps):
        if one.max() == one.min():
            continue  # flat: zeros (bicubic rounding would fake a contrast)
        resized = cv2.resize(np.ascontiguousarray(one, dtype=np.float32), (width, height),
                             interpolation=cv2.INTER_CUBIC).astype(np.float64)
        low, high = resized.min(), resized.max()
        if high > low:
            scaled[i] = (resized - low) / (high - low)
    return scaled


def _check_percentages(values, name):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a list of IoU thresholds in percent, e.g. (30, 50, 70)")
    values = tuple(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, numbers.Real)
                         or not 0 < v <= 100 for v in values):
        raise ValueError(f"{name} must be IoU thresholds in percent, in (0, 100], got {values}")
    return values


def best_ious(maps, boxes, *, image_size, thresholds=CAM_THRESHOLDS, multi_contour=False):
    """Each image's best IoU at each map threshold: the table behind MaxBoxAcc (N, T).

    Row ``i``, column ``t`` is the largest IoU between the true box of image ``i`` and a
    box that :func:`boxes_from_map` draws from its scaled map at ``thresholds[t]``.
    :func:`max_box_acc` and :func:`box_accuracy_interval` read their numbers from it.

    Example:
        >>> m = np.zeros((1, 8, 8)); m[0, 2:5, 2:5] = 1
        >>> best_ious(m, [(2, 2, 5, 5)], image_size=(8, 8), thresholds=[0.5]).round(2)
        array([[0.56]])

    (The protocol's box ends one pixel past the 3×3 region: 9 / 16.)
    """
    scaled = scale_maps(maps, image_size=image_size)
    truth = to_inclusive(boxes)
    if len(truth) != len(scaled):
        raise ValueError(f"got {len(scaled)} maps but {len(truth)} boxes")
    thresholds = _check_thresholds(thresholds)
    table = np.zeros((len(scaled), len(thresholds)))
    for i, score_map in enumerate(scaled):
        per_threshold = boxes_from_map(score_map, thresholds, multi_contour=multi_contour)
        # All thresholds' boxes in one array, then the best IoU of each threshold's rows:
        # the same numbers as iou_matrix(found, truth[i:i+1]).max(), without a call per
        # threshold (the boxes come from boxes_from_map, so they need no checking).
        starts = np.cumsum([0] + [len(found) for found in per_threshold[:-1]])
        table[i] = np.maximum.reduceat(_ious_with(np.concatenate(per_threshold), truth[i]),
                                       starts)
    return table


def _ious_with(boxes, box):
    """IoU of inclusive boxes (K, 4) with one inclusive box, as :func:`iou_matrix`."""
    width = np.maximum(0, np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]) + 1)
    height = np.maximum(0, np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]) + 1)
    inter = width * height
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    own = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
    return (inter / (area + own - inter)).astype(np.float64)


def box_accuracy_interval(table, *, iou_thresholds=(50,), confidence=0.95, resamples=1000,
                          seed=0):
    """MaxBoxAcc (one δ) or MaxBoxAccV2 (several) with a bootstrap interval over images.

    ``table`` is :func:`best_ious`'s (N, T) array. Each resample draws N images with
    replacement and chooses the best threshold again, as the protocol does on the images it
    scores; the interval is the percentile interval of those resampled values.

    Args:
        table: (N, T) best IoUs per image and threshold, from :func:`best_ious`.
        iou_thresholds: IoU thresholds δ in percent; the value is the mean over them of the
            best share of hits, so ``IOU_THRESHOLDS`` with a multi-contour table gives
            MaxBoxAccV2.
        confidence: the interval's level, in (0, 1).
        resamples: the number of bootstrap resamples, at least 100.
        seed: the resampling seed.

    Returns:
        A :class:`camlib.stats.Estimate` in [0, 1].

    Example:
        >>> table = np.array([[0.9], [0.2], [0.8], [0.6]])
        >>> box_accuracy_interval(table).value
        0.75
    """
    from camlib import stats

    table = np.asarray(table, dtype=np.float64)
    if table.ndim != 2 or min(table.shape) == 0:
        raise ValueError(f"table must be (N, T) best IoUs from best_ious, got {table.shape}")
    if not np.isfinite(table).all():
        raise ValueError("table contains NaN or inf; compute it with best_ious")
    deltas = _check_percentages(iou_thresholds, "iou_thresholds")
    if not (isinstance(resamples, numbers.Integral) and resamples >= 100):
        raise ValueError(f"resamples must be an integer of at least 100, got {resamples!r}")
    if not (isinstance(confidence, numbers.Real) and 0 < confidence < 1):
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence!r}")
    hits = np.stack([table >= delta / 100 for delta in deltas])  # (D, N, T)

    def value(rows):
        return float(np.mean([h[rows].mean(axis=0).max() for h in hits]))

    rng = np.random.default_rng(seed)
    n = table.shape[0]
    values = [value(rng.integers(0, n, n)) for _ in range(int(resamples))]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return stats.Estimate(value(np.arange(n)), float(low), float(high), n, float(confidence))


def max_box_acc(maps, boxes, *, image_size, thresholds=CAM_THRESHOLDS,
                iou_thresholds=(50,), multi_contour=False):
    """MaxBoxAcc: the share of images whose box reaches the IoU, at the best map threshold.

    Each map is resized to ``image_size`` (bicubic) and min-max scaled, as the authors'
    inference does; :func:`boxes_from_map` gives its boxes at every threshold; an image counts at a
    threshold when one of its boxes has IoU ≥ δ with the true box. The result is, for
    each δ, the largest share over the thresholds (the authors' ``BoxEvaluator``).

    Args:
        maps: (N, h, w) maps of any method.
        boxes: (N, 4) true boxes, camlib's convention (converted by :func:`to_inclusive`).
        image_size: (H, W) of the images, keyword-only.
        thresholds: map thresholds in [0, 1).
        iou_thresholds: IoU thresholds δ in percent; ``(50,)`` is the paper's MaxBoxAcc.
        multi_contour: box every contour, as MaxBoxAccV2 does.

    Returns:
        ``{δ: (accuracy, threshold)}``: the best share of hits in [0, 1] and the first
        map threshold that reaches it.

    Raises:
        ValueError: maps and boxes that do not match, "no box" rows, or bad settings.
    """
    thresholds = _check_thresholds(thresholds)
    deltas = _check_percentages(iou_thresholds, "iou_thresholds")
    best_iou = best_ious(maps, boxes, image_size=image_size, thresholds=thresholds,
                         multi_contour=multi_contour)
    result = {}
    for delta in deltas:
        accuracy = (best_iou >= delta / 100).mean(axis=0)
        best = int(np.argmax(accuracy))
        result[delta] = (float(accuracy[best]), float(thresholds[best]))
    return result


def max_box_acc_v2(maps, boxes, *, image_size, thresholds=CAM_THRESHOLDS):
    """MaxBoxAccV2: MaxBoxAcc with every contour boxed, averaged over δ = 30, 50, 70 %.

    Args:
        maps: (N, h, w) maps of any method.
        boxes: (N, 4) true boxes, camlib's convention.
        image_size: (H, W) of the images, keyword-only.
        thresholds: map thresholds in [0, 1).

    Returns:
        The mean over :data:`IOU_THRESHOLDS` of the best share of hits, in [0, 1].
    """
    found = max_box_acc(maps, boxes, image_size=image_size, thresholds=thresholds,
                        iou_thresholds=IOU_THRESHOLDS, multi_contour=True)
    return float(np.mean([accuracy for accuracy, _ in found.values()]))


def pxap(maps, masks, *, ignore=None, thresholds=CAM_THRESHOLDS):
    """PxAP: the area under the pixel precision-recall curve of the maps against the masks.

    The authors' ``MaskEvaluator``: every pixel's score goes into a histogram with the
    bins [0, 0.01), …, [0.99, 1), [1, 2), [2, 3), one for the object's pixels and one for
    the rest; precision and recall at each bin edge give the curve, and PxAP is
    Σ precision · Δrecall. A constant map scores the share of object pixels; a map that
    is 1 on the object and 0 elsewhere scores 1.

    Args:
        maps: (N, H, W) maps in [0, 1] at the masks' resolution (scale them with
            :func:`scale_maps` first, as the authors do).
        masks: (N, H, W) booleans, True on the object.
        ignore: optional (N, H, W) booleans: pixels counted neither way (the authors'
            "ignore" regions, value 255 in their masks).
        thresholds: the histogram's left bin edges in [0, 1).

    Returns:
        PxAP in [0, 1] (the paper prints percentages).

    Raises:
        ValueError: shapes that do not match, maps outside [0, 1] or with NaN, masks
            that are not boolean, or no object pixel at all.

    Example:
        >>> mask = np.zeros((1, 4, 4), bool); mask[0, :2] = True
        >>> pxap(np.full((1, 4, 4), 0.5), mask)       # constant map: the object's share
        0.5
    """
    maps = np.asarray(maps)
    masks = np.asarray(masks)
    if maps.ndim != 3 or maps.shape != masks.shape:
        raise ValueError(f"maps {maps.shape} and masks {masks.shape} must both be (N, H, W) "
                         "of the same shape; upsample the maps to the masks first")
    if masks.dtype != bool:
        raise ValueError(f"masks must be booleans (True on the object), got {masks.dtype}")
    if ignore is None:
        ignore = np.zeros_like(masks)
    ignore = np.asarray(ignore)
    if ignore.shape != masks.shape or ignore.dtype != bool:
        raise ValueError("ignore must be booleans of the masks' shape, or None")
    if (ignore & masks).any():
        raise ValueError("ignore and masks overlap; an ignored pixel may not be on the object")
    for score_map in maps:
        _check_score_map(score_map)
    edges = np.append(_check_thresholds(thresholds), [1.0, 2.0, 3.0])
    counted = ~ignore
    on_object, _ = np.histogram(maps[masks & counted], bins=edges)
    off_object, _ = np.histogram(maps[~masks & counted], bins=edges)
    return _average_precision(on_object, off_object)


def _pixel_histograms(maps, masks, thresholds):
    """Per image, the histograms of object and background scores (N, bins) each."""
    edges = np.append(_check_thresholds(thresholds), [1.0, 2.0, 3.0])
    on = np.stack([np.histogram(m[k], bins=edges)[0] for m, k in zip(maps, masks)])
    off = np.stack([np.histogram(m[~k], bins=edges)[0] for m, k in zip(maps, masks)])
    return on, off


def pxap_interval(maps, masks, *, thresholds=CAM_THRESHOLDS, confidence=0.95,
                  resamples=1000, seed=0):
    """PxAP with a bootstrap interval over images: a :class:`camlib.stats.Estimate`.

    Each resample draws N images with replacement and computes PxAP from their pixels
    pooled, as :func:`pxap` does for all of them. Maps and masks as for :func:`pxap`
    (no ignored pixels).

    Example:
        >>> mask = np.zeros((2, 4, 4), bool); mask[:, :2] = True
        >>> pxap_interval(mask.astype(float), mask).value
        1.0
    """
    from camlib import stats

    value = pxap(maps, masks, thresholds=thresholds)  # checks every input
    if not (isinstance(resamples, numbers.Integral) and resamples >= 100):
        raise ValueError(f"resamples must be an integer of at least 100, got {resamples!r}")
    if not (isinstance(confidence, numbers.Real) and 0 < confidence < 1):
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence!r}")
    on, off = _pixel_histograms(np.asarray(maps), np.asarray(masks), thresholds)
    rng = np.random.default_rng(seed)
    n = len(on)
    values = []
    for _ in range(int(resamples)):
        rows = rng.integers(0, n, n)
        if on[rows].sum() == 0:  # a resample without object pixels has no PxAP
            continue
        values.append(_average_precision(on[rows].sum(axis=0), off[rows].sum(axis=0)))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return stats.Estimate(value, float(low), float(high), n, float(confidence))


def _average_precision(on_object, off_object):
    """Σ precision · Δrecall from the histograms of object and background scores."""
    n_true = on_object.sum()
    if n_true == 0:
        raise ValueError("masks have no object pixel; PxAP needs at least one")
    tp = on_object[::-1].cumsum()
    fp = off_object[::-1].cumsum()
    fn = n_true - tp
    predicted = tp + fp
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = tp / predicted
    recall = tp / (tp + fn)
    keep = predicted[1:] != 0
    return float((precision[1:] * np.diff(recall))[keep].sum())
