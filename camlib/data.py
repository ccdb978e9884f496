"""Data that camlib makes itself, so that nothing is downloaded at run time.

- :func:`sample_image`: the photographs bundled inside scikit-image (chapters 1 and 2).
- :func:`character`: a character rendered to a binary image (chapter 1's hand-made features).
- :func:`shapes`: simple shapes on a textured background, with exact boxes (chapters 4, 5, 7).
- :func:`several_shapes`: several of those shapes per image, apart from each other, with
  one box per object (GAP against GMP heads, Grad-CAM++ against Grad-CAM).
- :func:`lane_scenes`: synthetic rear-side camera views for a lane-change decision
  (chapter 6), drawn by :func:`draw_lane_scenes`, which also draws the edited scenes of
  :mod:`camlib.counterfactual`; :func:`lane_regions`, :func:`solid_line_mask` and
  :func:`cue_box` give their fixed geometry.
- :func:`boxes_of_masks`: the tight box of each mask.

Boxes are ``(x0, y0, x1, y1)`` pixel indices with x1 and y1 exclusive, as in
:mod:`camlib.localize`; an image without an object has :data:`camlib.localize.NO_BOX`,
``(0, 0, 0, 0)``, and ``localize.has_box(boxes)`` tells which images have one.
"""

from __future__ import annotations

import numbers

import numpy as np

from camlib.localize import NO_BOX

__all__ = [
    "SAMPLE_IMAGES",
    "SHAPE_CLASSES",
    "LANE_CLASSES",
    "NEAR_DEPTH",
    "FAR_DEPTH",
    "CUE_BOX",
    "sample_image",
    "character",
    "shapes",
    "several_shapes",
    "boxes_of_masks",
    "cue_box",
    "lane_regions",
    "solid_line_mask",
    "draw_lane_scenes",
    "lane_scenes",
]

SAMPLE_IMAGES = ("camera", "astronaut", "coffee", "chelsea", "rocket", "cat", "brick", "grass")


def _whole(value):
    """Whether ``value`` is a whole number (a Python or numpy integer, not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_seed(seed):
    if not _whole(seed) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer, such as 0")
    return int(seed)


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} must be True or False")
    return bool(value)


def sample_image(name: str, *, gray: bool = False) -> np.ndarray:
    """Return one of scikit-image's bundled photos as a float32 array in [0, 1].

    Colour photos come back H×W×3 and grayscale photos H×W; ``gray=True`` converts a colour
    photo to luminance with :func:`camlib.filters.to_gray`.

    Example:
        >>> img = sample_image("camera")
        >>> img.shape, img.dtype
        ((512, 512), dtype('float32'))
    """
    from skimage import data as skdata

    if not isinstance(name, str) or name not in SAMPLE_IMAGES:
        raise ValueError(
            f"unknown sample image {name!r}; choose one of {', '.join(SAMPLE_IMAGES)}"
        )
    gray = _check_flag(gray, "gray")
    image = np.asarray(getattr(skdata, name)())
    if image.ndim == 3 and image.shape[-1] == 4:
        image = image[..., :3]
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    else:
        image = image.astype(np.float32)
    if gray and image.ndim == 3:
        from camlib.filters import to_gray

        image = to_gray(image)
    return image


#: Font weights that :func:`character` accepts (matplotlib's names).
FONT_WEIGHTS = ("ultralight", "light", "normal", "regular", "book", "medium", "roman",
                "semibold", "demibold", "demi", "bold", "heavy", "extra bold", "black")


def character(char: str, size: int = 64, *, weight: str = "bold") -> np.ndarray:
    """Render one character, centred, as a ``size``×``size`` boolean image.

    The glyph comes from DejaVu Sans, the font that ships inside matplotlib, so the result
    is the same on every machine and needs no download.

    Example:
        >>> glyph = character("B")
        >>> glyph.shape, glyph.dtype
        ((64, 64), dtype('bool'))
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(char, str) or len(char) != 1:
        raise ValueError(f"character() draws exactly one character, got {char!r}")
    if not _whole(size) or size < 16:
        raise ValueError(f"size={size!r} must be a whole number of pixels, at least 16, so "
                         "that the glyph is legible; use 64")
    if weight not in FONT_WEIGHTS:
        raise ValueError(f"weight={weight!r} must be one of {', '.join(FONT_WEIGHTS)}")
    dpi = 100
    fig = Figure(figsize=(size / dpi, size / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    fig.text(
        0.5, 0.5, char, ha="center", va="center", fontsize=0.8 * size * 72 / dpi,
        family="DejaVu Sans", weight=weight, color="black",
    )
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return rgba[..., 0] < 128


# ----------------------------------------------------------------------------------------
# Procedural datasets with exact ground truth
# ----------------------------------------------------------------------------------------

SHAPE_CLASSES = ("circle", "square", "triangle", "cross")
LANE_CLASSES = ("BLOCKED", "FREE", "UNDEFINED")


def _check_n_size(n, size, min_size):
    if not _whole(n) or n <= 0:
        raise ValueError(f"n={n!r} must be a positive integer: the number of images to make")
    if not _whole(size) or size < min_size:
        raise ValueError(
            f"size={size!r} must be an integer of at least {min_size} pixels; "
            f"smaller images cannot hold a recognisable object (use size=64)"
        )


def _grid(size):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    return yy[None], xx[None]


def _col(values):
    """Reshape a length-N vector so that it broadcasts over N×H×W."""
    return np.asarray(values, dtype=np.float32)[:, None, None]


def boxes_of_masks(masks):
    """The tight box of each mask: an int64 array (N, 4) of ``(x0, y0, x1, y1)``.

    x1 and y1 are exclusive, so ``masks[i, y0:y1, x0:x1]`` holds all of mask ``i``. An
    empty mask has no box: :data:`camlib.localize.NO_BOX`.

    Example:
        >>> masks = np.zeros((2, 6, 6), bool); masks[0, 1:3, 2:5] = True
        >>> boxes_of_masks(masks).tolist()
        [[2, 1, 5, 3], [0, 0, 0, 0]]
    """
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.dtype != bool:
        raise ValueError(f"masks must be a boolean array (N, H, W), got {masks.dtype} with "
                         f"shape {masks.shape}; pass image > 0.5 for a grey mask")
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    height, width = masks.shape[1:]
    boxes = np.stack(
        [
            cols.argmax(1),
            rows.argmax(1),
            width - cols[:, ::-1].argmax(1),
            height - rows[:, ::-1].argmax(1),
        ],
        axis=1,
    ).astype(np.int64)
    boxes[~rows.any(1)] = NO_BOX
    return boxes


def _texture(rng, n, size, contrast):
    """Low-frequency gratings plus pixel noise: a background with structure, not a flat fill."""
    coords = np.arange(size, dtype=np.float32)
    texture = np.zeros((n, size, size), np.float32)
    for _ in range(2):
        angle = rng.uniform(0, np.pi, n)
        freq = rng.uniform(0.15, 0.6, n)
        phase = rng.uniform(0, 2 * np.pi, n)
        # sin(a·x + b·y + c), split into outer products of 1-D waves: much faster on big N.
        ax = (freq * np.cos(angle)).astype(np.float32)[:, None, None] * coords[None, None, :]
        by = ((freq * np.sin(angle))[:, None] * coords[None, :] + phase[:, None])[:, :, None]
        texture += (np.sin(ax) * np.cos(by, dtype=np.float32)
                    + np.cos(ax) * np.sin(by, dtype=np.float32))
    texture *= _col(contrast) / 2
    noise = rng.standard_normal((n, size, size, 3), dtype=np.float32)
    noise *= 0.04
    noise += texture[..., None]
    return noise


def _paint(images, mask, colour):
    """Paint ``colour`` (N×3) into ``images`` wherever ``mask`` (N×H×W) is true, in place."""
    np.copyto(images, np.asarray(colour, np.float32)[:, None, None, :], where=mask[..., None])


def _segments(rng, n, size, count, width):
    """Masks of ``count`` random straight segments per image."""
    yy, xx = _grid(size)
    mask = np.zeros((n, size, size), bool)
    for _ in range(count):
        x0, y0, x1, y1 = (rng.uniform(0, size, n) for _ in range(4))
        dx, dy = x1 - x0, y1 - y0
        t = ((xx - _col(x0)) * _col(dx) + (yy - _col(y0)) * _col(dy)) / _col(dx**2 + dy**2 + 1e-6)
        t = np.clip(t, 0, 1)
        dist2 = (xx - _col(x0) - t * _col(dx)) ** 2 + (yy - _col(y0) - t * _col(dy)) ** 2
        mask |= dist2 <= (width / 2) ** 2
    return mask


def _dots(rng, n, size, count, radius):
    yy, xx = _grid(size)
    mask = np.zeros((n, size, size), bool)
    for _ in range(count):
        cx, cy = rng.uniform(0, size, n), rng.uniform(0, size, n)
        r = rng.uniform(*radius, n)
        mask |= (xx - _col(cx)) ** 2 + (yy - _col(cy)) ** 2 <= _col(r) ** 2
    return mask


def _shape_masks(labels, cx, cy, r, size):
    """Masks of each image's object; the geometry of every class in one vectorised pass."""
    yy, xx = _grid(size)
    dx, dy, r = xx - _col(cx), yy - _col(cy), _col(r)
    ax, ay = np.abs(dx), np.abs(dy)
    arm = r / 3
    by_class = {
        "circle": dx**2 + dy**2 <= r**2,
        "square": (ax <= 0.85 * r) & (ay <= 0.85 * r),
        "triangle": (dy <= 0.8 * r) & (ax <= (dy + 1.1 * r) * 0.55),
        "cross": ((ax <= r) & (ay <= arm)) | ((ax <= arm) & (ay <= r)),
    }
    stacked = np.stack([by_class[name] for name in SHAPE_CLASSES])
    return stacked[labels, np.arange(len(labels))]


def _check_scale(scale, size):
    """``scale`` as two floats ``(low, high)`` whose object fits inside the image."""
    try:
        low, high = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale={scale!r} must be two numbers (low, high), fractions of the "
                         "image size, e.g. (0.14, 0.26)") from None
    # The centre is drawn from [radius + 1, size - 2 - radius]: that range must not be empty.
    largest = (size - 3) / (2 * size)
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low <= high < largest):
        raise ValueError(f"scale={scale!r} must satisfy 0 < low <= high < {largest:.3f} so "
                         f"that the object fits inside a {size}-pixel image; e.g. (0.14, 0.26)")
    return low, high


def shapes(n, *, seed=0, size=64, clutter=True, scale=(0.14, 0.26), return_masks=False):
    """Images of one simple shape each, on a textured background, with exact boxes.

    Each image holds a single object of class ``SHAPE_CLASSES[label]`` at a random
    position, scale and colour. The background is a random grating plus pixel noise and,
    with ``clutter=True``, a few thin lines and small dots that belong to no class, so that
    "where did the model look?" has a wrong answer too. The object is drawn last and is
    never hidden.

    Args:
        n: number of images.
        seed: a non-negative integer; the same seed gives identical arrays.
        size: image height and width in pixels (at least 32).
        clutter: draw distractor lines and dots.
        scale: range ``(low, high)`` of the object's radius (half its extent) as a fraction
            of ``size``; the object must fit, so ``high`` is below about one half.
        return_masks: also return the N×H×W boolean mask of each object.

    Returns:
        ``(images, labels, boxes)``, and ``masks`` with ``return_masks=True``: images
        float32 N×size×size×3 in [0, 1]; labels int64 (N,), an index into
        ``SHAPE_CLASSES``; boxes int64 N×4, ``(x0, y0, x1, y1)`` with x1 and y1 exclusive,
        the tight box of the object's mask (:func:`boxes_of_masks`); masks bool
        N×size×size.

    Raises:
        ValueError: ``n``, ``seed`` or ``size`` not a whole number in range, a ``scale``
            whose object would not fit, or flags that are not True or False.

    Example:
        >>> images, labels, boxes = shapes(8, seed=1)
        >>> images.shape, images.dtype, labels.shape, boxes.shape
        ((8, 64, 64, 3), dtype('float32'), (8,), (8, 4))
        >>> SHAPE_CLASSES[labels[0]] in SHAPE_CLASSES
        True
    """
    _check_n_size(n, size, 32)
    rng = np.random.default_rng(_check_seed(seed))
    scale = _check_scale(scale, size)
    clutter = _check_flag(clutter, "clutter")
    return_masks = _check_flag(return_masks, "return_masks")
    labels = rng.integers(0, len(SHAPE_CLASSES), n)

    background = rng.uniform(0.2, 0.8, (n, 1, 1, 1)).astype(np.float32)
    tint = rng.uniform(-0.12, 0.12, (n, 1, 1, 3)).astype(np.float32)
    images = _texture(rng, n, size, rng.uniform(0.1, 0.3, n))
    images += background + tint

    def contrasting_colours():
        # Lighter or darker than the background by a clear margin, in any hue.
        sign = np.where(background[:, 0, 0, 0] < 0.5, 1.0, -1.0)
        sign = np.where(rng.random(n) < 0.2, -sign, sign)
        level = background[:, 0, 0, 0] + sign * rng.uniform(0.3, 0.5, n)
        hue = rng.uniform(-0.2, 0.2, (n, 3))
        return np.clip(level[:, None] + hue, 0, 1)

    if clutter:
        _paint(images, _segments(rng, n, size, count=2, width=1.2), contrasting_colours())
        _paint(images, _dots(rng, n, size, count=4, radius=(0.8, 1.8)), contrasting_colours())

    radius = rng.uniform(*scale, n) * size
    margin = radius + 1
    cx = rng.uniform(margin, size - 1 - margin)
    cy = rng.uniform(margin, size - 1 - margin)
    masks = _shape_masks(labels, cx, cy, radius, size)
    colour = contrasting_colours()
    shading = 1 + 0.04 * rng.standard_normal((n, size, size, 1), dtype=np.float32)
    np.copyto(images, colour[:, None, None, :].astype(np.float32) * shading,
              where=masks[..., None])

    images = np.clip(images, 0, 1, out=images).astype(np.float32, copy=False)
    boxes = boxes_of_masks(masks)
    labels = labels.astype(np.int64)
    return (images, labels, boxes, masks) if return_masks else (images, labels, boxes)


# ----------------------------------------------------------------------------------------
# Several objects per image, for the GAP and GMP heads and for Grad-CAM++
# ----------------------------------------------------------------------------------------

#: How many positions :func:`several_shapes` tries for one object before it redraws the
#: whole image, and how many times it redraws an image before it gives up.
_PLACEMENT_TRIES = 30
_PLACEMENT_ROUNDS = 10


def _check_count(count, same_class):
    """``count`` as an inclusive range ``(low, high)`` of objects per image."""
    pair = (count, count) if _whole(count) else count
    try:
        low, high = pair
    except (TypeError, ValueError):
        low = high = None
    if not (_whole(low) and _whole(high) and 1 <= low <= high):
        raise ValueError(f"count={count!r} must be a whole number of objects per image (at "
                         "least 1) or an inclusive range (low, high) with 1 <= low <= high, "
                         "such as (2, 3)")
    if not same_class and high > len(SHAPE_CLASSES):
        raise ValueError(f"count={count!r} asks for up to {high} objects of different "
                         f"classes, but there are only {len(SHAPE_CLASSES)} classes; use a "
                         f"count of at most {len(SHAPE_CLASSES)}, or same_class=True")
    return int(low), int(high)


def _check_room(high, scale, size, gap):
    """Refuse a setting in which ``high`` of the smallest objects cannot fit in the image."""
    if not _whole(gap) or gap < 0:
        raise ValueError(f"gap={gap!r} must be a whole number of pixels, at least 0, such "
                         "as 2")
    smallest = scale[0] * size
    if smallest < 2:
        raise ValueError(f"scale={scale!r} gives objects with a radius of {smallest:.1f} "
                         f"pixels in a {size}-pixel image; the radius must be at least 2 "
                         f"pixels, so raise low to {2 / size:.3f} or more")
    # Every object reaches at least 0.85 radii from its centre (a square does, the others
    # reach further). So the centres of two objects whose boxes keep the gap are more than
    # 1.7 * radius + gap - 1 pixels apart, across or down. The centres lie in a square of
    # size - 3 - 2 * radius pixels, which holds at most (room // spacing + 1) ** 2 of them.
    spacing = 1.7 * smallest + gap - 1
    room = size - 3 - 2 * smallest
    most = int(room // spacing + 1) ** 2
    if high > most:
        raise ValueError(f"{high} objects with scale={scale!r} and gap={gap} cannot fit "
                         f"side by side in a {size}-pixel image: at most {most} can. Use "
                         "fewer objects (count), smaller objects (scale), a smaller gap or "
                         "a larger size")


def _apart(box, others, gap):
    """For each box (M, 4): is it at least ``gap`` pixels away from all its others (M, K, 4)?"""
    box = box[:, None, :]
    apart = ((box[..., 2] + gap <= others[..., 0]) | (others[..., 2] + gap <= box[..., 0])
             | (box[..., 3] + gap <= others[..., 1]) | (others[..., 3] + gap <= box[..., 1]))
    return apart.all(axis=1)


def _place_several(rng, classes, present, scale, size, gap):
    """Masks (N, K, size, size) of objects whose boxes keep ``gap`` pixels between them.

    Slot ``j`` of image ``i`` holds an object when ``present[i, j]``; the present slots
    come first. Each image draws its radii, then places its objects from the largest to
    the smallest at random positions, retrying a position that comes too close to an
    object already placed. An image whose objects do not fit is drawn again, radii
    included.
    """
    n, k = classes.shape
    masks = np.zeros((n, k, size, size), bool)
    todo = np.arange(n)
    for _ in range(_PLACEMENT_ROUNDS):
        m = len(todo)
        radius = np.where(present[todo], rng.uniform(*scale, (m, k)) * size, 0.0)
        radius = -np.sort(-radius, axis=1)  # the largest first; empty slots last
        drawn = np.zeros((m, k, size, size), bool)
        boxes = np.zeros((m, k, 4), np.int64)
        failed = np.zeros(m, bool)
        for j in range(k):
            pending = np.flatnonzero(present[todo, j] & ~failed)
            for _ in range(_PLACEMENT_TRIES):
                if not len(pending):
                    break
                r = radius[pending, j]
                centre_x = rng.uniform(r + 1, size - 2 - r)
                centre_y = rng.uniform(r + 1, size - 2 - r)
                candidate = _shape_masks(classes[todo[pending], j], centre_x, centre_y, r, size)
                candidate_boxes = boxes_of_masks(candidate)
                fits = _apart(candidate_boxes, boxes[pending, :j], gap)
                drawn[pending[fits], j] = candidate[fits]
                boxes[pending[fits], j] = candidate_boxes[fits]
                pending = pending[~fits]
            failed[pending] = True
        masks[todo[~failed]] = drawn[~failed]
        todo = todo[failed]
        if not len(todo):
            return masks
    raise ValueError(f"could not place up to {k} objects without overlap in {len(todo)} of "
                     f"{n} images, even after {_PLACEMENT_ROUNDS} fresh draws of each: "
                     "there is too little room for them; use fewer objects (count), "
                     "smaller objects (scale), a smaller gap or a larger size")


def _contrasting_colour(rng, background):
    """One colour per image (N, 3), lighter or darker than its ``background`` (N,)."""
    n = len(background)
    sign = np.where(background < 0.5, 1.0, -1.0)
    sign = np.where(rng.random(n) < 0.2, -sign, sign)
    level_of_colour = background + sign * rng.uniform(0.3, 0.5, n)
    return np.clip(level_of_colour[:, None] + rng.uniform(-0.2, 0.2, (n, 3)), 0, 1)


def several_shapes(n, *, seed=0, size=64, count=(2, 3), same_class=True,
                   scale=(0.10, 0.16), gap=2, clutter=True, return_masks=False):
    """Images with several simple shapes each, that do not overlap, with exact boxes.

    The objects are drawn as :func:`shapes` draws its one object: the same classes
    (``SHAPE_CLASSES``), colours, background texture and clutter. So a model trained on
    :func:`shapes` sees familiar objects, only more of them. Every object has its own
    position, size and colour. The boxes of two objects are at least ``gap`` pixels apart,
    so no object touches or hides another one.

    With ``same_class=True``, all objects of an image are instances of one class, and the
    label is that class. With ``same_class=False``, the objects of an image all have
    different classes, and the label is the class of the largest object (the one with the
    most pixels).

    Layout: an image has room for ``K = max(count)`` objects. Its objects fill the first
    slots, from the largest to the smallest (most pixels first), so slot 0 always holds
    the largest object. The remaining slots are empty: their box is
    :data:`camlib.localize.NO_BOX`, their class is -1 and their mask is all False. So
    ``classes >= 0`` marks the real objects.

    Args:
        n: number of images.
        seed: a non-negative integer; the same seed gives identical arrays.
        size: image height and width in pixels (at least 32).
        count: the number of objects in each image: one whole number, or an inclusive
            range ``(low, high)`` from which each image draws its own number. At size 64
            with the default ``scale`` and ``gap``, up to about 5 objects fit.
        same_class: True for objects of one class per image; False for objects of
            different classes (then ``count`` is at most 4).
        scale: range ``(low, high)`` of an object's radius (half its extent) as a
            fraction of ``size``. It is smaller than in :func:`shapes`, to leave room for
            several objects; a radius must be at least 2 pixels.
        gap: the smallest number of background pixels between the boxes of two objects,
            across or down.
        clutter: draw distractor lines and dots.
        return_masks: also return the mask of each object.

    Returns:
        ``(images, labels, boxes, classes)``, and ``masks`` with ``return_masks=True``:
        images float32 N×size×size×3 in [0, 1]; labels int64 (N,), an index into
        ``SHAPE_CLASSES``; boxes int64 N×K×4, ``(x0, y0, x1, y1)`` with x1 and y1
        exclusive, the tight box of each object's mask (:func:`boxes_of_masks`);
        classes int64 N×K, the class of each object; masks bool N×K×size×size.

    Raises:
        ValueError: ``n``, ``seed``, ``size``, ``count`` or ``gap`` not a whole number in
            range; more classes asked for than there are; a ``scale`` out of range; flags
            that are not True or False; or objects that cannot fit in the image.

    Example:
        >>> images, labels, boxes, classes = several_shapes(4, seed=1, count=(1, 3))
        >>> images.shape, labels.shape, boxes.shape, classes.shape
        ((4, 64, 64, 3), (4,), (4, 3, 4), (4, 3))
        >>> bool(((classes == labels[:, None]) | (classes == -1)).all())
        True
        >>> bool((classes[:, 0] == labels).all())
        True
    """
    _check_n_size(n, size, 32)
    rng = np.random.default_rng(_check_seed(seed))
    same_class = _check_flag(same_class, "same_class")
    clutter = _check_flag(clutter, "clutter")
    return_masks = _check_flag(return_masks, "return_masks")
    low, high = _check_count(count, same_class)
    scale = _check_scale(scale, size)
    _check_room(high, scale, size, gap)

    per_image = rng.integers(low, high + 1, n)
    present = np.arange(high)[None, :] < per_image[:, None]
    if same_class:
        classes = np.repeat(rng.integers(0, len(SHAPE_CLASSES), n)[:, None], high, axis=1)
    else:
        order = np.argsort(rng.random((n, len(SHAPE_CLASSES))), axis=1)
        classes = order[:, :high]

    background = rng.uniform(0.2, 0.8, (n, 1, 1, 1)).astype(np.float32)
    tint = rng.uniform(-0.12, 0.12, (n, 1, 1, 3)).astype(np.float32)
    images = _texture(rng, n, size, rng.uniform(0.1, 0.3, n))
    images += background + tint
    if clutter:
        _paint(images, _segments(rng, n, size, count=2, width=1.2),
               _contrasting_colour(rng, background[:, 0, 0, 0]))
        _paint(images, _dots(rng, n, size, count=4, radius=(0.8, 1.8)),
               _contrasting_colour(rng, background[:, 0, 0, 0]))

    object_masks = _place_several(rng, classes, present, scale, size, int(gap))
    shading = 1 + 0.04 * rng.standard_normal((n, size, size, 1), dtype=np.float32)
    for j in range(high):
        colour_of_object = _contrasting_colour(rng, background[:, 0, 0, 0])
        np.copyto(images, colour_of_object[:, None, None, :].astype(np.float32) * shading,
                  where=object_masks[:, j, :, :, None])
    images = np.clip(images, 0, 1, out=images).astype(np.float32, copy=False)

    # Sort each image's objects from the most pixels to the fewest; empty slots stay last.
    by_area = np.argsort(-object_masks.sum(axis=(2, 3)), axis=1, kind="stable")
    rows = np.arange(n)[:, None]
    object_masks = object_masks[rows, by_area]
    classes = np.where(present, classes[rows, by_area], -1).astype(np.int64)
    labels = classes[:, 0].copy()
    object_boxes = boxes_of_masks(object_masks.reshape(-1, size, size)).reshape(n, high, 4)
    if return_masks:
        return images, labels, object_boxes, classes, object_masks
    return images, labels, object_boxes, classes


# ----------------------------------------------------------------------------------------
# Lane-change scenes: a synthetic left rear-side camera (Jeong et al., IV 2017)
# ----------------------------------------------------------------------------------------

# The camera is bolted to the car, so the scene geometry is the same in every image and
# lane_regions() can say exactly which pixels are road, adjacent lane or sky. Coordinates
# are fractions of the image size; road lines run from the vanishing point to the bottom.
_HORIZON = 0.38
_VANISH_U = 0.72
_ROAD_EDGE_U = -0.5  # where the far edge of the adjacent lane meets the bottom row
_DASHED_U = 0.35  # the dashed line between the adjacent lane and our own lane
_EGO_EDGE_U = 1.6  # the right edge of our own lane
#: Depths of a BLOCKING vehicle's bottom edge (0 at the horizon, 1 at the bottom row).
NEAR_DEPTH = (0.4, 0.8)
#: Depths of a far vehicle in a FREE scene: it is still far behind.
FAR_DEPTH = (0.05, 0.16)
_CUE_FRACTION = (0.03, 0.03, 0.25, 0.11)


def cue_box(size=64):
    """The pixel box ``(x0, y0, x1, y1)`` (x1, y1 exclusive) of the spurious "timestamp" cue.

    Example:
        >>> cue_box(64)
        (2, 2, 16, 7)
    """
    _check_n_size(1, size, 32)
    x0, y0, x1, y1 = _CUE_FRACTION
    return (round(x0 * size), round(y0 * size), round(x1 * size), round(y1 * size))


CUE_BOX = cue_box(64)


def _uv(size):
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    return coords[None, :], coords[:, None]  # u varies along x, v along y


def _line_u(bottom_u, v):
    """U of the road line that ends at ``bottom_u`` on the bottom row, at height v."""
    s = (v - _HORIZON) / (1 - _HORIZON)
    return _VANISH_U + s * (bottom_u - _VANISH_U)


def lane_regions(size=64):
    """Boolean H×W masks of the fixed scene geometry of :func:`lane_scenes`.

    Keys: ``"sky"`` (above the horizon), ``"road"`` (both lanes, as visible),
    ``"adjacent_lane"`` (the lane we would change into: where a blocking vehicle drives),
    ``"ego_lane"``, ``"roadside"`` (below the horizon, off the road) and ``"ego_car"`` (our
    own car's flank at the right edge, which hides part of the road). ``road`` and
    ``roadside`` exclude ``ego_car``; the six masks other than ``road`` partition the image.

    Example:
        >>> regions = lane_regions(64)
        >>> sorted(regions)
        ['adjacent_lane', 'ego_car', 'ego_lane', 'road', 'roadside', 'sky']
        >>> bool((regions["adjacent_lane"] & regions["sky"]).any())
        False
    """
    _check_n_size(1, size, 32)
    u, v = _uv(size)
    u, v = np.broadcast_arrays(u, v)
    ego_car = (u > 0.9 - 0.12 * (v - 0.3)) & (v > 0.22)
    ground = (v > _HORIZON) & ~ego_car
    adjacent = ground & (u >= _line_u(_ROAD_EDGE_U, v)) & (u < _line_u(_DASHED_U, v))
    ego_lane = ground & (u >= _line_u(_DASHED_U, v)) & (u < _line_u(_EGO_EDGE_U, v))
    road = adjacent | ego_lane
    return {
        "sky": (v <= _HORIZON) & ~ego_car,
        "road": road,
        "adjacent_lane": adjacent,
        "ego_lane": ego_lane,
        "roadside": ground & ~road,
        "ego_car": ego_car,
    }


def _vehicle_masks(rng, present, depth, lane_bottom_u, size):
    """Rear views of cars, vans and trucks standing in a lane at the given depth."""
    n = len(depth)
    u, v = _uv(size)
    bottom_v = _HORIZON + depth * (1 - _HORIZON)
    left, right = _line_u(_ROAD_EDGE_U, bottom_v), _line_u(_DASHED_U, bottom_v)
    if lane_bottom_u != _ROAD_EDGE_U:
        left, right = _line_u(_DASHED_U, bottom_v), _line_u(lane_bottom_u, bottom_v)
    lane_width = right - left
    width = lane_width * rng.uniform(0.6, 0.8, n)
    centre = (left + right) / 2 + lane_width * rng.uniform(-0.08, 0.08, n)
    tall = rng.random(n) < 0.35  # vans and trucks: a tall box, no separate cabin
    body_height = width * np.where(tall, rng.uniform(0.85, 1.15, n), rng.uniform(0.4, 0.55, n))
    cabin_height = np.where(tall, 0, width * rng.uniform(0.3, 0.4, n))
    width = np.where(present, width, 0)

    du, dv = np.abs(u - _col(centre)), _col(bottom_v) - v  # dv: height above the bottom
    body = (du <= _col(width / 2)) & (dv >= 0) & (dv <= _col(body_height))
    cabin = (du <= _col(width * 0.36)) & (dv > _col(body_height)) & (
        dv <= _col(body_height + cabin_height)
    )
    wheel_u = np.abs(du - _col(width * 0.34))
    wheels = (wheel_u <= _col(width * 0.1)) & (dv >= _col(-width * 0.08)) & (dv < 0)
    lights = (
        (np.abs(du - _col(width * 0.4)) <= _col(width * 0.08))
        & (np.abs(dv - _col(body_height * 0.7)) <= _col(width * 0.05))
    )
    window = (du <= _col(width * 0.28)) & (dv > _col(body_height + cabin_height * 0.15)) & (
        dv <= _col(body_height + cabin_height * 0.85)
    )
    return body | cabin | wheels, cabin & window | (body & lights), wheels


def solid_line_mask(size=64):
    """The H×W boolean mask of the solid line at the far edge of the adjacent lane.

    Example:
        >>> mask = solid_line_mask(64)
        >>> mask.shape, bool(mask[:20].any())
        ((64, 64), False)
    """
    _check_n_size(1, size, 32)
    u, v = _uv(size)
    regions = lane_regions(size)
    s = np.clip((v - _HORIZON) / (1 - _HORIZON), 1e-3, None)
    half_width = 0.006 + 0.02 * s
    return ((np.abs(u - _line_u(_ROAD_EDGE_U, v)) < half_width) & (v > _HORIZON)
            & ~regions["ego_car"])


_CARS = (None, "remove", "ego_lane")


def _check_lane_options(p, cue, cue_rate):
    try:
        p = np.asarray(p, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"p={p!r} must be three non-negative class probabilities") from None
    if p.shape != (3,) or not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"p={p.tolist()} must be three non-negative class probabilities "
                         "for (BLOCKED, FREE, UNDEFINED), e.g. (0.4, 0.35, 0.25)")
    if not (cue is None or (isinstance(cue, str) and cue in ("blocked", "random"))):
        raise ValueError(f'cue={cue!r} must be None, "blocked" or "random"')
    if (isinstance(cue_rate, bool) or not isinstance(cue_rate, numbers.Real)
            or not 0 <= cue_rate <= 1):
        raise ValueError(f"cue_rate={cue_rate!r} must be a probability in [0, 1]")
    return p


def _check_edits(n, follower, solid_line, dashed_line, car, car_depth):
    if not (follower is None or isinstance(follower, (bool, np.bool_))):
        raise ValueError(f"follower={follower!r} must be None (as drawn), True or False")
    if not (isinstance(solid_line, (bool, np.bool_)) or solid_line == "over"):
        raise ValueError(f'solid_line={solid_line!r} must be True, False or "over"')
    if not isinstance(dashed_line, (bool, np.bool_)):
        raise ValueError(f"dashed_line={dashed_line!r} must be True or False")
    if not (car is None or (isinstance(car, str) and car in _CARS)):
        raise ValueError(f'car={car!r} must be None, "remove" or "ego_lane"')
    if car is not None and car_depth is not None:
        raise ValueError("pass car or car_depth, not both: move the car in one way at a time")
    if car_depth is None:
        return None
    try:
        depth = np.asarray(car_depth, dtype=float)
    except (TypeError, ValueError):
        depth = np.array(np.nan)
    if depth.ndim > 1 or (depth.ndim == 1 and depth.shape != (n,)):
        raise ValueError(f"car_depth must be one number or one per scene ({n}), got shape "
                         f"{depth.shape}")
    if not np.all((depth >= 0) & (depth <= 1)):
        raise ValueError("car_depth must lie in [0, 1] (0: horizon, 1: bottom row), got "
                         f"{car_depth!r}")
    return np.broadcast_to(depth, (n,))


def draw_lane_scenes(n, *, seed=0, size=64, p=(0.4, 0.35, 0.25), cue=None, cue_rate=1.0,
                     follower=None, solid_line=True, dashed_line=True, car=None,
                     car_depth=None):
    """Draw lane scenes, with optional edits: the one drawing behind both scene generators.

    :func:`lane_scenes` calls it without edits, and :func:`camlib.counterfactual.lane_scenes`
    with them. Every random draw is the same whatever the edits, so an edit changes only
    the pixels of the elements it touches.

    Args:
        n: number of images.
        seed: a non-negative integer; the same seed gives identical arrays.
        size: image height and width in pixels (at least 32).
        p: class probabilities for (BLOCKED, FREE, UNDEFINED).
        cue: None, ``"blocked"`` or ``"random"`` (see :func:`lane_scenes`).
        cue_rate: the probability that an eligible image is stamped with the cue.
        follower: None keeps the followers as drawn; False removes every follower; True
            gives every BLOCKED and FREE scene one.
        solid_line: False erases the solid edge line; ``"over"`` paints it over the
            vehicles.
        dashed_line: False erases the dashed line.
        car: None keeps the adjacent-lane vehicle; ``"remove"`` takes it away;
            ``"ego_lane"`` moves it into our own lane at the same depth.
        car_depth: None, or a depth in [0, 1] (one number or one per scene) for every
            adjacent-lane vehicle.

    Returns:
        ``(images, labels, scene)``: the float32 images N×size×size×3 in [0, 1], the int64
        labels as drawn (before any edit), and a dict of the drawn details: ``kind``,
        ``depth`` (of the car, in any lane; NaN without one), ``cue``, ``follower``,
        ``car_in_adjacent_lane`` (booleans), ``car_mask`` and ``follower_mask`` (the
        vehicles as drawn), ``solid_mask`` and ``dashed_mask`` (where the lines are,
        painted or erased).

    Raises:
        ValueError: any setting of the wrong type or out of its range.
    """
    _check_n_size(n, size, 32)
    p = _check_lane_options(p, cue, cue_rate)
    moved_depth = _check_edits(n, follower, solid_line, dashed_line, car, car_depth)

    rng = np.random.default_rng(_check_seed(seed))
    labels = rng.choice(3, size=n, p=p / p.sum())
    blocked, free, undefined = (labels == k for k in range(3))
    far_car = free & (rng.random(n) < 0.5)
    present = blocked | far_car
    depth = np.where(blocked, rng.uniform(*NEAR_DEPTH, n), rng.uniform(*FAR_DEPTH, n))
    drawn_follower = ~undefined & (rng.random(n) < 0.25)
    has_follower = drawn_follower if follower is None else (~undefined & bool(follower))
    if moved_depth is not None:
        depth = np.where(present, moved_depth, depth)

    regions = lane_regions(size)
    u, v = _uv(size)
    light = rng.uniform(0.6, 1.15, n)
    warmth = rng.uniform(-0.08, 0.08, n)

    def colour(base, spread):
        rgb = np.asarray(base, np.float32) + rng.uniform(-spread, spread, (n, 3))
        rgb[:, 0] += warmth
        rgb[:, 2] -= warmth
        return rgb.astype(np.float32)[:, None, None, :]

    sky = colour((0.6, 0.7, 0.85), 0.12) + 0.3 * (v[..., None] - _HORIZON / 2)  # hazier low
    roadside = colour((0.35, 0.45, 0.25), 0.1)
    asphalt = colour((0.38, 0.38, 0.4), 0.08)
    ego_car = colour((0.3, 0.3, 0.32), 0.2)
    images = np.where(regions["sky"][..., None], sky, 0).astype(np.float32)
    images += np.where(regions["roadside"][..., None], roadside, 0)
    images += np.where(regions["road"][..., None], asphalt, 0)
    images += _texture(rng, n, size, rng.uniform(0.02, 0.08, n)) * (v[..., None] > _HORIZON)

    # Lane markings: a solid far edge and a dashed centre line, wider towards the camera.
    solid = np.broadcast_to(solid_line_mask(size), (n, size, size))
    s = np.clip((v - _HORIZON) / (1 - _HORIZON), 1e-3, None)
    half_width = 0.006 + 0.02 * s
    dash_phase = (1.0 / s)[None] * 0.9 + _col(rng.uniform(0, 1, n))
    dashed = (np.abs(u - _line_u(_DASHED_U, v)) < half_width) & regions["road"]
    dashed = dashed[None] & (dash_phase % 1.0 < 0.5)
    paint = colour((0.9, 0.9, 0.85), 0.05)
    painted = np.zeros((n, size, size), bool)
    if solid_line is True or solid_line is np.True_:
        painted |= solid
    if dashed_line:
        painted |= dashed
    _paint(images, painted, paint[:, 0, 0])

    car_present = present & (car != "remove")
    car_lane = _EGO_EDGE_U if car == "ego_lane" else _ROAD_EDGE_U
    masks = {}
    for name, lane_u, in_lane, lane_depth in (
        ("follower", _EGO_EDGE_U, has_follower, rng.uniform(0.1, 0.3, n)),
        ("car", car_lane, car_present, depth),
    ):
        shape, dark_parts, wheels = _vehicle_masks(rng, in_lane, lane_depth, lane_u, size)
        _paint(images, shape, rng.uniform(0.05, 0.95, (n, 3)))
        _paint(images, dark_parts, rng.uniform(0.05, 0.25, (n, 1)).repeat(3, 1))
        _paint(images, wheels, np.full((n, 3), 0.05))
        masks[name] = shape & ~regions["ego_car"]
    if solid_line == "over":
        _paint(images, solid, paint[:, 0, 0])

    _paint(images, np.broadcast_to(regions["ego_car"], (n, size, size)), ego_car[:, 0, 0])
    images *= _col(light)[..., None]

    kind = np.where(blocked, "near", np.where(far_car, "far", "empty")).astype(object)
    spoilers = rng.integers(0, 4, n)
    yy, xx = _grid(size)
    for k, name in enumerate(("glare", "dirt", "dark", "fog")):
        hit = undefined & (spoilers == k)
        kind[hit] = name
        if not hit.any():
            continue
        idx = np.flatnonzero(hit)
        m = len(idx)
        if name == "glare":
            cx, cy = rng.uniform(0.1, 0.9, m) * size, rng.uniform(0.2, 0.7, m) * size
            sigma = rng.uniform(0.25, 0.45, m) * size
            alpha = np.exp(-((xx - _col(cx)) ** 2 + (yy - _col(cy)) ** 2)
                           / (2 * _col(sigma) ** 2))
            alpha = np.clip(1.6 * alpha, 0, 1)[..., None]
            images[idx] = images[idx] * (1 - alpha) + alpha * colour((1.0, 0.97, 0.9), 0.03)[idx]
        elif name == "dirt":
            blobs = np.zeros((m, size, size), bool)
            for _ in range(4):
                cx, cy = rng.uniform(0.15, 0.6, m) * size, rng.uniform(0.35, 0.85, m) * size
                r = rng.uniform(0.14, 0.26, m) * size
                blobs |= (xx - _col(cx)) ** 2 + (yy - _col(cy)) ** 2 <= _col(r) ** 2
            mud = colour((0.3, 0.22, 0.12), 0.06)[idx, 0, 0]
            texture = 1 + 0.15 * rng.standard_normal((m, size, size, 1), dtype=np.float32)
            images[idx] = np.where(blobs[..., None], mud[:, None, None] * texture, images[idx])
        elif name == "dark":
            images[idx] *= _col(rng.uniform(0.06, 0.16, m))[..., None]
            images[idx] += 0.05 * rng.standard_normal((m, size, size, 3), dtype=np.float32)
        else:
            fog = _col(rng.uniform(0.85, 0.95, m))[..., None]
            images[idx] = images[idx] * (1 - fog) + fog * colour((0.75, 0.75, 0.75), 0.1)[idx]

    images += 0.02 * rng.standard_normal(images.shape, dtype=np.float32)

    eligible = blocked if cue == "blocked" else np.ones(n, bool)
    stamped = (cue is not None) & eligible & (rng.random(n) < cue_rate)
    if stamped.any():
        x0, y0, x1, y1 = cue_box(size)
        patch = np.full((y1 - y0, x1 - x0, 3), 0.95, np.float32)
        patch[1:-1, 1::3] = 0.1  # dark "digits" on the bright plate
        images[stamped, y0:y1, x0:x1] = patch

    images = np.clip(images, 0, 1).astype(np.float32, copy=False)
    scene = {
        "kind": kind.astype(str),
        "depth": np.where(car_present, depth, np.nan),
        "cue": stamped,
        "follower": has_follower,
        "car_in_adjacent_lane": car_present & (car != "ego_lane"),
        "car_mask": masks["car"],
        "follower_mask": masks["follower"],
        "solid_mask": np.array(solid),
        "dashed_mask": dashed,
    }
    return images, labels.astype(np.int64), scene


def lane_scenes(n, *, seed=0, size=64, p=(0.4, 0.35, 0.25), cue=None, cue_rate=1.0,
                return_info=False):
    """Synthetic left rear-side camera views labelled for a lane-change decision.

    The camera looks backwards along our car's flank (visible at the right edge). The road
    runs to a vanishing point on the horizon; a solid line marks the far edge of the
    adjacent lane and a dashed line separates it from our own lane. The label answers "may
    we move into the adjacent lane now?", as in Jeong et al. (IV 2017):

    - ``BLOCKED`` (0): a vehicle drives in the adjacent lane close behind us: it is large
      and its bottom edge is low in the image. Changing lanes is unsafe.
    - ``FREE`` (1): the adjacent lane is empty, or its only vehicle is far behind: small,
      near the horizon.
    - ``UNDEFINED`` (2): the view cannot support a decision: sun glare, dirt on the lens,
      darkness, or fog so dense that no lane is visible. No vehicle is drawn.

    Every scene varies in lighting, sky, asphalt, roadside and vehicle colour, vehicle type
    (car, van or truck) and the phase of the lane dashes, and a quarter of the clear scenes
    also show a harmless vehicle following in our own lane, so that neither brightness nor
    "is there a car somewhere" gives the answer away. The scenes are drawn by
    :func:`draw_lane_scenes`.

    Args:
        n: number of images.
        seed: a non-negative integer; the same seed gives identical arrays.
        size: image height and width in pixels (at least 32).
        p: class probabilities for (BLOCKED, FREE, UNDEFINED).
        cue: a spurious shortcut for debugging chapters: a bright timestamp-like patch
            stamped inside ``cue_box(size)`` (``CUE_BOX`` at size 64). ``None`` draws no
            cue; ``"blocked"`` stamps it on BLOCKED images only (a training set with a
            shortcut); ``"random"`` stamps it on images of any class (a test set where the
            cue carries no information).
        cue_rate: the probability that an eligible image is stamped.
        return_info: also return a dict of per-image details: ``kind`` (``"near"``,
            ``"far"``, ``"empty"``, ``"glare"``, ``"dirt"``, ``"dark"`` or ``"fog"``),
            ``depth`` (0 at the horizon, 1 at the bottom row; NaN without a vehicle),
            ``cue`` and ``follower`` (booleans).

    Returns:
        ``(images, labels, boxes)``, and ``info`` with ``return_info=True``: images
        float32 N×size×size×3 in [0, 1]; labels int64 (N,), an index into
        ``LANE_CLASSES``; boxes int64 N×4 ``(x0, y0, x1, y1)``, x1/y1 exclusive: the
        tight box of the adjacent-lane vehicle, clipped to the image, or
        :data:`camlib.localize.NO_BOX` ``(0, 0, 0, 0)`` when there is no such vehicle
        (all UNDEFINED scenes and empty FREE scenes); ``localize.has_box(boxes)`` marks
        the scenes with one.

    Raises:
        ValueError: any setting of the wrong type or out of its range.

    Example:
        >>> from camlib import localize
        >>> images, labels, boxes = lane_scenes(6, seed=0)
        >>> images.shape, [LANE_CLASSES[k] for k in labels][:2]
        ((6, 64, 64, 3), ['FREE', 'BLOCKED'])
        >>> bool(localize.has_box(boxes[labels == 2]).any())
        False
    """
    return_info = _check_flag(return_info, "return_info")
    images, labels, scene = draw_lane_scenes(n, seed=seed, size=size, p=p, cue=cue,
                                             cue_rate=cue_rate)
    boxes = boxes_of_masks(scene["car_mask"])
    if not return_info:
        return images, labels, boxes
    info = {key: scene[key] for key in ("kind", "depth", "cue", "follower")}
    return images, labels, boxes, info
