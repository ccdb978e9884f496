"""Everything a figure in the book needs: image grids, kernels, heat-map overlays and boxes.

Functions return the matplotlib ``Figure`` (or draw on a given ``Axes``) so that a notebook
can show, save or tweak it.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: The book's colours for boxes: the slides draw the prediction green and the truth red.
PREDICTED_COLOR = "#2ca02c"
TRUE_COLOR = "#d62728"


def _plt():
    import matplotlib.pyplot as plt

    return plt


def robust_limit(values: np.ndarray, percentile: float = 99.5) -> float:
    """The colour-scale limit for signed data: the ``percentile`` of ``|values|`` (1.0 if all zero).

    Example
    -------
    >>> robust_limit(np.array([-2.0, 1.0, 0.5]), percentile=100)
    2.0
    """
    limit = float(np.percentile(np.abs(values), percentile))
    return limit if limit > 0 else (float(np.abs(values).max()) or 1.0)


def image_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    cmap: str = "gray",
    size: float = 2.4,
    symmetric: bool = False,
    suptitle: str | None = None,
    colorbar: bool = False,
):
    """Show images side by side, one per panel, and return the figure.

    Grayscale panels use ``cmap``; with ``symmetric=True`` each panel's colour scale is
    centred on zero, which is how a signed filter response should be read, and clipped at
    :func:`robust_limit` so that a few extreme pixels do not wash out the rest.

    Example
    -------
    >>> fig = image_grid([np.zeros((8, 8)), np.ones((8, 8))], ["zeros", "ones"])
    >>> len(fig.axes)
    2
    """
    plt = _plt()
    images = list(images)
    if not images:
        raise ValueError("image_grid needs at least one image")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles; pass one title per image")
    ncols = ncols or min(len(images), 6)
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        image = np.asarray(images[index])
        if image.ndim == 3:
            artist = ax.imshow(np.clip(image, 0, 1))
        else:
            vrange = dict(vmin=-(limit := robust_limit(image)), vmax=limit) if symmetric else {}
            artist = ax.imshow(image, cmap=cmap, **vrange)
            if colorbar:
                fig.colorbar(artist, ax=ax, fraction=0.046, pad=0.04)
        if titles is not None:
            ax.set_title(titles[index], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_kernel(kernel: np.ndarray, ax=None, *, title: str | None = None, fmt: str = "{:g}"):
    """Draw a small kernel as a signed heat map with its numbers written in the cells.

    Example
    -------
    >>> from camlib.filters import SOBEL_X
    >>> ax = show_kernel(SOBEL_X, title="Sobel x")
    """
    plt = _plt()
    kernel = np.asarray(kernel, dtype=float)
    if kernel.ndim != 2:
        raise ValueError(f"show_kernel draws a 2-D kernel, got shape {kernel.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(2.2, 2.2))
    limit = float(np.abs(kernel).max()) or 1.0
    ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    if kernel.size <= 49:
        for (row, col), value in np.ndenumerate(kernel):
            ink = "white" if abs(value) > 0.6 * limit else "black"
            ax.text(col, row, fmt.format(round(value, 2)), ha="center", va="center", fontsize=9, color=ink)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def overlay(image: np.ndarray, heatmap: np.ndarray, ax=None, *, alpha: float = 0.5, cmap: str = "jet",
            title: str | None = None):
    """Lay a heat map over an image; the map is stretched to the image's extent.

    Example
    -------
    >>> ax = overlay(np.zeros((32, 32, 3)), np.random.rand(8, 8))
    """
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    image = np.asarray(image)
    height, width = image.shape[:2]
    ax.imshow(np.clip(image, 0, 1), cmap=None if image.ndim == 3 else "gray")
    ax.imshow(np.asarray(heatmap), cmap=cmap, alpha=alpha, extent=(-0.5, width - 0.5, height - 0.5, -0.5),
              interpolation="bilinear")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def draw_box(ax, box, *, color: str = PREDICTED_COLOR, label: str | None = None, linewidth: float = 2.0):
    """Draw an ``(x0, y0, x1, y1)`` pixel box (x1, y1 exclusive) on an image axis.

    Example
    -------
    >>> import matplotlib.pyplot as plt
    >>> _, ax = plt.subplots(); ax.imshow(np.zeros((10, 10)))  # doctest: +ELLIPSIS
    <...>
    >>> patch = draw_box(ax, (2, 3, 6, 8), color=TRUE_COLOR)
    """
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        return None
    patch = Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color,
                      linewidth=linewidth, label=label)
    ax.add_patch(patch)
    return patch


def flow(steps: Sequence[str], ax=None, *, highlight: Sequence[int] = (), title: str | None = None):
    """Draw a left-to-right pipeline of labelled boxes joined by arrows.

    ``highlight`` lists the indices of boxes to draw in the accent colour.

    Example
    -------
    >>> ax = flow(["image", "features", "classifier"], highlight=[1])
    """
    plt = _plt()
    steps = list(steps)
    if not steps:
        raise ValueError("flow needs at least one step")
    if ax is None:
        _, ax = plt.subplots(figsize=(2.2 * len(steps), 1.4))
    for index, label in enumerate(steps):
        face = "#fde9c8" if index in highlight else "#e8eef7"
        ax.text(index * 2.2, 0, label, ha="center", va="center", fontsize=10, wrap=True,
                bbox=dict(boxstyle="round,pad=0.5", facecolor=face, edgecolor="#445"))
        if index:
            ax.annotate("", xy=(index * 2.2 - 0.8, 0), xytext=((index - 1) * 2.2 + 0.8, 0),
                        arrowprops=dict(arrowstyle="->", color="#445"))
    ax.set_xlim(-1.1, 2.2 * (len(steps) - 1) + 1.1)
    ax.set_ylim(-0.6, 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def method_grid(images: np.ndarray, maps: dict, *, boxes=None, row_titles: Sequence[str] | None = None,
                size: float = 1.7, alpha: float = 0.5):
    """Every method's map on the same images: one row per image, one column per method.

    ``maps`` maps a method's name to its (N, h, w) maps at any resolution; each map is
    upsampled to the image and scaled to [0, 1] on its own (ReLU, then min-max), so the
    panels compare *where* each method points, not how strongly. ``boxes`` (N, 4), if
    given, are drawn as the true boxes.

    Example
    -------
    >>> fig = method_grid(np.zeros((2, 16, 16, 3)), {"A": np.random.rand(2, 4, 4)})
    >>> len(fig.axes)
    4
    """
    from camlib.cam import normalize, upsample

    plt = _plt()
    images = np.asarray(images)
    if not maps:
        raise ValueError("method_grid needs at least one method's maps")
    for name, values in maps.items():
        if len(values) != len(images):
            raise ValueError(f"{name!r} has {len(values)} maps for {len(images)} images")
    if row_titles is not None and len(row_titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(row_titles)} row titles")
    columns = ["image"] + list(maps)
    fig, axes = plt.subplots(len(images), len(columns), figsize=(size * len(columns), size * len(images)),
                             squeeze=False)
    shown = {name: normalize(upsample(values, images.shape[1:3])) for name, values in maps.items()}
    for row, image in enumerate(images):
        axes[row, 0].imshow(np.clip(image, 0, 1))
        axes[row, 0].axis("off")
        if row_titles is not None:
            axes[row, 0].set_title(row_titles[row], fontsize=8)
        for column, name in enumerate(maps, start=1):
            overlay(image, shown[name][row], axes[row, column], alpha=alpha)
            if row == 0:
                axes[row, column].set_title(name, fontsize=9)
        if boxes is not None:
            for ax in axes[row]:
                draw_box(ax, boxes[row], color=TRUE_COLOR, linewidth=1.2)
    fig.tight_layout()
    return fig


def layer_maps(
    image: np.ndarray,
    maps: dict,
    *,
    channels: int = 8,
    size: float = 1.25,
    title: str | None = None,
):
    """One row per layer: the input, then the maps of its first ``channels`` channels.

    ``maps`` maps a row label (a layer name) to that layer's (h, w, K) activations for
    ``image``. Every map of a row shares one colour scale, from 0 to the row's largest
    value, so a channel that stays silent on this image shows as black. Each row's label
    gives the map size, which shrinks with depth.

    Example
    -------
    >>> maps = {"conv": np.random.rand(8, 8, 4)}
    >>> fig = layer_maps(np.zeros((8, 8, 3)), maps, channels=4)
    >>> len(fig.axes)
    5
    """
    plt = _plt()
    if not maps:
        raise ValueError("layer_maps needs the maps of at least one layer")
    rows = list(maps.items())
    fig, axes = plt.subplots(
        len(rows),
        channels + 1,
        figsize=(size * (channels + 1), size * len(rows)),
        squeeze=False,
    )
    for row, (name, layer_maps_) in enumerate(rows):
        layer_maps_ = np.asarray(layer_maps_)
        if layer_maps_.ndim != 3:
            raise ValueError(
                f"maps[{name!r}] must be (h, w, channels), got shape {layer_maps_.shape}"
            )
        image_ax = axes[row, 0]
        image_ax.imshow(
            np.clip(image, 0, 1), cmap=None if np.ndim(image) == 3 else "gray"
        )
        height, width, depth = layer_maps_.shape
        image_ax.set_title(f"{name}\n{height}×{width}×{depth}", fontsize=10)
        top = float(layer_maps_[..., :channels].max()) or 1.0
        for column in range(channels):
            ax = axes[row, column + 1]
            if column < depth:
                ax.imshow(
                    layer_maps_[..., column],
                    cmap="gray",
                    vmin=0,
                    vmax=top,
                    interpolation="nearest",
                )
                ax.set_title(f"channel {column}", fontsize=9)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def channel_grid(
    maps: np.ndarray,
    image: np.ndarray | None = None,
    *,
    channels: int = 16,
    ncols: int = 8,
    size: float = 1.3,
    title: str | None = None,
):
    """The first ``channels`` maps of one layer for one image, in a grid, on one scale.

    ``maps`` is (h, w, K). All panels share the scale 0 … largest value shown, so a silent
    channel is black and a weak one stays dark (a per-panel scale would make both look
    busy). With ``image``, the input comes first.

    Example
    -------
    >>> maps, image = np.random.rand(4, 4, 16), np.zeros((8, 8, 3))
    >>> fig = channel_grid(maps, image, channels=7, ncols=4)
    >>> len(fig.axes)
    8
    """
    plt = _plt()
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (h, w, channels), got shape {maps.shape}")
    shown = min(channels, maps.shape[-1])
    panels = shown + (image is not None)
    nrows = math.ceil(panels / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, (size + 0.3) * nrows + 0.4), squeeze=False
    )
    top = float(maps[..., :shown].max()) or 1.0
    flat_axes = list(axes.flat)
    if image is not None:
        flat_axes[0].imshow(
            np.clip(image, 0, 1), cmap=None if np.ndim(image) == 3 else "gray"
        )
        flat_axes[0].set_title("input", fontsize=10)
    for k, ax in enumerate(flat_axes[panels - shown : panels]):
        ax.imshow(maps[..., k], cmap="gray", vmin=0, vmax=top, interpolation="nearest")
        ax.set_title(f"channel {k}", fontsize=10)
    for ax in flat_axes:
        ax.set_xticks([])
        ax.set_yticks([])
        if not ax.images:
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig
