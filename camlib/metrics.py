"""How good is an explanation? Numbers for maps, measured against boxes or against the model.

Two kinds of measure:

- **Does the map find the object?** With a true box per image:
  :func:`localization_accuracy` (box from the map, IoU ≥ 0.5; Zhou et al. 2016),
  :func:`pointing_game` (is the map's maximum inside the box? Zhang et al. 2016) and
  :func:`energy_in_box` (the share of the map's positive mass inside the box; Wang et al.
  2020).
- **Does the map say what the model uses?** Without boxes: :func:`deletion_auc` and
  :func:`insertion_auc` (Petsiuk et al. 2018) remove or reveal pixels in the map's order
  and watch the class probability; :func:`sanity_check` (Adebayo et al. 2018) randomises
  the top of the model and measures how much the maps change.

Conventions: maps are (N, h, w) arrays at any resolution; they are upsampled
bilinearly to the image (:func:`camlib.maps.upsample`) wherever image pixels are needed.
Boxes are ``(x0, y0, x1, y1)`` in image pixels with x1, y1 exclusive, as in
:mod:`camlib.localize`. Every function checks its inputs and says what is wrong.

Example:
    >>> maps = cam.grad_cam(model, images)                           # doctest: +SKIP
    >>> pointing_game(maps, boxes, image_size=images.shape[1:3])     # doctest: +SKIP
    0.94
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, stats

from camlib import localize

__all__ = [
    "localization_accuracy",
    "pointing_hits",
    "pointing_game",
    "energy_in_box",
    "BASELINES",
    "baseline_images",
    "pixel_ranks",
    "deletion_curve",
    "insertion_curve",
    "deletion_auc",
    "insertion_auc",
    "area_under",
    "randomize_top",
    "rank_correlation",
    "sanity_check",
    "evaluate",
]

DEFAULT_STEPS = 16
BASELINES = ("blur", "mean", "zero")


# ---------------------------------------------------------------------------------------
# Checking inputs
# ---------------------------------------------------------------------------------------


def _check_maps(maps):
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3 or 0 in maps.shape:
        raise ValueError(f"maps must be (N, h, w) or one (h, w) map, got shape {maps.shape}.")
    if not np.isfinite(maps).all():
        raise ValueError("maps contain NaN or inf.")
    return maps


def _size(image_size, maps):
    if image_size is None:
        return tuple(maps.shape[1:3])
    size = (int(image_size),) * 2 if np.ndim(image_size) == 0 else tuple(map(int, image_size))
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"image_size must be (H, W) or one int, got {image_size!r}.")
    return size


def _upsampled(maps, size):
    if tuple(maps.shape[1:3]) == tuple(size):
        return maps
    from camlib.maps import upsample

    return upsample(maps, size)


def _check_boxes(boxes, n, size):
    """Boxes as an int array (N, 4), each inside an image of ``size`` = (H, W)."""
    boxes = np.asarray(boxes)
    if boxes.ndim == 1 and boxes.shape == (4,):
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (N, 4) as (x0, y0, x1, y1), got shape {boxes.shape}.")
    if len(boxes) != n:
        raise ValueError(f"Got {n} maps but {len(boxes)} boxes; give one box per map.")
    if boxes.dtype.kind not in "iu" and not np.all(boxes == np.round(boxes)):
        raise ValueError("boxes must hold whole pixel indices.")
    boxes = boxes.astype(np.int64)
    height, width = size
    x0, y0, x1, y1 = boxes.T
    bad = (x0 < 0) | (y0 < 0) | (x1 > width) | (y1 > height) | (x1 <= x0) | (y1 <= y0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Box {i} {tuple(boxes[i].tolist())} is empty or outside the {height}×{width} "
            f"image ({int(bad.sum())} bad boxes); a box needs 0 ≤ x0 < x1 ≤ {width} and "
            f"0 ≤ y0 < y1 ≤ {height}. Images without an object have no box: leave them out."
        )
    return boxes


def _check_images(images, n=None):
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C), got shape {images.shape}.")
    if n is not None and len(images) != n:
        raise ValueError(f"Got {len(images)} images but {n} maps; give one map per image.")
    if not np.isfinite(images).all():
        raise ValueError("images contain NaN or inf.")
    return images


# ---------------------------------------------------------------------------------------
# Against a box
# ---------------------------------------------------------------------------------------


def localization_accuracy(maps, boxes, threshold=0.2, iou_threshold=0.5, image_size=None):
    """Fraction of maps whose box (:func:`camlib.localize.box_from_map`: ``threshold`` ×
    max, largest component) overlaps the true box with IoU ≥ ``iou_threshold``.

    Example:
        >>> m = np.zeros((1, 8, 8)); m[0, 2:5, 2:5] = 1
        >>> localization_accuracy(m, [(2, 2, 5, 5)])
        1.0
    """
    maps = _check_maps(maps)
    size = _size(image_size, maps)
    boxes = _check_boxes(boxes, len(maps), size)
    return localize.localization_accuracy(_upsampled(maps, size), boxes, threshold,
                                          iou_threshold)


def pointing_hits(maps, boxes, image_size=None, tolerance=0.0):
    """For each map: is its maximum inside the true box? A bool array (N,).

    The maximum is taken after upsampling to ``image_size``; ties go to the first pixel in
    row-major order. A flat map (max = min) points nowhere and misses. ``tolerance``
    counts a maximum within that many pixels (Euclidean) of the box as a hit; Zhang et
    al. (2016) used 15 pixels on 224-pixel images.

    Example:
        >>> m = np.zeros((2, 8, 8)); m[0, 3, 3] = 1; m[1, 7, 7] = 1
        >>> pointing_hits(m, [(2, 2, 5, 5), (2, 2, 5, 5)]).tolist()
        [True, False]
    """
    maps = _check_maps(maps)
    size = _size(image_size, maps)
    boxes = _check_boxes(boxes, len(maps), size)
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be a non-negative distance, got {tolerance}.")
    big = _upsampled(maps, size)
    flat = big.reshape(len(big), -1)
    y, x = np.unravel_index(flat.argmax(axis=1), size)
    x0, y0, x1, y1 = boxes.T
    dx = np.maximum(np.maximum(x0 - x, x - (x1 - 1)), 0)
    dy = np.maximum(np.maximum(y0 - y, y - (y1 - 1)), 0)
    return (np.hypot(dx, dy) <= tolerance) & (flat.max(axis=1) > flat.min(axis=1))


def pointing_game(maps, boxes, image_size=None, tolerance=0.0):
    """Pointing-game accuracy: the fraction of :func:`pointing_hits`.

    Example:
        >>> m = np.zeros((2, 8, 8)); m[0, 3, 3] = 1; m[1, 7, 7] = 1
        >>> pointing_game(m, [(2, 2, 5, 5), (2, 2, 5, 5)])
        0.5
    """
    return float(np.mean(pointing_hits(maps, boxes, image_size, tolerance)))


def energy_in_box(maps, boxes, image_size=None):
    """For each map, the share of its positive mass that lies inside the box (N,).

    The map is upsampled to ``image_size``, negative values are set to zero (they are
    evidence against the class), and the sum inside the box is divided by the total. A
    map with no positive value has no energy anywhere and scores 0. A map spread evenly
    over the image scores the box's share of the image area.

    Example:
        >>> m = np.zeros((1, 4, 4)); m[0, :2, :2] = 3; m[0, 3, 3] = 1
        >>> energy_in_box(m, [(0, 0, 2, 2)]).tolist()
        [0.9230769276618958]
    """
    maps = _check_maps(maps)
    size = _size(image_size, maps)
    boxes = _check_boxes(boxes, len(maps), size)
    big = np.maximum(_upsampled(maps, size), 0.0)
    inside = np.array([m[y0:y1, x0:x1].sum() for m, (x0, y0, x1, y1) in zip(big, boxes)])
    total = big.sum(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1.0), 0.0).astype(np.float32)


# ---------------------------------------------------------------------------------------
# Deletion and insertion
# ---------------------------------------------------------------------------------------


def baseline_images(images, baseline="blur", sigma=None):
    """What a pixel becomes when it is deleted (and where insertion starts).

    - ``"blur"`` (default): the image blurred with a Gaussian of ``sigma`` pixels
      (default: 1/8 of the image side). Fine detail, which is what a classifier's evidence
      is made of, disappears while colours and layout stay, so the curve measures removed
      evidence rather than the shock of an unnatural colour. Insertion in RISE starts from
      such a blur.
    - ``"mean"``: each image's mean colour everywhere.
    - ``"zero"``: zeros (black for images in [0, 1]); RISE's deletion baseline.
    - a number, or an array of the images' shape.

    Example:
        >>> baseline_images(np.ones((1, 8, 8, 3)), "mean").mean()
        1.0
    """
    images = _check_images(images)
    if isinstance(baseline, str):
        if baseline == "blur":
            sigma = max(images.shape[1:3]) / 8 if sigma is None else float(sigma)
            return ndimage.gaussian_filter(images, (0, sigma, sigma, 0), mode="reflect")
        if baseline == "mean":
            return np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape).copy()
        if baseline == "zero":
            return np.zeros_like(images)
        raise ValueError(f"baseline={baseline!r} must be one of {BASELINES}, a number or an array.")
    base = np.asarray(baseline, dtype=np.float32)
    if base.ndim == 0:
        return np.full_like(images, float(base))
    if base.shape != images.shape:
        raise ValueError(f"A baseline array must have the images' shape {images.shape}, "
                         f"got {base.shape}.")
    return base


def pixel_ranks(maps, seed=0):
    """Each pixel's place in the order of deletion (N, h, w): 0 for the map's largest
    value. Ties (for example the zeros after a ReLU) are broken in a fixed random order
    drawn from ``seed``, never by position, so that a flat stretch of map does not favour
    the image's top rows.

    Example:
        >>> pixel_ranks(np.array([[[0.5, 2.0], [1.0, 0.0]]])).tolist()
        [[[2, 0], [1, 3]]]
    """
    maps = _check_maps(maps)
    flat = maps.reshape(len(maps), -1)
    rng = np.random.default_rng(seed)
    ranks = np.empty(flat.shape, np.int64)
    for i, values in enumerate(flat):
        order = np.lexsort((rng.random(values.size), -values))
        ranks[i, order] = np.arange(values.size)
    return ranks.reshape(maps.shape)


def _curves(model, images, maps, class_index, steps, baseline, score, batch_size, seed,
            insert):
    from camlib import graph

    images = _check_images(images)
    maps = _check_maps(maps)
    if len(maps) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(maps)} maps; give one per image.")
    if int(steps) < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if score not in ("probability", "logit"):
        raise ValueError(f'score must be "probability" or "logit", got {score!r}.')
    steps, size = int(steps), images.shape[1:3]
    base = baseline_images(images, baseline)
    if class_index is None:
        classes = graph.logits(model, images, batch_size=batch_size).argmax(axis=1)
    else:
        classes = graph.check_classes(model, class_index, len(images))
    ranks = pixel_ranks(_upsampled(maps, size), seed)
    counts = np.round(np.linspace(0, size[0] * size[1], steps + 1)).astype(np.int64)
    per_group = max(1, int(batch_size) // (steps + 1))
    curves = []
    for start in range(0, len(images), per_group):
        group = slice(start, start + per_group)
        switched = ranks[group, None] < counts[None, :, None, None]  # (g, S, H, W)
        first, second = (base, images) if insert else (images, base)
        variants = np.where(switched[..., None], second[group, None], first[group, None])
        values = graph.logits(model, variants.reshape(-1, *images.shape[1:]),
                            batch_size=batch_size).astype(np.float64)
        if score == "probability":
            values = np.exp(values - values.max(axis=1, keepdims=True))
            values /= values.sum(axis=1, keepdims=True)
        picked = np.repeat(classes[group], steps + 1)
        curves.append(values[np.arange(len(values)), picked].reshape(-1, steps + 1))
    return np.concatenate(curves).astype(np.float32)


def deletion_curve(model, images, maps, class_index=None, *, steps=DEFAULT_STEPS,
                   baseline="blur", score="probability", batch_size=64, seed=0):
    """The class score as the map's most important pixels are deleted: (N, steps + 1).

    Point ``t`` replaces the top ``t/steps`` of the pixels (in the order of the map,
    upsampled to the image) by the baseline (:func:`baseline_images`). Point 0 is the
    image itself, the last point the baseline. ``score`` is the softmax probability of
    the class (RISE's choice) or its logit. ``class_index=None`` is each image's
    predicted class. Variants are built for a few images at a time and scored in model
    calls of at most ``batch_size`` inputs.

    Example:
        >>> curve = deletion_curve(model, x, grad_cam(model, x))   # doctest: +SKIP
    """
    return _curves(model, images, maps, class_index, steps, baseline, score, batch_size,
                   seed, insert=False)


def insertion_curve(model, images, maps, class_index=None, *, steps=DEFAULT_STEPS,
                    baseline="blur", score="probability", batch_size=64, seed=0):
    """The class score as the map's most important pixels are revealed, starting from
    the baseline: (N, steps + 1). The mirror of :func:`deletion_curve`.

    Example:
        >>> curve = insertion_curve(model, x, grad_cam(model, x))  # doctest: +SKIP
    """
    return _curves(model, images, maps, class_index, steps, baseline, score, batch_size,
                   seed, insert=True)


def area_under(curves):
    """Area under curves sampled at evenly spaced fractions 0 … 1 (trapezoids): (N,).

    Example:
        >>> area_under(np.array([[1.0, 0.0], [1.0, 1.0]])).tolist()
        [0.5, 1.0]
    """
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 2 or curves.shape[1] < 2:
        raise ValueError(f"curves must be (N, points) with at least 2 points, got {curves.shape}.")
    steps = curves.shape[1] - 1
    return ((curves[:, :-1] + curves[:, 1:]).sum(axis=1) / (2 * steps)).astype(np.float32)


def deletion_auc(model, images, maps, class_index=None, **kwargs):
    """Area under the :func:`deletion_curve`, per image (N,). **Lower is better**: a good
    map names the pixels whose removal destroys the class first.

    Example:
        >>> deletion_auc(model, x, grad_cam(model, x)).mean()      # doctest: +SKIP
    """
    return area_under(deletion_curve(model, images, maps, class_index, **kwargs))


def insertion_auc(model, images, maps, class_index=None, **kwargs):
    """Area under the :func:`insertion_curve`, per image (N,). **Higher is better**: a
    good map names the pixels that bring the class back first.

    Example:
        >>> insertion_auc(model, x, grad_cam(model, x)).mean()     # doctest: +SKIP
    """
    return area_under(insertion_curve(model, images, maps, class_index, **kwargs))


# ---------------------------------------------------------------------------------------
# The sanity check
# ---------------------------------------------------------------------------------------


def _weighted_leaves(model):
    """Layers that own weights and contain no other layers, in graph order."""
    found = []
    for layer in model.layers:
        inner = getattr(layer, "layers", None)
        if inner:
            found.extend(_weighted_leaves(layer))
        elif layer.weights:
            found.append(layer)
    return found


def randomize_top(model, layers=1, seed=0):
    """A copy of ``model`` whose top ``layers`` weighted layers are re-initialised.

    Cascading randomisation (Adebayo et al., 2018), counted from the output: ``layers=1``
    is the classifier head only, ``layers=2`` also the last convolution, and so on.
    Kernels are redrawn He-normal (std √(2 / fan-in)) from ``seed``; biases and other
    vectors are set to zero. The original model is not touched.

    Example:
        >>> random_head = randomize_top(model, layers=1)          # doctest: +SKIP
    """
    import keras

    weighted = _weighted_leaves(model)
    if not 1 <= int(layers) <= len(weighted):
        raise ValueError(f"layers must be in 1..{len(weighted)} (the model's layers with "
                         f"weights), got {layers}.")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    rng = np.random.default_rng(seed)
    for layer in _weighted_leaves(copy)[-int(layers):]:
        fresh = []
        for weight in layer.get_weights():
            if weight.ndim >= 2:
                fan_in = int(np.prod(weight.shape[:-1]))
                fresh.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), weight.shape))
            else:
                fresh.append(np.zeros_like(weight))
        layer.set_weights([w.astype(np.float32) for w in fresh])
    return copy


def rank_correlation(maps_a, maps_b):
    """Spearman rank correlation between paired maps, one value per pair (N,).

    1 means the two maps order the pixels the same way. A constant map orders nothing:
    its correlation with anything is 0.

    Example:
        >>> a = np.arange(9.0).reshape(1, 3, 3)
        >>> rank_correlation(a, a ** 2).tolist(), rank_correlation(a, -a).tolist()
        ([1.0], [-1.0])
    """
    a, b = _check_maps(maps_a), _check_maps(maps_b)
    if a.shape != b.shape:
        raise ValueError(f"maps must pair up: shapes {a.shape} and {b.shape} differ.")
    a = stats.rankdata(a.reshape(len(a), -1), axis=1)
    b = stats.rankdata(b.reshape(len(b), -1), axis=1)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    return np.where(norm > 0, (a * b).sum(axis=1) / np.where(norm > 0, norm, 1), 0.0)


def sanity_check(method, model, images, class_index=None, *, layers=1, seed=0, maps=None,
                 **kwargs):
    """How much do the maps change when the top of the model is randomised? (N,)

    Computes ``method(model, images, classes, **kwargs)`` (or takes ``maps``, if they are
    already at hand) and the same for :func:`randomize_top` ``(model, layers, seed)``,
    explaining the **same** classes (by default the original model's predictions), and
    returns their :func:`rank_correlation` per image. A map that explains the model
    should change: a value near 1 fails the check, one near 0 passes it. With a sequence
    of ``layers`` (a cascade) the result is (len(layers), N).

    Example:
        >>> sanity_check(grad_cam, model, x).mean()               # doctest: +SKIP
        0.05
        >>> sanity_check(grad_cam, model, x, layers=[1, 2, 3]).mean(axis=1)  # doctest: +SKIP
    """
    from camlib import graph

    images = _check_images(images)
    if class_index is None:
        class_index = graph.logits(model, images).argmax(axis=1)
    before = method(model, images, class_index, **kwargs) if maps is None else maps
    before = _check_maps(before)
    if len(before) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(before)} maps.")
    cascade = np.ndim(layers) == 1
    correlations = [
        rank_correlation(before, method(randomize_top(model, n, seed), images, class_index,
                                        **kwargs))
        for n in (layers if cascade else [layers])
    ]
    return np.stack(correlations) if cascade else correlations[0]


# ---------------------------------------------------------------------------------------
# Everything at once
# ---------------------------------------------------------------------------------------


def evaluate(method, model, images, boxes, class_index=None, *, threshold=0.2,
             steps=DEFAULT_STEPS, baseline="blur", sanity_layers=1, batch_size=64, **kwargs):
    """Every measure of this module for one method on one set of images: a dict.

    ``method(model, images, class_index, **kwargs)`` makes the maps (any entry of
    :data:`camlib.cam.METHODS`); ``class_index=None`` explains each image's predicted
    class. The method runs once on two images first, so that ``seconds_per_image``
    (wall-clock time of the maps of all images, divided by N) leaves out compiling; a
    fast method is timed up to five times, within about a second, and the quickest run
    counts, which damps the effect of other programs' load on the machine.
    ``threshold`` is the box threshold of :func:`localization_accuracy`.

    Returns the means over images of ``localization`` (accuracy, IoU ≥ 0.5),
    ``pointing``, ``energy``, ``deletion`` (AUC, lower is better), ``insertion`` (AUC,
    higher is better) and ``sanity`` (rank correlation after :func:`randomize_top`
    ``(layers=sanity_layers)``; lower is better), plus ``seconds_per_image`` and the
    mean ``deletion_curve`` and ``insertion_curve`` (arrays of ``steps + 1`` points).

    Example:
        >>> evaluate(cam.grad_cam, model, x, boxes, labels)        # doctest: +SKIP
        {'localization': 0.67, 'pointing': 0.96, ...}
    """
    import time

    from camlib import graph

    images = _check_images(images)
    size = images.shape[1:3]
    boxes = _check_boxes(boxes, len(images), size)
    if class_index is None:
        class_index = graph.logits(model, images, batch_size=batch_size).argmax(axis=1)
    method(model, images[:2], np.broadcast_to(class_index, len(images))[:2], **kwargs)
    runs, spent = [], 0.0
    while not runs or (spent < 1.0 and len(runs) < 5):
        start = time.perf_counter()
        maps = method(model, images, class_index, **kwargs)
        runs.append(time.perf_counter() - start)
        spent += runs[-1]
    seconds = min(runs) / len(images)
    curves = dict(class_index=class_index, steps=steps, baseline=baseline,
                  batch_size=batch_size)
    deletion = deletion_curve(model, images, maps, **curves)
    insertion = insertion_curve(model, images, maps, **curves)
    return {
        "localization": localization_accuracy(maps, boxes, threshold, image_size=size),
        "pointing": pointing_game(maps, boxes, image_size=size),
        "energy": float(energy_in_box(maps, boxes, image_size=size).mean()),
        "deletion": float(area_under(deletion).mean()),
        "insertion": float(area_under(insertion).mean()),
        "deletion_curve": deletion.mean(axis=0),
        "insertion_curve": insertion.mean(axis=0),
        "sanity": float(sanity_check(method, model, images, class_index, maps=maps,
                                     layers=sanity_layers, **kwargs).mean()),
        "seconds_per_image": seconds,
    }
