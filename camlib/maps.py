"""From raw maps to pictures and boxes: resizing and scaling (chapters 4 to 7).

Every method returns raw maps at its own resolution and in its own units. Two steps
make them comparable, and :mod:`camlib.localize`, :mod:`camlib.metrics` and
:mod:`camlib.plot` all use these two:

- :func:`upsample`: bilinear resizing to the image, values kept as they are;
- :func:`normalize`: ReLU, then each map scaled to [0, 1];
- :func:`min_max`: each map scaled to [0, 1] as it is, negative values included, which is
  how :func:`camlib.localize.box_from_map` reads a threshold.

Both accept one map (h, w) or a batch (N, h, w), and refuse maps with NaN or inf
values, which would otherwise spread through the whole map.
"""

from __future__ import annotations

import numpy as np

__all__ = ["upsample", "normalize", "min_max", "check_maps"]


def check_maps(maps, name="maps"):
    """``maps`` as float32 (h, w) or (N, h, w), after checking shape and values.

    Raises:
        ValueError: not numeric, not 2-D or 3-D, empty, or with NaN or inf values.
    """
    try:
        maps = np.asarray(maps, dtype=np.float32)
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be a numeric array (h, w) or (N, h, w).") from None
    if maps.ndim not in (2, 3):
        raise ValueError(f"{name} must be (h, w) or (N, h, w), got shape {maps.shape}.")
    if maps.size == 0:
        raise ValueError(f"{name} are empty (shape {maps.shape}); pass at least one pixel.")
    if not np.isfinite(maps).all():
        bad = int(np.size(maps) - np.count_nonzero(np.isfinite(maps)))
        raise ValueError(
            f"{name} contain {bad} NaN or inf values; a map method that returns them "
            "is broken for these images, so check its settings (for example occlusion's "
            "patch and stride)."
        )
    return maps


def _size_pair(size):
    try:
        pair = (size, size) if np.ndim(size) == 0 else tuple(size)
    except TypeError:
        pair = ()
    whole = len(pair) == 2 and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool)
        or isinstance(s, (float, np.floating)) and float(s).is_integer()
        for s in pair
    )
    if not whole or min(int(s) for s in pair) < 1:
        raise ValueError(f"size must be (H, W) or one int, each at least 1; got {size!r}.")
    return int(pair[0]), int(pair[1])


def upsample(maps, size):
    """Resize maps to image size with bilinear interpolation, values kept as they are.

    Uses ``tf.image.resize`` (half-pixel centres, no antialiasing), so a map pixel covers
    the image block it came from. Values are not clipped: a raw CAM stays signed.

    Args:
        maps: one map (h, w) or a batch (N, h, w).
        size: ``(H, W)`` or one int.

    Returns:
        float32 maps (H, W) or (N, H, W).

    Raises:
        ValueError: bad map shape or values (see :func:`check_maps`), or a size that is
            not two positive whole numbers.

    Example:
        >>> upsample(np.eye(2), 4).shape
        (4, 4)
    """
    import tensorflow as tf

    maps = check_maps(maps)
    size = _size_pair(size)
    batch = maps if maps.ndim == 3 else maps[None]
    resized = tf.image.resize(batch[..., None], size, method="bilinear")[..., 0].numpy()
    return resized if maps.ndim == 3 else resized[0]


def normalize(maps):
    """Map each map to [0, 1]: ReLU, then its own (x - min) / (max - min).

    A flat map (all zero, all negative, or constant) has no contrast and becomes all
    zeros, never NaN.

    Args:
        maps: one map (h, w) or a batch (N, h, w).

    Returns:
        float32 maps of the same shape, in [0, 1].

    Raises:
        ValueError: bad map shape, or NaN or inf values (see :func:`check_maps`).

    Example:
        >>> normalize(np.array([[-1.0, 0.0], [1.0, 3.0]]))
        array([[0.        , 0.        ],
               [0.33333334, 1.        ]], dtype=float32)
    """
    maps = check_maps(maps)
    batch = np.maximum(maps if maps.ndim == 3 else maps[None], 0.0)
    low = batch.min(axis=(1, 2), keepdims=True)
    span = batch.max(axis=(1, 2), keepdims=True) - low
    scaled = np.where(span > 0, (batch - low) / np.where(span > 0, span, 1.0), 0.0)
    scaled = scaled.astype(np.float32)
    return scaled if maps.ndim == 3 else scaled[0]


def min_max(maps):
    """Map each map to [0, 1] by its own (x - min) / (max - min), without a ReLU.

    A threshold of 0.2 on this scale keeps the pixels above 20 % of the way from the
    map's minimum to its maximum, whatever the map's offset and sign. A flat map
    becomes all zeros.

    Args:
        maps: one map (h, w) or a batch (N, h, w).

    Returns:
        float32 maps of the same shape, in [0, 1].

    Example:
        >>> min_max(np.array([[-1.0, 0.0], [1.0, 3.0]]))
        array([[0.  , 0.25],
               [0.5 , 1.  ]], dtype=float32)
    """
    maps = check_maps(maps)
    batch = maps if maps.ndim == 3 else maps[None]
    low = batch.min(axis=(1, 2), keepdims=True)
    span = batch.max(axis=(1, 2), keepdims=True) - low
    scaled = np.where(span > 0, (batch - low) / np.where(span > 0, span, 1.0), 0.0)
    scaled = scaled.astype(np.float32)
    return scaled if maps.ndim == 3 else scaled[0]
