"""How good is an explanation? Numbers for maps, against boxes or the model (chapters 4 to 7).

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

Also :func:`accuracy` and :func:`predicted_classes` (the class each image is given, from
the scores before softmax), and :func:`evaluate`, every measure at once.

Conventions: maps are (N, h, w) arrays at any resolution; they are upsampled
bilinearly to the image (:func:`camlib.maps.upsample`) wherever image pixels are needed.
Boxes are ``(x0, y0, x1, y1)`` in image pixels with x1, y1 exclusive, checked by
:func:`camlib.localize.check_boxes`; ``image_size`` is read by
:func:`camlib.localize.check_image_size`. A true box must enclose the object: an image
without one (:data:`camlib.localize.NO_BOX`) is refused, with the fix
``keep = localize.has_box(boxes)``. A one-unit sigmoid head counts as two classes, with
sigmoid probabilities (:func:`class_probabilities`). Every function checks its inputs and
says what is wrong.

Example:
    >>> maps = cam.grad_cam(model, images)                           # doctest: +SKIP
    >>> pointing_game(maps, boxes, image_size=images.shape[1:3])     # doctest: +SKIP
    0.94
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import ndimage, stats

from camlib import localize
from camlib import stats as intervals
from camlib.maps import check_maps, upsample

__all__ = [
    "localization_accuracy",
    "pointing_hits",
    "pointing_game",
    "energy_in_box",
    "predicted_classes",
    "accuracy",
    "BASELINES",
    "baseline_images",
    "pixel_ranks",
    "class_probabilities",
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


def _check_maps(maps, name="maps"):
    """Maps as float32 (N, h, w), with :func:`camlib.maps.check_maps`'s checks."""
    maps = check_maps(maps, name)
    return maps[None] if maps.ndim == 2 else maps


def _size(image_size, maps):
    """The image size ``(H, W)``: ``image_size`` if given, else the maps' own grid."""
    if image_size is None:
        return tuple(maps.shape[1:3])
    return localize.check_image_size(image_size)


def _upsampled(maps, size):
    if tuple(maps.shape[1:3]) == tuple(size):
        return maps
    return upsample(maps, size)


def _true_boxes(boxes, n, size):
    """True boxes (N, 4) inside an image of ``size``; a NO_BOX has nothing to find."""
    return localize.check_boxes(boxes, image_size=size, n=n, name="boxes", allow_no_box=False)


def _check_images(images, n=None):
    try:
        images = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError("images must be one numeric array (N, H, W, C).") from None
    if images.ndim != 4 or 0 in images.shape:
        raise ValueError(f"images must be (N, H, W, C) with at least one image, got shape "
                         f"{images.shape}; for one image pass image[None].")
    if n is not None and len(images) != n:
        raise ValueError(f"Got {len(images)} images but {n} maps; give one map per image.")
    if not np.isfinite(images).all():
        raise ValueError("images contain NaN or inf.")
    return images


def _check_number(value, name, *, low=None, high=None, low_open=False):
    """A finite real number within ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not np.isfinite(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '≥'} {low}, got {value!r}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be ≤ {high}, got {value!r}.")
    return float(value)


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    return int(seed)


# ---------------------------------------------------------------------------------------
# Against a box
# ---------------------------------------------------------------------------------------


def localization_accuracy(maps, boxes, threshold=0.2, iou_threshold=0.5, *, image_size=None):
    """Fraction of maps whose box overlaps the true box with IoU ≥ ``iou_threshold``.

    The box is :func:`camlib.localize.box_from_map`'s (``threshold`` of the min-max
    scaled map, largest component), after upsampling to ``image_size``. A true
    :data:`camlib.localize.NO_BOX` is refused: keep the images with a box first,
    ``keep = localize.has_box(boxes)``.

    Example:
        >>> m = np.zeros((1, 8, 8)); m[0, 2:5, 2:5] = 1
        >>> localization_accuracy(m, [(2, 2, 5, 5)])
        1.0
    """
    maps = _check_maps(maps)
    size = _size(image_size, maps)
    boxes = _true_boxes(boxes, len(maps), size)
    return localize.localization_accuracy(_upsampled(maps, size), boxes, threshold,
                                          iou_threshold)


def pointing_hits(maps, boxes, *, image_size=None, tolerance=0.0):
    """For each map: is its maximum inside the true box? A bool array (N,).

    The maximum is taken after upsampling to ``image_size``; ties go to the first pixel in
    row-major order. A flat map (max = min) points nowhere and misses. ``tolerance``
    counts a maximum within that many pixels (Euclidean) of the box as a hit; Zhang et
    al. (2016) used 15 pixels on 224-pixel images. A true
    :data:`camlib.localize.NO_BOX` is refused (see :func:`localization_accuracy`).

    Example:
        >>> m = np.zeros((2, 8, 8)); m[0, 3, 3] = 1; m[1, 7, 7] = 1
        >>> pointing_hits(m, [(2, 2, 5, 5), (2, 2, 5, 5)]).tolist()
        [True, False]
    """
    maps = _check_maps(maps)
    size = _size(image_size, maps)
    boxes = _true_boxes(boxes, len(maps), size)
    tolerance = _check_number(tolerance, "tolerance (a distance in pixels)", low=0)
    big = _upsampled(maps, size)
    flat = big.reshape(len(big), -1)
    y, x = np.unravel_index(flat.argmax(axis=1), size)
    x0, y0, x1, y1 = boxes.T
    dx = np.maximum(np.maximum(x0 - x, x - (x1 - 1)), 0)
    dy = np.maximum(np.maximum(y0 - y, y - (y1 - 1)), 0)
    return (np.hypot(dx, dy) <= tolerance) & (flat.max(axis=1) > flat.min(axis=1))


def pointing_game(maps, boxes, *, image_size=None, tolerance=0.0):
    """Pointing-game accuracy: the fraction of :func:`pointing_hits`.

    Example:
        >>> m = np.zeros((2, 8, 8)); m[0, 3, 3] = 1; m[1, 7, 7] = 1
        >>> pointing_game(m, [(2, 2, 5, 5), (2, 2, 5, 5)])
        0.5
    """
    return float(np.mean(pointing_hits(maps, boxes, image_size=image_size, tolerance=tolerance)))


def energy_in_box(maps, boxes, *, image_size=None):
    """For each map, the share of its positive mass that lies inside the box (N,).

    The map is upsampled to ``image_size``, negative values are set to zero (they are
    evidence against the class), and the sum inside the box is divided by the total. A
    map with no positive value has no energy anywhere and scores 0. A map spread evenly
    over the image scores the box's share of the image area
    (:func:`camlib.localize.area_share`). A true :data:`camlib.localize.NO_BOX` is
    refused (see :func:`localization_accuracy`).

    Example:
        >>> m = np.zeros((1, 4, 4)); m[0, :2, :2] = 3; m[0, 3, 3] = 1
        >>> energy_in_box(m, [(0, 0, 2, 2)]).tolist()
        [0.9230769276618958]
    """
    maps = _check_maps(maps)
    size = _size(image_size, maps)
    boxes = _true_boxes(boxes, len(maps), size)
    big = np.maximum(_upsampled(maps, size), 0.0)
    inside = np.array([m[y0:y1, x0:x1].sum() for m, (x0, y0, x1, y1) in zip(big, boxes)])
    total = big.sum(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1.0), 0.0).astype(np.float32)


# ---------------------------------------------------------------------------------------
# Against the labels
# ---------------------------------------------------------------------------------------


def predicted_classes(model, images, *, batch_size=64):
    """Each image's predicted class (N,): the argmax of :func:`camlib.graph.logits`.

    For a one-unit (sigmoid) head the logits are ``(-S, S)``, so the prediction is class 1
    exactly when the score ``S > 0``.

    Example:
        >>> predicted_classes(model, images).shape
        (4,)
    """
    from camlib import graph

    return graph.logits(model, images, batch_size=batch_size).argmax(axis=1)


def accuracy(model, images, labels, *, batch_size=64):
    """The share of images whose predicted class equals the label (a float in [0, 1]).

    The prediction is :func:`predicted_classes`: the argmax of the class scores before
    softmax, so a one-unit sigmoid head predicts class 1 when its score is above 0.

    Args:
        model: a Keras classifier.
        images: (N, H, W, C), as the model takes them.
        labels: one integer class per image, (N,).
        batch_size: images per model call.

    Returns:
        The accuracy, a Python float.

    Raises:
        ValueError: bad images (see :func:`camlib.graph.check_images`), or labels that are
            not one whole class index per image within the model's classes.

    Example:
        >>> by_hand = np.mean(model.predict(images, verbose=0).argmax(axis=1) == labels)
        >>> accuracy(model, images, labels) == float(by_hand)
        True
    """
    from camlib import graph

    graph.check_model(model)
    images = graph.check_images(model, images)
    if labels is None or isinstance(labels, (str, bytes)) or np.ndim(labels) != 1:
        raise ValueError(f"labels must be one class index per image, shape ({len(images)},); "
                         f"got {labels!r}.")
    labels = graph.check_classes(model, labels, len(images))
    predicted = predicted_classes(model, images, batch_size=batch_size)
    return float(np.mean(predicted == labels))


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
    - a finite number, or a finite array of the images' shape.

    Example:
        >>> float(baseline_images(np.ones((1, 8, 8, 3)), "mean").mean())
        1.0
    """
    images = _check_images(images)
    if sigma is not None and not (isinstance(baseline, str) and baseline == "blur"):
        raise ValueError('sigma is the width of the "blur" baseline; pass it only with '
                         'baseline="blur".')
    if isinstance(baseline, str):
        if baseline == "blur":
            if sigma is None:
                sigma = max(images.shape[1:3]) / 8
            sigma = _check_number(sigma, "sigma (the blur's width in pixels)", low=0,
                                  low_open=True)
            return ndimage.gaussian_filter(images, (0, sigma, sigma, 0), mode="reflect")
        if baseline == "mean":
            return np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape).copy()
        if baseline == "zero":
            return np.zeros_like(images)
        raise ValueError(f"baseline={baseline!r} must be one of {BASELINES}, a number or an "
                         "array.")
    if baseline is None or isinstance(baseline, (bool, bytes)):
        raise ValueError(f"baseline must be one of {BASELINES}, a number or an array, got "
                         f"{baseline!r}.")
    try:
        base = np.asarray(baseline, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"baseline must be one of {BASELINES}, a number or an array, got "
                         f"{baseline!r}.") from None
    if not np.isfinite(base).all():
        raise ValueError("baseline contains NaN or inf; deleted pixels need finite values.")
    if base.ndim == 0:
        return np.full_like(images, float(base))
    if base.shape != images.shape:
        raise ValueError(f"A baseline array must have the images' shape {images.shape}, "
                         f"got {base.shape}.")
    return base


def pixel_ranks(maps, seed=0):
    """Each pixel's place in the order of deletion (N, h, w): 0 for the map's largest value.

    Ties (for example the zeros after a ReLU) are broken in a fixed random order drawn
    from ``seed`` (a non-negative integer), never by position, so that a flat stretch of
    map does not favour the image's top rows.

    Example:
        >>> pixel_ranks(np.array([[[0.5, 2.0], [1.0, 0.0]]])).tolist()
        [[[2, 0], [1, 3]]]
    """
    maps = _check_maps(maps)
    rng = np.random.default_rng(_check_seed(seed))
    flat = maps.reshape(len(maps), -1)
    ranks = np.empty(flat.shape, np.int64)
    for i, values in enumerate(flat):
        order = np.lexsort((rng.random(values.size), -values))
        ranks[i, order] = np.arange(values.size)
    return ranks.reshape(maps.shape)


def class_probabilities(model, scores):
    """Class probabilities from scores before softmax (M, classes), as numpy.

    Uses :func:`camlib.graph.probabilities` with the model's own squashing: a softmax,
    or a sigmoid for a one-unit head (whose two scores are ``(-S, S)``), so that a binary
    model's probabilities are ``1 - p`` and ``p``, never a constant 1.

    Example:
        >>> scores = graph.logits(model, images)                  # doctest: +SKIP
        >>> class_probabilities(model, scores).sum(axis=1)        # doctest: +SKIP
        array([1., 1., 1., 1.], dtype=float32)
    """
    import tensorflow as tf

    from camlib import graph

    squashing = graph.score_site(model).squashing
    return graph.probabilities(tf.convert_to_tensor(scores), squashing).numpy()


def _curves(model, images, maps, class_index, steps, baseline, score, batch_size, seed,
            insert):
    from camlib import graph

    graph.check_model(model)
    images = graph.check_images(model, images)
    maps = _check_maps(maps)
    if len(maps) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(maps)} maps; give one per image.")
    steps = graph.check_batch_size(steps, "steps")
    batch_size = graph.check_batch_size(batch_size)
    if not isinstance(score, str) or score not in ("probability", "logit"):
        raise ValueError(f'score must be "probability" or "logit", got {score!r}.')
    size = images.shape[1:3]
    base = baseline_images(images, baseline)
    if class_index is None:
        classes = predicted_classes(model, images, batch_size=batch_size)
    else:
        classes = graph.check_classes(model, class_index, len(images))
    ranks = pixel_ranks(_upsampled(maps, size), seed)
    counts = np.round(np.linspace(0, size[0] * size[1], steps + 1)).astype(np.int64)
    first, second = (base, images) if insert else (images, base)
    # One variant per (image, step) pair. They are built and scored batch_size at a time,
    # so memory follows batch_size, whatever the number of images or steps.
    pairs = len(images) * (steps + 1)
    values = np.empty(pairs, np.float64)
    for start in range(0, pairs, batch_size):
        index = np.arange(start, min(start + batch_size, pairs))
        image, step = np.divmod(index, steps + 1)
        switched = ranks[image] < counts[step][:, None, None]
        variants = np.where(switched[..., None], second[image], first[image])
        scores = graph.logits(model, variants, batch_size=batch_size)
        if score == "probability":
            scores = class_probabilities(model, scores)
        values[index] = scores[np.arange(len(index)), classes[image]]
    return values.reshape(len(images), steps + 1).astype(np.float32)


def deletion_curve(model, images, maps, class_index=None, *, steps=DEFAULT_STEPS,
                   baseline="blur", score="probability", batch_size=64, seed=0):
    """The class score as the map's most important pixels are deleted: (N, steps + 1).

    Point ``t`` replaces the top ``t/steps`` of the pixels (in the order of the map,
    upsampled to the image) by the baseline (:func:`baseline_images`). Point 0 is the
    image itself, the last point the baseline. ``score`` is the class probability (RISE's
    choice; a sigmoid for a one-unit head, see :func:`class_probabilities`) or its
    logit. ``class_index=None`` is each image's predicted class. Variants are built and
    scored ``batch_size`` at a time, so memory follows ``batch_size``, not ``steps``.

    Example:
        >>> curve = deletion_curve(model, x, grad_cam(model, x))   # doctest: +SKIP
    """
    return _curves(model, images, maps, class_index, steps, baseline, score, batch_size,
                   seed, insert=False)


def insertion_curve(model, images, maps, class_index=None, *, steps=DEFAULT_STEPS,
                    baseline="blur", score="probability", batch_size=64, seed=0):
    """The class score as the map's most important pixels are revealed: (N, steps + 1).

    It starts from the baseline: the mirror of :func:`deletion_curve`.

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
    try:
        curves = np.asarray(curves, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("curves must be a numeric array (N, points).") from None
    if curves.ndim != 2 or curves.shape[1] < 2 or len(curves) == 0:
        raise ValueError(f"curves must be (N, points) with N ≥ 1 and at least 2 points, got "
                         f"{curves.shape}; for one curve pass curve[None].")
    if not np.isfinite(curves).all():
        raise ValueError("curves contain NaN or inf.")
    steps = curves.shape[1] - 1
    return ((curves[:, :-1] + curves[:, 1:]).sum(axis=1) / (2 * steps)).astype(np.float32)


def deletion_auc(model, images, maps, class_index=None, **kwargs):
    """Area under the :func:`deletion_curve`, per image (N,).

    **Lower is better**: a good map names the pixels whose removal destroys the class first.

    Example:
        >>> deletion_auc(model, x, grad_cam(model, x)).mean()      # doctest: +SKIP
    """
    return area_under(deletion_curve(model, images, maps, class_index, **kwargs))


def insertion_auc(model, images, maps, class_index=None, **kwargs):
    """Area under the :func:`insertion_curve`, per image (N,).

    **Higher is better**: a good map names the pixels that bring the class back first.

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

    from camlib import graph

    graph.check_model(model)
    weighted = _weighted_leaves(model)
    whole = isinstance(layers, numbers.Integral) and not isinstance(layers, bool)
    if not whole or not 1 <= int(layers) <= len(weighted):
        raise ValueError(f"layers must be a whole number in 1..{len(weighted)} (the model's "
                         f"layers with weights, counted from the output), got {layers!r}.")
    seed = _check_seed(seed)
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
    """How much do the maps change when the top of the model is randomised? An array (N,).

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

    graph.check_model(model)
    images = graph.check_images(model, images)
    if not callable(method):
        raise ValueError(f"method must be a map method such as cam.grad_cam, got {method!r}.")
    cascade = np.ndim(layers) == 1
    for n in (layers if cascade else [layers]):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise ValueError(f"layers must be a whole number or a list of them, got {layers!r}.")
    if class_index is None:
        class_index = predicted_classes(model, images)
    before = method(model, images, class_index, **kwargs) if maps is None else maps
    before = _check_maps(before)
    if len(before) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(before)} maps.")
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
             steps=DEFAULT_STEPS, baseline="blur", sanity_layers=1, batch_size=64, repeats=3,
             **kwargs):
    """Every measure of this module for one method on one set of images: a dict.

    ``method(model, images, class_index, **kwargs)`` makes the maps (any entry of
    :data:`camlib.cam.METHODS`); ``class_index=None`` explains each image's predicted
    class. The maps are made once; then ``seconds_per_image`` is
    :func:`camlib.stats.median_seconds` of ``repeats`` more runs (the first run was the
    warm-up, so compiling is left out), divided by N. ``threshold`` is the box threshold
    of :func:`localization_accuracy`. Every image needs a true box: keep the images with
    one first, ``keep = localize.has_box(boxes)``.

    Returns the means over images of ``localization`` (accuracy, IoU ≥ 0.5),
    ``pointing``, ``energy``, ``deletion`` (AUC, lower is better), ``insertion`` (AUC,
    higher is better) and ``sanity`` (rank correlation after :func:`randomize_top`
    ``(layers=sanity_layers)``; lower is better), plus ``seconds_per_image`` and the
    mean ``deletion_curve`` and ``insertion_curve`` (arrays of ``steps + 1`` points).

    Example:
        >>> evaluate(cam.grad_cam, model, x, boxes, labels)        # doctest: +SKIP
        {'localization': 0.67, 'pointing': 0.96, ...}
    """
    from camlib import graph

    graph.check_model(model)
    images = graph.check_images(model, images)
    size = images.shape[1:3]
    boxes = _true_boxes(boxes, len(images), size)
    if not callable(method):
        raise ValueError(f"method must be a map method such as cam.grad_cam, got {method!r}.")
    if class_index is None:
        class_index = predicted_classes(model, images, batch_size=batch_size)
    maps = method(model, images, class_index, **kwargs)
    seconds = intervals.median_seconds(lambda: method(model, images, class_index, **kwargs),
                                       repeats=repeats, warmup=0) / len(images)
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
