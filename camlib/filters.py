"""Filters: 2-D cross-correlation, the classic kernels, Sobel, and shape features.

Chapters 1 and 2. The module has :data:`KERNELS` (the slides' table, plus Sobel),
:func:`to_gray`, :func:`correlate2d`, :func:`gaussian_kernel`, :func:`sobel`,
:func:`gradient_magnitude` and :func:`shape_features` (the hand-made features of chapter 1).

Everything here is plain numpy, computed the way a convolution layer computes it:
*cross-correlation* (the kernel is not flipped), with ``'reflect'`` borders in the
sense of ``scipy.ndimage`` (``d c b a | a b c d``), so the output has the input's size.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
SOBEL_Y = SOBEL_X.T.copy()

#: The kernels of the slides' table, plus Sobel. Keys are the names used in the book.
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    "edge (diagonal)": np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]], dtype=np.float32),
    "edge (Laplacian, 4-neighbour)": np.array(
        [[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32
    ),
    "edge (Laplacian, 8-neighbour)": np.array(
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float32
    ),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    "Sobel x": SOBEL_X,
    "Sobel y": SOBEL_Y,
}

# ITU-R BT.709 luma weights, the ones skimage.color.rgb2gray uses.
_LUMA = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)


def _as_image(image, *, name: str = "image", allow_color: bool = False) -> np.ndarray:
    try:
        array = np.asarray(image)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be one numeric H×W array; got a ragged sequence") from None
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); pass an H×W array with "
                         "pixels in it")
    if array.dtype == bool:
        array = array.astype(np.float32)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"{name} has dtype {array.dtype}; pass a real numeric array")
    if array.ndim == 3 and not allow_color:
        raise ValueError(
            f"{name} has shape {array.shape}, which looks like a colour image; this function "
            "takes one H×W grayscale channel: convert first with camlib.filters.to_gray(image)"
        )
    if array.ndim not in ((2, 3) if allow_color else (2,)):
        raise ValueError(f"{name} must be a 2-D H×W array, got shape {array.shape}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; clean or mask them first")
    return array


def _as_kernel(kernel) -> np.ndarray:
    try:
        array = np.asarray(kernel, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError("kernel must be a numeric 2-D array (kh×kw), such as "
                         "camlib.filters.SOBEL_X") from None
    if array.ndim != 2:
        raise ValueError(
            f"kernel must be 2-D (kh×kw), got shape {array.shape}; for a colour image, "
            "filter each channel with the same 2-D kernel (correlate2d does this for H×W×C input)"
        )
    if array.size == 0:
        raise ValueError("kernel is empty; pass a kh×kw array such as camlib.filters.SOBEL_X")
    if not np.isfinite(array).all():
        raise ValueError("kernel contains NaN or inf; every weight must be a finite number")
    return array


def to_gray(image) -> np.ndarray:
    """Convert an H×W×3 RGB image in [0, 1] to H×W luminance (BT.709 weights, as scikit-image).

    Example:
        >>> to_gray(np.ones((4, 4, 3))).shape
        (4, 4)
    """
    array = _as_image(image, allow_color=True)
    if array.ndim == 2:
        return array
    if array.shape[-1] not in (3, 4):
        raise ValueError(f"to_gray expects H×W×3 (RGB) or H×W×4 (RGBA), got shape {array.shape}")
    return array[..., :3] @ _LUMA


def correlate2d(image, kernel) -> np.ndarray:
    """Cross-correlate an image with a 2-D kernel, as a convolution layer does.

    ``out[i, j] = Σ_{u,v} kernel[u, v] · image[i + u - kh//2, j + v - kw//2]``, with
    ``'reflect'`` borders, so the output has the input's shape. An H×W×C image is filtered
    channel by channel with the same kernel.

    Example:
        >>> image = np.arange(16, dtype=float).reshape(4, 4)
        >>> np.allclose(correlate2d(image, KERNELS["identity"]), image)
        True
    """
    array = _as_image(image, allow_color=True)
    weights = _as_kernel(kernel)
    kh, kw = weights.shape
    pad = [(kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2)]
    if array.ndim == 3:
        pad.append((0, 0))
    padded = np.pad(array, pad, mode="symmetric")  # numpy's 'symmetric' is scipy's 'reflect'
    windows = sliding_window_view(padded, (kh, kw), axis=(0, 1))
    return np.einsum("...uv,uv->...", windows, weights, optimize=True).astype(np.float32)


def gaussian_kernel(size: int = 5, sigma: float = 1.0) -> np.ndarray:
    """A normalised Gaussian blur kernel of size × size pixels, with standard deviation sigma.

    Example:
        >>> float(gaussian_kernel(5, 1.0).sum())
        1.0
    """
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1 \
            or size % 2 == 0:
        raise ValueError(f"size must be a positive odd integer so the kernel has a centre, "
                         f"got {size!r}")
    if (isinstance(sigma, bool) or not isinstance(sigma, numbers.Real)
            or not np.isfinite(sigma) or sigma <= 0):
        raise ValueError(f"sigma must be a positive finite number of pixels, got {sigma!r}")
    size = int(size)
    offsets = np.arange(size) - size // 2
    g = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel = np.outer(g, g)
    return (kernel / kernel.sum()).astype(np.float32)


def sobel(image) -> tuple[np.ndarray, np.ndarray]:
    """Sobel derivatives ``(gx, gy)`` of an H×W grayscale image.

    ``gx`` responds to vertical edges (kernel ``[[-1,0,1],[-2,0,2],[-1,0,1]]``) and ``gy``
    to horizontal ones (the transposed kernel). Both are cross-correlations with
    ``'reflect'`` borders, so ``gx`` equals ``scipy.ndimage.sobel(image, axis=1)``.

    Example:
        >>> step = np.zeros((5, 6)); step[:, 3:] = 1.0
        >>> gx, gy = sobel(step)
        >>> float(gx[2, 2]), float(gy[2, 2])
        (4.0, 0.0)
    """
    array = _as_image(image)
    return correlate2d(array, SOBEL_X), correlate2d(array, SOBEL_Y)


def gradient_magnitude(gx, gy) -> np.ndarray:
    """The edge strength ``sqrt(gx² + gy²)``.

    Example:
        >>> float(gradient_magnitude(np.array(3.0), np.array(4.0)))
        5.0
    """
    try:
        gx, gy = np.asarray(gx, dtype=np.float32), np.asarray(gy, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError("gx and gy must be numeric arrays, as sobel returns them") from None
    if gx.shape != gy.shape:
        raise ValueError(f"gx and gy must have the same shape, got {gx.shape} and {gy.shape}; "
                         "pass the two outputs of sobel(image)")
    if not (np.isfinite(gx).all() and np.isfinite(gy).all()):
        raise ValueError("gx or gy contains NaN or inf")
    return np.hypot(gx, gy)


def shape_features(binary_image) -> dict:
    """The hand-made features of the slides' Table 4.1 for one binary character image.

    Returns a dict with:

    - ``area``: number of foreground pixels; ``area_fraction``: area ÷ bounding-box area
    - ``height``, ``width``: the bounding box in pixels; ``aspect``: width ÷ height
    - ``holes``: background regions enclosed by the shape (foreground is 8-connected,
      background 4-connected, so a diagonal stroke does not leak)
    - ``centroid``: ``(cx, cy)`` in pixels; ``centroid_relative``: the same as fractions
      of the bounding box, measured from its left and *bottom* edges, as the table does
    - ``orientation``: the best (principal) axis in degrees, anticlockwise from the
      horizontal, in [-0.5, 179.5); ``None`` when the shape has no preferred axis
    - ``inertia``: the least second moment about that axis, ÷ area (pixels²), and
      ``elongation`` = most ÷ least second moment

    Strokes are not computed: how many strokes a glyph has depends on how a writer
    draws it, not on its pixels.

    Example:
        >>> ring = np.zeros((9, 9), bool); ring[2:7, 2:7] = True; ring[4, 4] = False
        >>> shape_features(ring)["holes"]
        1
    """
    from scipy import ndimage

    array = np.asarray(binary_image)
    if array.size == 0:
        raise ValueError("binary_image is empty; pass an H×W boolean array")
    if array.ndim != 2:
        raise ValueError(f"binary_image must be 2-D (H×W), got shape {array.shape}")
    if array.dtype != bool:
        values = np.unique(array)
        if not np.all(np.isin(values, (0, 1))):
            raise ValueError(
                "binary_image must be binary (bool, or only 0 and 1), got values such as "
                f"{values[:5].tolist()}; threshold it first, e.g. image > 0.5"
            )
        array = array.astype(bool)
    if not array.any():
        raise ValueError("binary_image has no foreground pixels; there is no shape to measure")

    ys, xs = np.nonzero(array)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    height, width = int(y1 - y0), int(x1 - x0)
    area = int(array.sum())

    background, n_regions = ndimage.label(~array)  # 4-connected by default
    border = np.unique(np.concatenate(
        [background[0], background[-1], background[:, 0], background[:, -1]]
    ))
    holes = int(n_regions - np.count_nonzero(border))

    cx, cy = xs.mean(), ys.mean()
    dx, dy = xs - cx, -(ys - cy)  # y up, so angles read as on paper
    cov = np.array([[np.mean(dx * dx), np.mean(dx * dy)], [np.mean(dx * dy), np.mean(dy * dy)]])
    eigvals, eigvecs = np.linalg.eigh(cov)
    least, most = float(eigvals[0]), float(eigvals[1])
    isotropic = most - least < 0.1 * most
    major = eigvecs[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    orientation = None if isotropic else (angle + 0.5) % 180.0 - 0.5  # 179.9° reads as 0°

    return {
        "area": area,
        "area_fraction": area / (height * width),
        "height": height,
        "width": width,
        "aspect": width / height,
        "holes": holes,
        "centroid": (float(cx), float(cy)),
        "centroid_relative": (float((cx + 0.5 - x0) / width), float((y1 - cy - 0.5) / height)),
        "orientation": orientation,
        "inertia": least,
        "elongation": most / max(least, 1e-12),
    }
