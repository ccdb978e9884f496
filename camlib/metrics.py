"""How good is an explanation? Numbers for maps, against boxes or the model (chapters 4 to 7).

Two kinds of measure:

- **Does the map find the object?** With a true box per image:
  :func:`localization_accuracy` (box from the map, IoU ≥ 0.5; Zhou et al. 2016),
  :func:`pointing_game` (is the map's maximum inside the box? Zhang et al. 2016) and
  :func:`energy_in_box` (the share of the map's positive mass inside the box; Wang et al.
  2020).
- **Does the map say what the model uses?** Without boxes: :func:`deletion_auc` and
  :func:`insertion_auc` (Petsiuk et al. 2018) remove or reveal pixels in the map's order
  and watch the class probability; :func:`road_curve` (ROAD, Rong et al. 2022) removes
  pixels and fills them with :func:`noisy_linear_imputation`, so that the shape of the
  hole does not tell the model where the evidence was; :func:`sanity_check` (Adebayo et
  al. 2018) randomises the top of the model and measures how much the maps change.

The sanity checks of Adebayo et al. (2018) ask whether a map changes when the model
changes. :func:`sanity_check` is their model randomisation test. :func:`model_comparison`
is their data randomisation test: a model trained on the true labels against the same
recipe trained on permuted labels. Both compare two maps with one of
:data:`SIMILARITIES`: :func:`rank_correlation` (with the sign or of the absolute values)
or :func:`ssim`. Two controls have the signature of a map method and ignore the model:
:func:`edge_control`, an edge detector, which must fail, and :func:`random_control`,
noise, which passes (Binder et al. 2023). Passing is therefore necessary, not enough.

Two measures can follow their authors' code exactly:

- ``pointing_hits(..., rule="torchray")`` is the rule of TorchRay's ``PointingGame``
  (Fong et al. 2019). The default ``rule="box"`` is camlib's rule. They differ in three
  ways. TorchRay counts a hit when the distance d from the point to the object is
  strictly less than the tolerance (d² < r²); camlib counts d ≤ r. TorchRay's default
  tolerance is 15 pixels; camlib's is 0 (inside the box). A flat map has no maximum:
  camlib counts it as a miss, TorchRay takes its first pixel, the top-left corner, as
  the point. TorchRay also accepts object masks instead of boxes.
- ``deletion_curve(..., baseline="zero")`` and ``insertion_curve(...,
  baseline="rise-blur")`` are RISE's ``CausalMetric`` (Petsiuk et al. 2018) with its two
  substrates, if the map has no ties and ``steps`` is the number of pixels divided by
  RISE's pixels per step. :func:`deletion_curve` lists the remaining differences.

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
    "noisy_linear_imputation",
    "road_curve",
    "randomize_top",
    "SIMILARITIES",
    "rank_correlation",
    "ssim",
    "sanity_check",
    "model_comparison",
    "edge_control",
    "random_control",
    "evaluate",
]

DEFAULT_STEPS = 16
BASELINES = ("blur", "rise-blur", "mean", "zero")
_POINTING_RULES = ("box", "torchray")
_TORCHRAY_TOLERANCE = 15  # pixels, TorchRay's default
_ROAD_ORDERS = ("morf", "lerf")


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


def _check_rule(rule):
    if not isinstance(rule, str) or rule not in _POINTING_RULES:
        raise ValueError(f'rule must be "box" (camlib\'s rule) or "torchray" (TorchRay\'s '
                         f"rule), got {rule!r}.")
    return rule


def _bool_array(values, name, rule, hint):
    """``values`` as a bool array; 0 and 1 are converted, anything else is refused."""
    try:
        values = np.asarray(values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be one array of bools (N, H, W).") from None
    if values.dtype != bool:
        if values.dtype.kind not in "iuf" or not np.isin(values, (0, 1)).all():
            raise ValueError(f"{rule}, got dtype {values.dtype}{hint}")
        values = values.astype(bool)
    return values


def _object_masks(masks, n, size):
    """Object masks as bool (N, H, W): one non-empty mask per map, at the image size."""
    masks = _bool_array(masks, "masks", "Object masks must be bools (or 0 and 1)",
                        "; pass masks > 0.5 for soft masks.")
    if masks.shape != (n, *size):
        raise ValueError(f"Object masks must have shape (N, H, W) = {(n, *size)} (one mask "
                         f"per map, at the image size), got {masks.shape}; set image_size "
                         "to the masks' size.")
    empty = np.flatnonzero(~masks.any(axis=(1, 2)))
    if len(empty):
        raise ValueError(f"The object masks of images {empty.tolist()} are empty: there is "
                         "nothing to point at. Keep the images with an object first, "
                         "keep = masks.any(axis=(1, 2)).")
    return masks


def pointing_hits(maps, boxes, *, image_size=None, tolerance=None, rule="box"):
    """For each map: does its maximum point at the object? A bool array (N,).

    The point is the map's maximum after upsampling to ``image_size``. When several
    pixels share the maximum, the first one in row-major order is the point (as
    ``np.argmax`` and TorchRay's ``torch.argmax`` do). The distance d from the point to
    the object is the distance to the nearest object pixel (Euclidean, pixel centres);
    d is 0 inside the object.

    ``rule`` chooses how a hit is counted:

    - ``"box"`` (camlib's rule, the default): a hit when d ≤ ``tolerance``. The default
      tolerance is 0, so the maximum must lie inside the box. A flat map (max = min)
      points nowhere and always misses.
    - ``"torchray"`` (TorchRay's ``PointingGame``, used by Fong et al. 2019 for the
      pointing game of Zhang et al. 2016): a hit when d² < ``tolerance``², a strict
      test. The default tolerance is TorchRay's 15 pixels (Zhang et al. also used 15).
      A distance of exactly ``tolerance`` is a miss, and ``tolerance=0`` is refused,
      since nothing would ever be a hit. A flat map is not treated apart: its point is
      its first pixel, the top-left corner (0, 0), so it is a hit when the object is
      near that corner. The object may be a box or a mask. TorchRay's object is a mask
      of all the objects of the class in the image: the union of their boxes on PASCAL
      VOC, their segmentation on COCO.

    TorchRay reports the mean of the per-class accuracies; to get it, average these hits
    over the images of each class first. A true :data:`camlib.localize.NO_BOX` is
    refused (see :func:`localization_accuracy`).

    Args:
        maps: the maps (N, h, w).
        boxes: true boxes (N, 4) ``(x0, y0, x1, y1)``. With ``rule="torchray"`` this
            may also be object masks (N, H, W) of bools at the image size.
        image_size: ``(H, W)`` of the images; by default the maps' own size.
        tolerance: a distance in pixels, ≥ 0 (> 0 for ``"torchray"``). None gives the
            rule's default: 0 for ``"box"``, 15 for ``"torchray"``.
        rule: ``"box"`` or ``"torchray"``.

    Returns:
        A bool array (N,): True for a hit.

    Raises:
        ValueError: bad maps, boxes or masks, a negative tolerance, ``tolerance=0`` with
            ``rule="torchray"``, masks with ``rule="box"``, or an unknown rule.

    Example:
        >>> m = np.zeros((2, 8, 8)); m[0, 3, 3] = 1; m[1, 7, 7] = 1
        >>> pointing_hits(m, [(2, 2, 5, 5), (2, 2, 5, 5)]).tolist()
        [True, False]
        >>> m = np.zeros((1, 8, 8)); m[0, 3, 7] = 1      # 3 pixels right of the box
        >>> pointing_hits(m, [(2, 2, 5, 5)], tolerance=3).tolist()
        [True]
        >>> pointing_hits(m, [(2, 2, 5, 5)], tolerance=3, rule="torchray").tolist()
        [False]
    """
    maps = _check_maps(maps)
    size = _size(image_size, maps)
    rule = _check_rule(rule)
    if tolerance is None:
        tolerance = 0.0 if rule == "box" else _TORCHRAY_TOLERANCE
    tolerance = _check_number(tolerance, "tolerance (a distance in pixels)", low=0)
    if rule == "torchray" and tolerance == 0:
        raise ValueError('rule="torchray" counts a hit only when the distance is smaller '
                         "than the tolerance, so tolerance=0 never hits. Pass a tolerance "
                         '> 0 (TorchRay uses 15 pixels), or use rule="box".')
    masks = None
    if np.ndim(boxes) == 3:
        if rule == "box":
            raise ValueError('Object masks (N, H, W) need rule="torchray"; rule="box" takes '
                             "boxes (x0, y0, x1, y1).")
        masks = _object_masks(boxes, len(maps), size)
    else:
        boxes = _true_boxes(boxes, len(maps), size)
    big = _upsampled(maps, size)
    flat = big.reshape(len(big), -1)
    y, x = np.unravel_index(flat.argmax(axis=1), size)
    if masks is not None:  # only with rule="torchray"
        squared = np.empty(len(masks), np.int64)
        for i, mask in enumerate(masks):
            rows, cols = np.nonzero(mask)
            squared[i] = ((rows - y[i]) ** 2 + (cols - x[i]) ** 2).min()
        return squared < tolerance**2
    x0, y0, x1, y1 = boxes.T
    dx = np.maximum(np.maximum(x0 - x, x - (x1 - 1)), 0)
    dy = np.maximum(np.maximum(y0 - y, y - (y1 - 1)), 0)
    if rule == "torchray":
        return dx**2 + dy**2 < tolerance**2
    return (np.hypot(dx, dy) <= tolerance) & (flat.max(axis=1) > flat.min(axis=1))


def pointing_game(maps, boxes, *, image_size=None, tolerance=None, rule="box"):
    """Pointing-game accuracy: the fraction of :func:`pointing_hits`.

    The arguments are those of :func:`pointing_hits`. The mean is over all images, not
    over classes.

    Example:
        >>> m = np.zeros((2, 8, 8)); m[0, 3, 3] = 1; m[1, 7, 7] = 1
        >>> pointing_game(m, [(2, 2, 5, 5), (2, 2, 5, 5)])
        0.5
        >>> pointing_game(m, [(2, 2, 5, 5), (2, 2, 5, 5)], rule="torchray")
        1.0
    """
    return float(np.mean(pointing_hits(maps, boxes, image_size=image_size, tolerance=tolerance,
                                       rule=rule)))


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


def _rise_kernel(size=11, sigma=5):
    """RISE's ``gkern(size, sigma)``: a Gaussian-smoothed single 1, (size, size), sum 1."""
    kernel = np.zeros((size, size))
    kernel[size // 2, size // 2] = 1.0
    return ndimage.gaussian_filter(kernel, sigma)


def baseline_images(images, baseline="blur", sigma=None):
    """What a pixel becomes when it is deleted (and where insertion starts).

    - ``"blur"`` (default): the image blurred with a Gaussian of ``sigma`` pixels
      (default: 1/8 of the image side). Fine detail, which is what a classifier's evidence
      is made of, disappears while colours and layout stay, so the curve measures removed
      evidence rather than the shock of an unnatural colour. Insertion in RISE starts from
      such a blur.
    - ``"rise-blur"``: RISE's own blur, its insertion substrate. The kernel is RISE's
      ``gkern(klen=11, nsig=5)``: an 11 × 11 image of a single 1 in the middle, smoothed
      by ``scipy.ndimage.gaussian_filter`` with sigma 5. Each channel is convolved with
      it, with zero padding of 5 pixels, as RISE's ``conv2d(x, kern, padding=5)`` does.
      So the output has the image's size, and pixels within 5 pixels of the border are
      darkened by the zeros outside. With sigma 5 on 11 pixels the kernel is nearly
      flat: almost an 11 × 11 average.
    - ``"mean"``: each image's mean colour everywhere.
    - ``"zero"``: zeros (black for images in [0, 1]); RISE's deletion substrate. RISE
      applies it to the normalised input of its model, so there a zero is the mean
      ImageNet colour. Here it is a zero of whatever the model takes.
    - a finite number, or a finite array of the images' shape.

    Example:
        >>> float(baseline_images(np.ones((1, 8, 8, 3)), "mean").mean())
        1.0
        >>> blurred = baseline_images(np.ones((1, 32, 32, 1)), "rise-blur")
        >>> round(float(blurred[0, 16, 16, 0]), 4), round(float(blurred[0, 0, 0, 0]), 2)
        (1.0, 0.3)
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
        if baseline == "rise-blur":
            kernel = _rise_kernel()[None, :, :, None]  # the same kernel for every channel
            blurred = ndimage.correlate(images.astype(np.float64), kernel, mode="constant")
            return blurred.astype(np.float32)
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


def _curve_inputs(model, images, maps, score, batch_size):
    """The checks that every curve of the model's score makes: images, maps, batch_size."""
    from camlib import graph

    graph.check_model(model)
    images = graph.check_images(model, images)
    maps = _check_maps(maps)
    if len(maps) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(maps)} maps; give one per image.")
    batch_size = graph.check_batch_size(batch_size)
    if not isinstance(score, str) or score not in ("probability", "logit"):
        raise ValueError(f'score must be "probability" or "logit", got {score!r}.')
    return images, maps, batch_size


def _classes(model, images, class_index, batch_size):
    """One class per image: the predicted class for None, else the checked class_index."""
    from camlib import graph

    if class_index is None:
        return predicted_classes(model, images, batch_size=batch_size)
    return graph.check_classes(model, class_index, len(images))


def _class_scores(model, variants, classes, score, batch_size):
    """The score (probability or logit) of one class per variant image, (M,)."""
    from camlib import graph

    scores = graph.logits(model, variants, batch_size=batch_size)
    if score == "probability":
        scores = class_probabilities(model, scores)
    return scores[np.arange(len(variants)), classes]


def _curves(model, images, maps, class_index, steps, baseline, score, batch_size, seed,
            insert):
    from camlib import graph

    images, maps, batch_size = _curve_inputs(model, images, maps, score, batch_size)
    steps = graph.check_batch_size(steps, "steps")
    size = images.shape[1:3]
    base = baseline_images(images, baseline)
    classes = _classes(model, images, class_index, batch_size)
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
        values[index] = _class_scores(model, variants, classes[image], score, batch_size)
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

    RISE's ``CausalMetric`` (Petsiuk et al. 2018) uses ``baseline="zero"`` for deletion
    and ``baseline="rise-blur"`` for insertion. With those baselines, camlib gives the
    same curve as ``CausalMetric`` when the map has no ties and ``step`` (RISE's pixels
    per step) divides H × W, with ``steps = H * W // step``. On 224 × 224 images, RISE's
    notebook uses 224 pixels per step for one image (``steps=224``) and 224 × 8 for a
    batch (``steps=28``). The differences are:

    - **Ties.** RISE orders the pixels by ``np.flip(np.argsort(map))``, so equal values
      are taken in an order that depends on their position. camlib breaks ties in a
      random order drawn from ``seed`` (:func:`pixel_ranks`). Without ties both orders
      are the same: largest value first.
    - **Steps.** RISE changes a fixed number of pixels per step, and the last step takes
      what is left, so it can be smaller. Its curve has ``ceil(H * W / step) + 1``
      points. camlib takes the number of steps, and point ``t`` has
      ``round(t * H * W / steps)`` pixels changed.
    - **Score.** RISE reads the output of its model, a softmax, for the class that the
      model predicts on the original image. camlib's default is the same:
      ``score="probability"`` and ``class_index=None``. camlib also offers the logit and
      a given class, and it uses a sigmoid for a one-unit head.
    - **Area.** RISE's ``auc(arr)`` is ``(arr.sum() - arr[0] / 2 - arr[-1] / 2) /
      (len(arr) - 1)``. This is the trapezoid rule of :func:`area_under`, so the numbers
      are the same. Both treat the points as evenly spaced, also where RISE's last step
      is smaller. RISE averages the curves over the images before it takes the area;
      the area is linear, so this equals the mean of the areas.

    Args:
        model: a Keras classifier.
        images: (N, H, W, C), as the model takes them.
        maps: one map per image (N, h, w), at any resolution.
        class_index: the class to score, one int or one per image; None for each image's
            predicted class.
        steps: the number of steps; the curve has ``steps + 1`` points.
        baseline: what a deleted pixel becomes, see :func:`baseline_images`.
        score: ``"probability"`` or ``"logit"``.
        batch_size: images per model call.
        seed: the seed for the order of tied pixels.

    Returns:
        float32 (N, steps + 1).

    Raises:
        ValueError: bad model, images, maps, class_index, steps, baseline, score or
            batch_size.

    Example:
        >>> curve = deletion_curve(model, x, grad_cam(model, x))   # doctest: +SKIP
    """
    return _curves(model, images, maps, class_index, steps, baseline, score, batch_size,
                   seed, insert=False)


def insertion_curve(model, images, maps, class_index=None, *, steps=DEFAULT_STEPS,
                    baseline="blur", score="probability", batch_size=64, seed=0):
    """The class score as the map's most important pixels are revealed: (N, steps + 1).

    It starts from the baseline: the mirror of :func:`deletion_curve`, with the same
    arguments. RISE's insertion starts from its blur: ``baseline="rise-blur"``.

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
# ROAD: removal with noisy linear imputation
# ---------------------------------------------------------------------------------------

# ROAD's neighbours (row offset, column offset, weight): 1/6 for the four direct
# neighbours and 1/12 for the four diagonal ones. The eight weights sum to 1.
_ROAD_NEIGHBOURS = tuple((dy, dx, 1 / 6 if dy == 0 or dx == 0 else 1 / 12)
                         for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))


def _check_removed(removed, shape):
    """The removed pixels as bool (N, H, W), for images of ``shape`` (N, H, W, C)."""
    removed = _bool_array(removed, "removed",
                          "removed must be bools (True for a removed pixel) or 0 and 1", ".")
    if removed.shape != tuple(shape[:3]):
        hint = " For one image pass removed[None]." if removed.shape == tuple(shape[1:3]) else ""
        raise ValueError(f"removed must have the shape (N, H, W) = {tuple(shape[:3])} of the "
                         f"images, got {removed.shape}.{hint}")
    full = np.flatnonzero(removed.all(axis=(1, 2)))
    if len(full):
        raise ValueError(f"removed marks every pixel of images {full.tolist()}: the linear "
                         "imputation needs at least one known pixel to start from. Keep at "
                         "least one pixel of each image.")
    return removed


def _impute(image, removed, noise, rng, value_range=None):
    """One image (H, W, C) with its ``removed`` pixels (H, W) imputed: float32 (H, W, C).

    Each removed pixel becomes the weighted mean of its neighbours inside the image. The
    weights of the neighbours that exist are renormalised to sum to 1. All removed pixels
    are solved at once from one sparse linear system; the known pixels are its boundary
    values. At least one pixel must be known.
    """
    from scipy import sparse
    from scipy.sparse import linalg

    height, width, channels = image.shape
    where = np.flatnonzero(removed)
    if len(where) == 0:
        return image.copy()
    known = ~removed.ravel()
    flat = image.reshape(-1, channels).astype(np.float64)
    unknown_index = np.full(height * width, -1, np.int64)
    unknown_index[where] = np.arange(len(where))
    rows, cols = np.divmod(where, width)
    total = np.zeros(len(where))  # the sum of the weights of the neighbours that exist
    rhs = np.zeros((len(where), channels))
    entries = []  # (equation, unknown, coefficient) of the sparse matrix
    for dy, dx, weight in _ROAD_NEIGHBOURS:
        y, x = rows + dy, cols + dx
        inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        total[inside] += weight
        equation = np.flatnonzero(inside)
        neighbour = y[inside] * width + x[inside]
        given = known[neighbour]
        rhs[equation[given]] += weight * flat[neighbour[given]]
        entries.append((equation[~given], unknown_index[neighbour[~given]],
                        np.full(np.count_nonzero(~given), -weight)))
    entries.append((np.arange(len(where)), np.arange(len(where)), total))
    matrix = sparse.csc_matrix(
        (np.concatenate([e[2] for e in entries]),
         (np.concatenate([e[0] for e in entries]), np.concatenate([e[1] for e in entries]))),
        shape=(len(where), len(where)))
    solved = np.asarray(linalg.spsolve(matrix, rhs)).reshape(len(where), channels)
    if noise > 0:
        solved = solved + noise * rng.standard_normal(solved.shape)
    if value_range is not None:
        solved = np.clip(solved, *value_range)
    flat[where] = solved
    return flat.reshape(image.shape).astype(np.float32)


def noisy_linear_imputation(images, removed, *, noise=0.01, seed=0):
    """Fill the removed pixels of each image as ROAD does (Rong et al. 2022): (N, H, W, C).

    ROAD's ``NoisyLinearImputer``. Each removed pixel is set to the weighted mean of its
    8 neighbours: weight 1/6 for the 4 direct neighbours, 1/12 for the 4 diagonal ones.
    At the border of the image, the weights of the neighbours that exist are renormalised
    to sum to 1, as ROAD does. A neighbour that is also removed is an unknown, so all
    removed pixels are found together from one sparse linear system
    (``scipy.sparse.linalg.spsolve``), one right-hand side per channel. The known pixels
    act as boundary values.

    Then Gaussian noise with standard deviation ``noise`` is added to each imputed value
    (each pixel and channel). The noise hides the simple pattern that the imputation
    leaves, so that the model cannot see where pixels were removed. Pixels that are not
    removed are returned unchanged.

    In the image interior, a linear function (``a*y + b*x + c``) equals the mean of its
    neighbours, so with ``noise=0`` a hole in a linear ramp is filled exactly. At the
    border the mean is one-sided and pulls a ramp towards the inside.

    An image whose pixels are all removed is refused: there would be no known value,
    and the system has no single solution.

    Args:
        images: (N, H, W, C).
        removed: bool (N, H, W), True for a pixel to impute. 0 and 1 are accepted.
        noise: the standard deviation of the added noise, ≥ 0 (ROAD's default 0.01).
        seed: a non-negative integer; the same seed gives the same noise.

    Returns:
        float32 (N, H, W, C).

    Raises:
        ValueError: bad images, a ``removed`` of the wrong shape or with values other
            than 0 and 1, an image with all its pixels removed, or a bad noise or seed.

    Example:
        >>> ramp = np.add.outer(np.arange(5.0), 2 * np.arange(6.0))[None, :, :, None]
        >>> holes = np.zeros((1, 5, 6), bool); holes[0, 1:4, 2:4] = True
        >>> filled = noisy_linear_imputation(np.where(holes[..., None], 0, ramp), holes,
        ...                                  noise=0)
        >>> bool(np.allclose(filled, ramp))
        True
    """
    images = _check_images(images)
    removed = _check_removed(removed, images.shape)
    noise = _check_number(noise, "noise (the standard deviation of the added noise)", low=0)
    rng = np.random.default_rng(_check_seed(seed))
    return np.stack([_impute(image, mask, noise, rng) for image, mask in zip(images, removed)])


def _check_fractions(fractions):
    message = ("fractions must be a non-empty list of shares of pixels to remove, each "
               "strictly between 0 and 1, such as (0.1, 0.2, ..., 0.9)")
    try:
        flat = not isinstance(fractions, (str, bytes)) and np.ndim(fractions) == 1
    except ValueError:  # a ragged list
        flat = False
    if not flat:
        raise ValueError(f"{message}; got {fractions!r}. For one fraction pass [f].")
    values = list(fractions)
    if not values:
        raise ValueError(f"{message}; got an empty list.")
    for value in values:
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not np.isfinite(value) or not 0 < value < 1):
            raise ValueError(f"{message}; got {value!r}. Point 0 is the image itself and "
                             "at 1 nothing would be left to impute from.")
    return np.array(values, np.float64)


def road_curve(model, images, maps, class_index=None, *, order="morf",
               fractions=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), noise=0.01,
               score="probability", batch_size=64, seed=0):
    """The class score after removing a share of the pixels, ROAD's way: (N, len(fractions)).

    ROAD (Remove And Debias, Rong et al. 2022). For each fraction f, the top f of the
    pixels by the map (``order="morf"``, most relevant first) or the bottom f
    (``order="lerf"``, least relevant first) are removed and filled by
    :func:`noisy_linear_imputation`. The model then scores the class. The map is
    upsampled to the image, and f × H × W is rounded down to a whole number of pixels,
    as ROAD does. Ties are broken in a random order drawn from ``seed``
    (:func:`pixel_ranks`).

    For a good map, the MoRF curve falls fast (lower is better) and the LeRF curve stays
    high (higher is better). With this imputation, the two orders agree better on which
    map is best than with a fixed colour; that is ROAD's main result.

    Where camlib differs from ROAD's code:

    - ``fractions`` is always the share of pixels removed. ROAD's LeRF with a
      percentage p removes the least relevant 1 - p and keeps the top p. To compare
      with ROAD's LeRF at p, use ``fractions=[1 - p]``.
    - ROAD breaks ties by adding noise of size 1e-4 to the min-max scaled map, which
      also reorders values closer than about 1e-4. camlib reorders only exact ties.
    - ROAD rounds down with ``int()``. camlib adds 1e-9 first, so that a rounding error
      does not lose a pixel: 0.29 × 100 gives 29 pixels, not 28.
    - ROAD reports the accuracy and the mean probability over a data set. camlib gives
      each image's score for its class (the predicted class for ``class_index=None``).
    - If the model states its input range (:func:`camlib.graph.input_range`), the
      imputed values are clipped to it, since the noise can push a pixel just outside.
      ROAD does not clip.

    Each (image, fraction) pair has its own noise, drawn from ``seed``, the image and
    the fraction, so the result does not depend on ``batch_size``.

    Args:
        model: a Keras classifier.
        images: (N, H, W, C), as the model takes them.
        maps: one map per image (N, h, w), at any resolution.
        class_index: the class to score, one int or one per image; None for each image's
            predicted class.
        order: ``"morf"`` or ``"lerf"``.
        fractions: shares of the pixels to remove, each strictly between 0 and 1.
        noise: the standard deviation of the imputation noise, ≥ 0 (ROAD's 0.01).
        score: ``"probability"`` or ``"logit"``.
        batch_size: images per model call; also how many imputed images are kept at once.
        seed: a non-negative integer for the order of ties and for the noise.

    Returns:
        float32 (N, len(fractions)).

    Raises:
        ValueError: bad model, images, maps, class_index, order, fractions, noise, score,
            batch_size or seed.

    Example:
        >>> maps = np.random.default_rng(0).random((4, 8, 8))
        >>> road_curve(model, images, maps, fractions=[0.2, 0.5]).shape
        (4, 2)
    """
    from camlib import graph

    images, maps, batch_size = _curve_inputs(model, images, maps, score, batch_size)
    if not isinstance(order, str) or order not in _ROAD_ORDERS:
        raise ValueError(f'order must be "morf" (most relevant first) or "lerf" (least '
                         f"relevant first), got {order!r}.")
    fractions = _check_fractions(fractions)
    noise = _check_number(noise, "noise (the standard deviation of the added noise)", low=0)
    seed = _check_seed(seed)
    classes = _classes(model, images, class_index, batch_size)
    size = images.shape[1:3]
    pixels = size[0] * size[1]
    ranks = pixel_ranks(_upsampled(maps, size), seed)
    # Rounded down as ROAD's int(); the 1e-9 keeps 0.29 * 100 (28.999...) at 29.
    counts = np.minimum(np.floor(fractions * pixels + 1e-9).astype(np.int64), pixels - 1)
    value_range = graph.input_range(model)
    pairs = len(images) * len(fractions)
    values = np.empty(pairs, np.float64)
    for start in range(0, pairs, batch_size):
        index = np.arange(start, min(start + batch_size, pairs))
        image, step = np.divmod(index, len(fractions))
        variants = np.empty((len(index), *images.shape[1:]), np.float32)
        for k, (i, j) in enumerate(zip(image, step)):
            if order == "morf":
                removed = ranks[i] < counts[j]
            else:
                removed = ranks[i] >= pixels - counts[j]
            rng = np.random.default_rng([seed, int(i), int(j)])
            variants[k] = _impute(images[i], removed, noise, rng, value_range)
        values[index] = _class_scores(model, variants, classes[image], score, batch_size)
    return values.reshape(len(images), len(fractions)).astype(np.float32)


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


#: The similarity measures of :func:`sanity_check` and :func:`model_comparison`.
SIMILARITIES = ("spearman", "abs_spearman", "ssim")

# SSIM's constants and window (Wang et al. 2004), as in scikit-image and TensorFlow.
_SSIM_K1, _SSIM_K2 = 0.01, 0.03
_SSIM_WINDOW, _SSIM_SIGMA = 11, 1.5
# A control stands in for a map method, so it accepts (and ignores) their usual settings.
_CONTROL_SETTINGS = ("layer", "batch_size")


def _paired_maps(maps_a, maps_b):
    """Two batches of maps (N, h, w) of one shape, one pair per image."""
    a, b = _check_maps(maps_a, "maps_a"), _check_maps(maps_b, "maps_b")
    if a.shape != b.shape:
        raise ValueError(f"maps must pair up: shapes {a.shape} and {b.shape} differ.")
    return a, b


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def rank_correlation(maps_a, maps_b, *, absolute=False):
    """Spearman rank correlation between paired maps, one value per pair (N,).

    1 means the two maps order the pixels the same way. Tied values get their mean rank,
    as in ``scipy.stats.spearmanr``. A constant map orders nothing: its correlation with
    anything is 0 (``spearmanr`` gives NaN).

    With ``absolute=True`` it is the correlation of ``|a|`` and ``|b|``. Adebayo et al.
    (2018) report both. A map whose sign flips but whose size stays looks completely
    changed with the sign (correlation -1) and not changed at all without it (1). For a
    map of one channel, the two numbers are theirs: their ``diverging_norm`` and
    ``abs_grayscale_norm`` only divide by the largest absolute value, which changes no
    rank. Their maps of three channels were summed over the channels first (of the
    absolute values, for the second number) and clipped at the 99th percentile, so the
    top 1 % of the pixels tie. camlib's maps have one channel and are not clipped.

    Args:
        maps_a: maps (N, h, w).
        maps_b: maps of the same shape, paired with ``maps_a``.
        absolute: correlate the absolute values.

    Returns:
        float64 (N,), each value in [-1, 1].

    Raises:
        ValueError: bad maps, shapes that differ, or an ``absolute`` that is not a bool.

    Example:
        >>> a = np.arange(9.0).reshape(1, 3, 3)
        >>> rank_correlation(a, a ** 2).tolist(), rank_correlation(a, -a).tolist()
        ([1.0], [-1.0])
        >>> rank_correlation(a, -a, absolute=True).tolist()
        [1.0]
    """
    absolute = _check_flag(absolute, "absolute")
    a, b = _paired_maps(maps_a, maps_b)
    if absolute:
        a, b = np.abs(a), np.abs(b)
    a = stats.rankdata(a.reshape(len(a), -1), axis=1)
    b = stats.rankdata(b.reshape(len(b), -1), axis=1)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    return np.where(norm > 0, (a * b).sum(axis=1) / np.where(norm > 0, norm, 1), 0.0)


def _min_max(maps):
    """Each map scaled to [0, 1] by its own minimum and maximum; a flat map becomes 0."""
    maps = maps.astype(np.float64)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1.0), 0.0)


def _check_window(window):
    if (isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 3
            or window % 2 == 0):
        raise ValueError(f"window must be an odd whole number of pixels, at least 3 (SSIM's "
                         f"usual window is {_SSIM_WINDOW}), got {window!r}.")
    return int(window)


def _window_means(maps, kernel):
    """Gaussian-weighted means over every window that lies inside the map (N, h', w')."""
    from numpy.lib.stride_tricks import sliding_window_view

    rows = sliding_window_view(maps, len(kernel), axis=1) @ kernel
    return sliding_window_view(rows, len(kernel), axis=2) @ kernel


def ssim(maps_a, maps_b, *, image_size=None, window=_SSIM_WINDOW, sigma=_SSIM_SIGMA,
         data_range=2.0, sample_covariance=True):
    """Structural similarity (SSIM; Wang et al. 2004) of paired maps, one value per pair (N,).

    Adebayo et al. (2018) compare maps this way. Each map is first scaled to [0, 1] by its
    own minimum and maximum, as their ``normalize_image`` does: the sign is kept, and
    scaling or shifting a map changes nothing. Then SSIM is computed in every
    ``window`` × ``window`` window that lies inside the map, with Gaussian weights of
    width ``sigma``, and the mean over the windows is returned. 1 means the same map.

    The defaults are their call, ``compare_ssim(a, b, gaussian_weights=True,
    multichannel=True)`` in scikit-image 0.15: an 11 × 11 window with sigma 1.5, the
    sample covariance (sums divided by 120, not 121) and ``data_range=2``. scikit-image
    0.15 took the range of every float image to be -1 to 1, so it used 2. The scaled maps
    span 0 to 1, so Wang et al.'s SSIM uses ``data_range=1`` and
    ``sample_covariance=False``; this is what ``tf.image.ssim(a, b, max_val=1)``
    computes. A larger ``data_range`` makes SSIM's two constants larger, which raises
    the SSIM of maps with little contrast.

    Where camlib differs from their code:

    - **Flat maps.** A flat map (maximum = minimum) has no scale; their code divides by
      zero and gets NaN. camlib scales it to zeros. So two flat maps have SSIM 1 (they
      are the same map), and a flat map and a map with structure have a small SSIM near
      0. It is never NaN.
    - **Channels.** Their maps had three channels, scaled together; SSIM was computed per
      channel and averaged. camlib's maps have one channel.
    - **Small maps.** SSIM needs at least one whole window inside the map, so a map
      smaller than ``window`` is refused. Pass ``image_size`` to resize the maps
      bilinearly first (:func:`camlib.maps.upsample`; their maps were at the image
      size), or a smaller odd ``window``. scikit-image sets the window from sigma, as
      ``2 * int(3.5 * sigma + 0.5) + 1`` pixels; camlib takes both, as
      ``tf.image.ssim`` does. They agree when the window is that size.

    Args:
        maps_a: maps (N, h, w).
        maps_b: maps of the same shape, paired with ``maps_a``.
        image_size: ``(H, W)`` or one int: resize both maps to this size first. None
            keeps the maps as they are.
        window: the window's side in pixels, odd and at least 3.
        sigma: the width of the Gaussian weights, in pixels (> 0).
        data_range: the range L of the values in SSIM's constants (0.01 L)² and
            (0.03 L)², between 0.001 and 1000.
        sample_covariance: divide the window's sums by (n - 1) rather than n, where
            n = window², as scikit-image does by default.

    Returns:
        float64 (N,), each value in [-1, 1].

    Raises:
        ValueError: bad maps, shapes that differ, a window larger than the maps, or a bad
            ``image_size``, ``window``, ``sigma``, ``data_range`` or
            ``sample_covariance``.

    Example:
        >>> a = np.random.default_rng(0).random((2, 16, 16))
        >>> np.round(ssim(a, 3 * a + 1), 6).tolist()
        [1.0, 1.0]
        >>> bool(ssim(a, a[:, ::-1]).max() < 0.5)
        True
    """
    a, b = _paired_maps(maps_a, maps_b)
    window = _check_window(window)
    sigma = _check_number(sigma, "sigma (the width of the window's weights, in pixels)",
                          low=0, low_open=True)
    data_range = _check_number(data_range, "data_range", low=0, low_open=True)
    if not 1e-3 <= data_range <= 1e3:
        raise ValueError(f"data_range must be between 0.001 and 1000, got {data_range!r}. "
                         "The scaled maps span 0 to 1: pass 1 (Wang et al.) or 2 "
                         "(scikit-image 0.15).")
    sample_covariance = _check_flag(sample_covariance, "sample_covariance")
    c1, c2 = (_SSIM_K1 * data_range) ** 2, (_SSIM_K2 * data_range) ** 2
    if image_size is not None:
        size = localize.check_image_size(image_size)
        a, b = _upsampled(a, size), _upsampled(b, size)
    height, width = a.shape[1:]
    if min(height, width) < window:
        smaller = min(height, width) - (min(height, width) + 1) % 2
        hint = f", or a smaller odd window, such as window={smaller}" if smaller >= 3 else ""
        raise ValueError(f"SSIM's {window} × {window} window does not fit maps of {height} × "
                         f"{width} pixels. Pass image_size=(H, W) to upsample the maps "
                         f"first (for example the image size){hint}.")
    a, b = _min_max(a), _min_max(b)
    offsets = np.arange(window) - window // 2
    kernel = np.exp(-0.5 * offsets**2 / sigma**2)
    kernel /= kernel.sum()
    scale = window**2 / (window**2 - 1) if sample_covariance else 1.0
    mean_a, mean_b = _window_means(a, kernel), _window_means(b, kernel)
    # Not clipped at 0, so that a map and itself give exactly 1. Rounding errors (about
    # 1e-16) are far smaller than c2 (at least 9e-10), so no denominator reaches 0.
    var_a = scale * (_window_means(a * a, kernel) - mean_a**2)
    var_b = scale * (_window_means(b * b, kernel) - mean_b**2)
    cov = scale * (_window_means(a * b, kernel) - mean_a * mean_b)
    similarity = ((2 * mean_a * mean_b + c1) * (2 * cov + c2)
                  / ((mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)))
    return np.clip(similarity, -1.0, 1.0).mean(axis=(1, 2))


def _check_measure(measure, size):
    """``measure`` as one of :data:`SIMILARITIES`; "ssim" needs images of the window's size."""
    if not isinstance(measure, str) or measure not in SIMILARITIES:
        raise ValueError(f'measure must be one of {SIMILARITIES} ("spearman": the rank '
                         'correlation, "abs_spearman": that of the absolute values, "ssim": '
                         f"the structural similarity), got {measure!r}.")
    if measure == "ssim" and min(size) < _SSIM_WINDOW:
        raise ValueError(f'measure="ssim" compares the maps at the image size, {size[0]} × '
                         f"{size[1]} pixels, which SSIM's {_SSIM_WINDOW} × {_SSIM_WINDOW} "
                         'window does not fit. Use measure="spearman", or call ssim(maps_a, '
                         "maps_b, window=...) on the maps with a smaller window.")
    return measure


def _similarity(measure, maps_a, maps_b, size):
    """The chosen similarity of paired maps (N,); SSIM is taken at the image ``size``."""
    if measure == "ssim":
        return ssim(maps_a, maps_b, image_size=size)
    return rank_correlation(maps_a, maps_b, absolute=measure == "abs_spearman")


def _method_maps(method, model, images, class_index, kwargs):
    """``method``'s maps (N, h, w) of ``images``, one per image."""
    maps = _check_maps(method(model, images, class_index, **kwargs))
    if len(maps) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(maps)} maps.")
    return maps


def sanity_check(method, model, images, class_index=None, *, layers=1, seed=0, maps=None,
                 measure="spearman", **kwargs):
    """How much do the maps change when the top of the model is randomised? An array (N,).

    This is the model randomisation test of Adebayo et al. (2018). It computes
    ``method(model, images, classes, **kwargs)`` (or takes ``maps``, if they are already
    at hand) and the same for :func:`randomize_top` ``(model, layers, seed)``, explaining
    the **same** classes (by default the original model's predictions). It returns their
    similarity per image. A map that explains the model should change: a value near 1
    fails the check, one near 0 passes it. With a sequence of ``layers`` (a cascade) the
    result is (len(layers), N).

    ``measure`` chooses the similarity, one of :data:`SIMILARITIES`:

    - ``"spearman"`` (the default): :func:`rank_correlation` of the maps.
    - ``"abs_spearman"``: :func:`rank_correlation` of their absolute values.
    - ``"ssim"``: :func:`ssim` with its defaults (Adebayo et al.'s settings), after the
      maps are resized to the image size, since their maps were at the image size. The
      images must be at least 11 × 11 pixels.

    Adebayo et al. report these three, and also the rank correlation of HOG features of
    the maps; camlib has no HOG measure. Their randomisation runs each layer's own
    initialiser again; :func:`randomize_top` draws He-normal kernels and zero biases.

    Passing does not prove that a map explains the model. :func:`random_control` passes
    although it ignores the model, and :func:`edge_control` shows what failing looks
    like: its value is exactly 1.

    Args:
        method: a map method, called as ``method(model, images, class_index, **kwargs)``.
        model: a Keras classifier.
        images: (N, H, W, C), as the model takes them.
        class_index: the class to explain, one int or one per image; None for each
            image's predicted class.
        layers: how many weighted layers to randomise, counted from the output; or a list
            of such numbers for a cascade.
        seed: the seed of :func:`randomize_top`.
        maps: the maps of ``model``, if they are already at hand.
        measure: ``"spearman"``, ``"abs_spearman"`` or ``"ssim"``.
        **kwargs: settings of ``method``, such as ``layer``.

    Returns:
        float64 (N,), or (len(layers), N) for a cascade.

    Raises:
        ValueError: bad model, images, method, layers, seed, maps or measure, or images
            too small for ``measure="ssim"``.

    Example:
        >>> sanity_check(edge_control, model, images, layers=[1, 2], measure="ssim")
        array([[1., 1., 1., 1.],
               [1., 1., 1., 1.]])
        >>> sanity_check(grad_cam, model, x).mean()               # doctest: +SKIP
        0.05
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
    size = tuple(images.shape[1:3])
    measure = _check_measure(measure, size)
    if class_index is None:
        class_index = predicted_classes(model, images)
    if maps is None:
        before = _method_maps(method, model, images, class_index, kwargs)
    else:
        before = _check_maps(maps)
        if len(before) != len(images):
            raise ValueError(f"Got {len(images)} images but {len(before)} maps.")
    similarities = [
        _similarity(measure, before,
                    method(randomize_top(model, n, seed), images, class_index, **kwargs), size)
        for n in (layers if cascade else [layers])
    ]
    return np.stack(similarities) if cascade else similarities[0]


def model_comparison(method, model_a, model_b, images, class_index, *, measure="spearman",
                     **kwargs):
    """How similar are the maps of two models for the same images and classes? (N,).

    This is the data randomisation test of Adebayo et al. (2018). ``model_a`` is trained
    on the true labels, and ``model_b`` is the same recipe trained on permuted labels:
    it can only memorise them. A map that depends on what the model learned from the
    data should differ between the two: a value near 1 fails the test, one near 0
    passes it. Both models explain the **same** class per image; pass the true labels.

    ``measure`` is one of :data:`SIMILARITIES`, as in :func:`sanity_check`; ``"ssim"``
    compares the maps at the image size. A model compared with itself gives 1 for every
    image whose map is not flat.

    Args:
        method: a map method, called as ``method(model, images, class_index, **kwargs)``.
        model_a: a Keras classifier, for example trained on the true labels.
        model_b: a classifier with the same input shape and number of classes, for
            example trained on permuted labels.
        images: (N, H, W, C), as both models take them.
        class_index: the class to explain, one int or one per image; None for each
            image's class as predicted by ``model_a``.
        measure: ``"spearman"``, ``"abs_spearman"`` or ``"ssim"``.
        **kwargs: settings of ``method``, such as ``layer``; the same for both models.

    Returns:
        float64 (N,).

    Raises:
        ValueError: bad models, images, method, class_index or measure; models whose
            input shapes or numbers of classes differ; or images too small for
            ``measure="ssim"``.

    Example:
        >>> from camlib import cam
        >>> model_comparison(cam.grad_cam, model, model, images, labels, measure="ssim").tolist()
        [1.0, 1.0, 1.0, 1.0]
        >>> model_comparison(grad_cam, true_net, permuted_net, x, y)  # doctest: +SKIP
    """
    from camlib import graph

    graph.check_model(model_a)
    graph.check_model(model_b)
    shape_a, shape_b = tuple(model_a.inputs[0].shape)[1:], tuple(model_b.inputs[0].shape)[1:]
    if shape_a != shape_b:
        raise ValueError(f"model_a takes images of shape {shape_a} but model_b takes "
                         f"{shape_b}; compare two models of one recipe, such as one trained "
                         "on true labels and one on permuted labels.")
    classes_a, classes_b = graph.n_classes(model_a), graph.n_classes(model_b)
    if classes_a != classes_b:
        raise ValueError(f"model_a has {classes_a} classes but model_b has {classes_b}; a "
                         "class index must mean the same output in both models.")
    images = graph.check_images(model_a, images)
    graph.check_images(model_b, images)
    if not callable(method):
        raise ValueError(f"method must be a map method such as cam.grad_cam, got {method!r}.")
    size = tuple(images.shape[1:3])
    measure = _check_measure(measure, size)
    if class_index is None:
        class_index = predicted_classes(model_a, images)
    class_index = graph.check_classes(model_a, class_index, len(images))
    maps_a = _method_maps(method, model_a, images, class_index, kwargs)
    maps_b = _method_maps(method, model_b, images, class_index, kwargs)
    return _similarity(measure, maps_a, maps_b, size)


# Controls: maps that ignore the model by design.


def _check_control_settings(name, settings):
    unknown = sorted(set(settings) - set(_CONTROL_SETTINGS))
    if unknown:
        raise ValueError(f"{name} does not take {unknown}. It accepts layer= and "
                         "batch_size= only so that it can stand in for a map method, and "
                         "ignores them.")


def _grey(images):
    """Images (N, H, W, C) in grey (N, H, W), with :func:`camlib.filters.to_gray`."""
    from camlib import filters

    channels = images.shape[-1]
    if channels == 1:
        return images[..., 0]
    if channels in (3, 4):
        return np.stack([filters.to_gray(image) for image in images])
    return images.mean(axis=-1)


def edge_control(model, images, class_index=None, **kwargs):
    """An edge detector as a map: the Sobel gradient magnitude of each image in grey.

    Adebayo et al. (2018) compare saliency maps with an edge detector, which needs
    neither a model nor training data. This control has the signature of a map method,
    so :func:`sanity_check`, :func:`model_comparison` and :func:`evaluate` accept it. It
    ignores ``model`` and ``class_index`` by design. So it must **fail** every
    randomisation test: its maps are the same for every model, and the similarity is
    exactly 1 (for a flat image the map is flat, and the rank correlation is 0 by its
    convention). A method that scores close to it is an edge detector, too.

    The grey image is :func:`camlib.filters.to_gray` (BT.709 weights) for 3 channels (4
    with alpha), the channel itself for 1, and the mean of the channels otherwise. The
    map is ``sqrt(gx² + gy²)`` of :func:`camlib.filters.sobel`, with 'reflect' borders,
    at the image size.

    Args:
        model: any model, or None; not used.
        images: (N, H, W, C).
        class_index: not used.
        **kwargs: ``layer`` and ``batch_size`` are accepted and ignored, so that the
            control can replace a map method in a loop; any other name is refused.

    Returns:
        float32 (N, H, W), at least 0.

    Raises:
        ValueError: bad images, or another keyword than ``layer`` or ``batch_size``.

    Example:
        >>> step = np.zeros((1, 5, 6, 1)); step[..., 3:, :] = 1.0
        >>> edge_control(None, step)[0, 2].tolist()
        [0.0, 0.0, 4.0, 4.0, 0.0, 0.0]
    """
    from camlib import filters

    _check_control_settings("edge_control", kwargs)
    grey = _grey(_check_images(images))
    edges = [filters.gradient_magnitude(*filters.sobel(image)) for image in grey]
    return np.stack(edges).astype(np.float32)


def _check_rng(rng):
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral) or rng < 0:
        raise ValueError("rng must be None (new maps on every call), a non-negative integer "
                         "(the same maps on every call) or a numpy Generator such as "
                         f"np.random.default_rng(0) (new maps on every call, and the same "
                         f"run each time), got {rng!r}.")
    return np.random.default_rng(int(rng))


def random_control(model, images, class_index=None, *, size=None, rng=None, **kwargs):
    """A random map per image, uniform in [0, 1): a map that ignores the model.

    Binder et al. (2023) point out that such a map can pass a randomisation test. This
    control has the signature of a map method, so :func:`sanity_check`,
    :func:`model_comparison` and :func:`evaluate` accept it. It ignores ``model`` and
    ``class_index`` by design. What it scores depends only on when its maps are drawn:

    - ``rng=None`` (the default) or a numpy Generator: new maps on **every call**. The
      maps before and after a randomisation are unrelated, so the control **passes**
      (correlation near 0), even for a model compared with itself. This is Binder et
      al.'s point, and why it is the default. With None each run differs; pass
      ``rng=np.random.default_rng(0)`` to get the same run every time (each call still
      draws new maps from the Generator).
    - an int: the **same** maps on every call, for any model. The control then
      **fails** (correlation 1), like :func:`edge_control`: a map that is the same for
      every model cannot explain any of them.

    So a randomisation test measures only whether a map changes with the model. It
    cannot tell a map that follows the model from noise.

    Args:
        model: any model, or None; not used.
        images: (N, H, W, C); only their number and size are used.
        class_index: not used.
        size: ``(h, w)`` or one int, the size of the maps; None for the image size.
        rng: None, a non-negative integer, or a ``numpy.random.Generator``; see above.
            (It is not named ``seed``, since :func:`sanity_check` takes ``seed`` for
            :func:`randomize_top`.)
        **kwargs: ``layer`` and ``batch_size`` are accepted and ignored, so that the
            control can replace a map method in a loop; any other name is refused.

    Returns:
        float32 (N, h, w).

    Raises:
        ValueError: bad images, size or rng, or another keyword than ``layer`` or
            ``batch_size``.

    Example:
        >>> x = np.zeros((2, 8, 8, 3))
        >>> random_control(None, x, size=4).shape
        (2, 4, 4)
        >>> bool((random_control(None, x, rng=0) == random_control(None, x, rng=0)).all())
        True
        >>> draws = np.random.default_rng(0)
        >>> first, second = (random_control(None, x, rng=draws) for _ in range(2))
        >>> bool((first == second).any())
        False
    """
    _check_control_settings("random_control", kwargs)
    images = _check_images(images)
    size = tuple(images.shape[1:3]) if size is None else localize.check_image_size(size, "size")
    return _check_rng(rng).random((len(images), *size), dtype=np.float32)


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
