"""Everything a figure in the book needs (every chapter).

The page's figure standard, image grids, kernels, heat-map overlays, colour bars and boxes.

**The figure standard.** Every figure is drawn for the book's content column, so that the
site shows it at about 1:1 and its smallest text can be read:

- at most :data:`PAGE_WIDTH` inches wide at :data:`DPI` dots per inch (700 px);
- no text smaller than :data:`MIN_FONT_SIZE` points;
- a heat map or signed map carries a colour bar (:func:`add_colorbar`), or its caption states
  the scale; signed maps use a diverging map centred on zero (:func:`signed_map`).

Importing this module applies :data:`STYLE` to matplotlib, so that defaults already meet
the standard. :func:`panels` makes a grid of panels that fits the column, and
:func:`readability_problems` lists what in a figure breaks the standard.

Functions return the matplotlib ``Figure`` (or draw on a given ``Axes``) so that a notebook
can show, save or tweak it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

#: The book's colours for boxes: the slides draw the prediction green and the truth red.
PREDICTED_COLOR = "#2ca02c"
TRUE_COLOR = "#d62728"

#: The widest figure, in inches: the book's content column at :data:`DPI`.
PAGE_WIDTH = 7.0
#: Dots per inch of every figure, in the notebook and on the site.
DPI = 100
#: How much wider than :data:`PAGE_WIDTH` the saved image may be, in inches, with the
#: margin the notebook adds around a figure cropped to its ink: the site shows up to
#: 720 px (7.2 in at :data:`DPI`) without shrinking the image noticeably.
TIGHT_MARGIN = 0.2
#: The smallest text a figure may carry, in points.
MIN_FONT_SIZE = 9
#: Diverging colour map for signed maps (filters, raw CAMs), always centred on zero.
SIGNED_CMAP = "RdBu_r"
#: Colour map for heat maps laid over an image, as in the CAM paper.
HEAT_CMAP = "jet"

#: matplotlib settings that make the defaults meet the figure standard.
STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.figsize": (PAGE_WIDTH, 3.2),
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 11,
}


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _whole(value, name, *, minimum=1):
    """``value`` as an int of at least ``minimum``, or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def _positive(value, name, *, allow_zero=False):
    """``value`` as a finite float > 0 (≥ 0 with ``allow_zero``), or a ValueError."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero)):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def _finite(values, name, *, ndim=None):
    """``values`` as a float array, refusing non-numeric, NaN, inf and the wrong ndim."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array") from None
    if ndim is not None and array.ndim not in ((ndim,) if np.ndim(ndim) == 0 else ndim):
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or inf; a picture needs finite values")
    return array


def _image(image, name="image"):
    """An H×W grey or H×W×3/4 colour image as a float array."""
    array = _finite(image, name, ndim=(2, 3))
    if array.ndim == 3 and array.shape[-1] not in (3, 4):
        raise ValueError(f"{name} must be H×W (grey) or H×W×3 (colour), got shape "
                         f"{array.shape}; for a one-channel image pass image[..., 0]")
    return array


def use_book_style() -> None:
    """Apply :data:`STYLE` to matplotlib (done once when this module is imported).

    Example:
        >>> import matplotlib
        >>> use_book_style(); matplotlib.rcParams["font.size"] >= MIN_FONT_SIZE
        True
    """
    import matplotlib

    matplotlib.rcParams.update(STYLE)


use_book_style()


def grid_shape(n: int, max_cols: int) -> tuple[int, int]:
    """Rows and columns for ``n`` panels with at most ``max_cols`` per row.

    Example:
        >>> grid_shape(9, 5)
        (2, 5)
        >>> grid_shape(3, 5)
        (1, 3)
    """
    n = _whole(n, "n (the number of panels)")
    max_cols = _whole(max_cols, "max_cols")
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def panels(nrows: int = 1, ncols: int = 1, *, width: float = PAGE_WIDTH, aspect: float = 1.0,
           title_space: float = 0.3, squeeze: bool = False, **subplots_kw):
    """A figure of ``nrows`` × ``ncols`` panels that fits the book's content column.

    Each panel is ``width / ncols`` inches wide and ``aspect`` times as tall, plus
    ``title_space`` inches per row for its title. ``width`` may not exceed
    :data:`PAGE_WIDTH`: a grid that needs more room should become more rows (see
    :func:`grid_shape`). Returns ``(fig, axes)`` like ``plt.subplots``; ``axes`` is 2-D
    unless ``squeeze=True``.

    Example:
        >>> fig, axes = panels(2, 5)
        >>> axes.shape, bool(fig.get_figwidth() <= PAGE_WIDTH)
        ((2, 5), True)
    """
    width = _positive(width, "width (inches)")
    if width > PAGE_WIDTH + 1e-9:
        raise ValueError(
            f"width={width!r} inches does not fit the page: use at most PAGE_WIDTH="
            f"{PAGE_WIDTH}, and more rows instead of more columns")
    aspect = _positive(aspect, "aspect")
    title_space = _positive(title_space, "title_space (inches)", allow_zero=True)
    nrows, ncols = _whole(nrows, "nrows"), _whole(ncols, "ncols")
    height = nrows * (width / ncols * aspect + title_space)
    subplots_kw.setdefault("layout", "constrained")
    return _plt().subplots(nrows, ncols, figsize=(width, height), squeeze=squeeze,
                           **subplots_kw)


def readability_problems(fig) -> list[str]:
    """What in ``fig`` breaks the book's figure standard, as sentences (empty if nothing).

    Checks the width (at most :data:`PAGE_WIDTH` inches) and every visible piece of text
    (at least :data:`MIN_FONT_SIZE` points).

    Example:
        >>> fig, ax = panels(1, 1, width=3, squeeze=True)
        >>> too_small = 5
        >>> _ = ax.set_title("tiny", fontsize=too_small)
        >>> readability_problems(fig)
        ["text 'tiny' is 5 pt; the smallest readable size is 9 pt"]
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise ValueError(f"fig must be a matplotlib Figure, got {type(fig).__name__}; "
                         "pass the figure, e.g. fig from fig, ax = plot.panels(1, 1)")
    problems = []
    if fig.get_figwidth() > PAGE_WIDTH + 0.01:
        problems.append(f"the figure is {fig.get_figwidth():.2f} in wide; the page allows "
                        f"{PAGE_WIDTH} in")
    else:
        # The notebook saves the figure cropped to its ink, which grows past the figure
        # when a label sticks out; allow what the site shows without shrinking it.
        import matplotlib

        fig.canvas.draw()
        saved = (fig.get_tightbbox(fig.canvas.get_renderer()).width
                 + 2 * matplotlib.rcParams["savefig.pad_inches"])
        if saved > PAGE_WIDTH + TIGHT_MARGIN + 0.01:
            problems.append(f"its labels stick out: saved, it is {saved:.2f} in wide; the page "
                            f"shows {PAGE_WIDTH + TIGHT_MARGIN:g} in unshrunk (shorten or wrap "
                            "a label)")
    for text in fig.findobj(lambda artist: hasattr(artist, "get_fontsize")
                            and hasattr(artist, "get_text")):
        small = text.get_fontsize() < MIN_FONT_SIZE - 1e-6
        if text.get_visible() and text.get_text().strip() and small:
            problems.append(f"text {text.get_text()!r} is {text.get_fontsize():g} pt; the "
                            f"smallest readable size is {MIN_FONT_SIZE} pt")
    return problems


def check_readable(fig):
    """Raise ``ValueError`` if ``fig`` breaks the figure standard; return ``fig`` otherwise.

    Example:
        >>> fig, _ = panels(1, 2)
        >>> check_readable(fig) is fig
        True
    """
    problems = readability_problems(fig)
    if problems:
        raise ValueError("this figure is not readable on the page: " + "; ".join(problems)
                         + ". Draw it with camlib.plot.panels, or use fewer columns.")
    return fig


def add_colorbar(artist, ax, *, label: str | None = None, **kwargs):
    """A colour bar for ``artist`` beside ``ax`` (one Axes or a list sharing one bar).

    Example:
        >>> fig, axes = panels(1, 2, width=4)
        >>> image = axes[0, 0].imshow(np.eye(3))
        >>> bar = add_colorbar(image, list(axes.flat), label="activation")
    """
    kwargs.setdefault("shrink", 0.9)
    figure = artist.axes.figure if artist.axes is not None else None
    bar = (figure or _plt().gcf()).colorbar(artist, ax=ax, **kwargs)
    bar.ax.tick_params(labelsize=MIN_FONT_SIZE)
    if label:
        bar.set_label(label, fontsize=MIN_FONT_SIZE)
    return bar


def signed_map(ax, values, *, limit: float | None = None, **imshow_kw):
    """Show a signed map on a diverging scale centred on zero; return the image artist.

    ``limit`` sets the scale to ±limit (share it between panels that are compared); by
    default it is :func:`robust_limit` of ``values``.

    Example:
        >>> fig, ax = panels(1, 1, width=2, squeeze=True)
        >>> artist = signed_map(ax, np.array([[-1.0, 2.0]]))
        >>> artist.get_clim()
        (-2.0, 2.0)
    """
    values = _finite(values, "values", ndim=(2, 3))
    limit = robust_limit(values, 100) if limit is None else _positive(limit, "limit")
    imshow_kw.setdefault("interpolation", "nearest")
    artist = ax.imshow(values, cmap=SIGNED_CMAP, vmin=-limit, vmax=limit, **imshow_kw)
    ax.set_xticks([])
    ax.set_yticks([])
    return artist


def robust_limit(values: np.ndarray, percentile: float = 99.5) -> float:
    """The colour-scale limit for signed data: the ``percentile`` of ``|values|``.

    All-zero data gives 1.0, so that a scale always exists.

    Example:
        >>> robust_limit(np.array([-2.0, 1.0, 0.5]), percentile=100)
        2.0
    """
    values = _finite(values, "values")
    if (isinstance(percentile, bool) or not isinstance(percentile, numbers.Real)
            or not 0 <= percentile <= 100):
        raise ValueError(f"percentile must be a number in [0, 100], got {percentile!r}")
    limit = float(np.percentile(np.abs(values), percentile))
    return limit if limit > 0 else (float(np.abs(values).max()) or 1.0)


def image_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    cmap: str = "gray",
    size: float | None = None,
    symmetric: bool = False,
    suptitle: str | None = None,
    colorbar: bool = False,
    shared_scale: bool = False,
):
    """Show images side by side, one per panel, and return the figure.

    Panels are ``size`` inches wide (by default the column's width shared by ``ncols``
    panels, at most 2.4 in), and the grid never exceeds :data:`PAGE_WIDTH`. Grayscale
    panels use ``cmap``; with ``symmetric=True`` the colour scale is centred on zero,
    which is how a signed filter response should be read, and clipped at
    :func:`robust_limit` so that a few extreme pixels do not wash out the rest. Each
    panel has its own scale unless ``shared_scale=True``; ``colorbar=True`` draws one bar
    per panel, or one for the whole grid when the scale is shared.

    Example:
        >>> fig = image_grid([np.zeros((8, 8)), np.ones((8, 8))], ["zeros", "ones"])
        >>> len(fig.axes)
        2
    """
    if isinstance(images, np.ndarray) and images.ndim in (2, 3) and (
            images.ndim == 2 or images.shape[-1] in (3, 4)):
        raise ValueError(f"image_grid takes a sequence of images; got one image of shape "
                         f"{images.shape}: pass [image]")
    images = [_image(image, f"images[{i}]") for i, image in enumerate(images)]
    if not images:
        raise ValueError("image_grid needs at least one image")
    if isinstance(titles, str):
        raise ValueError("titles must be a list of strings, one per image, not one string")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles; pass one title "
                         "per image")
    nrows, ncols = grid_shape(len(images), 5 if ncols is None else ncols)
    size = min(2.4, PAGE_WIDTH / ncols) if size is None else _positive(size, "size (inches)")
    if size * ncols > PAGE_WIDTH + 1e-9:
        raise ValueError(f"{ncols} panels of {size} in do not fit the page ({PAGE_WIDTH} in); "
                         "pass a smaller size or fewer columns")
    fig, axes = panels(nrows, ncols, width=size * ncols, title_space=0.3 if titles else 0.05)
    gray = [np.asarray(image) for image in images if np.ndim(image) == 2]
    shared = None
    if shared_scale and gray:
        everything = np.concatenate([image.ravel() for image in gray])
        shared = (-(limit := robust_limit(everything)), limit) if symmetric else (
            float(everything.min()), float(everything.max()))
    last_gray = None
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        image = np.asarray(images[index])
        if image.ndim == 3:
            ax.imshow(np.clip(image, 0, 1))
        else:
            if shared is not None:
                vrange = dict(vmin=shared[0], vmax=shared[1])
            elif symmetric:
                vrange = dict(vmin=-(limit := robust_limit(image)), vmax=limit)
            else:
                vrange = {}
            last_gray = ax.imshow(image, cmap=cmap, interpolation="nearest", **vrange)
            if colorbar and shared is None:
                add_colorbar(last_gray, ax, shrink=0.8)
        if titles is not None:
            ax.set_title(titles[index], fontsize=MIN_FONT_SIZE)
    if colorbar and shared is not None and last_gray is not None:
        add_colorbar(last_gray, list(axes.flat))
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def show_kernel(kernel: np.ndarray, ax=None, *, title: str | None = None, fmt: str = "{:g}"):
    """Draw a small kernel as a signed heat map with its numbers written in the cells.

    Example:
        >>> from camlib.filters import SOBEL_X
        >>> ax = show_kernel(SOBEL_X, title="Sobel x")
    """
    plt = _plt()
    kernel = _finite(kernel, "kernel")
    if kernel.ndim != 2:
        raise ValueError(f"show_kernel draws a 2-D kernel, got shape {kernel.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(2.2, 2.2))
    limit = float(np.abs(kernel).max()) or 1.0
    ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    if kernel.size <= 49:
        for (row, col), value in np.ndenumerate(kernel):
            ink = "white" if abs(value) > 0.6 * limit else "black"
            ax.text(col, row, fmt.format(round(value, 2)), ha="center", va="center",
                    fontsize=9, color=ink)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def overlay(image: np.ndarray, heatmap: np.ndarray, ax=None, *, alpha: float = 0.5,
            cmap: str = HEAT_CMAP, title: str | None = None, vmin: float | None = None,
            vmax: float | None = None):
    """Lay a heat map over an image; the map is stretched to the image's extent.

    ``vmin`` and ``vmax`` fix the heat map's colour scale (share them between panels that
    are compared, and draw one :func:`add_colorbar` from ``ax.images[-1]``); by default the
    scale runs from the map's minimum to its maximum.

    Example:
        >>> ax = overlay(np.zeros((32, 32, 3)), np.random.rand(8, 8), vmin=0, vmax=1)
        >>> ax.images[-1].get_clim()
        (0.0, 1.0)
    """
    plt = _plt()
    image = _image(image)
    heatmap = _finite(heatmap, "heatmap", ndim=2)
    if not (isinstance(alpha, numbers.Real) and not isinstance(alpha, bool)
            and 0 <= alpha <= 1):
        raise ValueError(f"alpha must be an opacity in [0, 1], got {alpha!r}")
    for name, value in (("vmin", vmin), ("vmax", vmax)):
        if value is not None and not (isinstance(value, numbers.Real)
                                      and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number or None, got {value!r}")
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ValueError(f"vmin must be below vmax, got vmin={vmin!r}, vmax={vmax!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    height, width = image.shape[:2]
    ax.imshow(np.clip(image, 0, 1), cmap=None if image.ndim == 3 else "gray")
    ax.imshow(np.asarray(heatmap), cmap=cmap, alpha=alpha, vmin=vmin, vmax=vmax,
              extent=(-0.5, width - 0.5, height - 0.5, -0.5), interpolation="bilinear")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=MIN_FONT_SIZE)
    return ax


def draw_box(ax, box, *, color: str = PREDICTED_COLOR, label: str | None = None,
             linewidth: float = 2.0):
    """Draw an ``(x0, y0, x1, y1)`` pixel box (x1, y1 exclusive) on an image axis.

    The box is checked with :func:`camlib.localize.check_boxes`. An empty box
    (:data:`camlib.localize.NO_BOX`: the image has no object) draws nothing and returns
    None, so a loop over a dataset's boxes needs no filter.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> _, ax = plt.subplots(); ax.imshow(np.zeros((10, 10)))  # doctest: +ELLIPSIS
        <...>
        >>> patch = draw_box(ax, (2, 3, 6, 8), color=TRUE_COLOR)
    """
    from matplotlib.patches import Rectangle

    from camlib import localize

    checked = localize.check_boxes(box, name="box")
    if len(checked) != 1:
        raise ValueError(f"draw_box draws one box (4,), got {len(checked)}; loop over them")
    linewidth = _positive(linewidth, "linewidth")
    if not localize.has_box(checked)[0]:
        return None
    x0, y0, x1, y1 = (float(v) for v in checked[0])
    patch = Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color,
                      linewidth=linewidth, label=label)
    ax.add_patch(patch)
    return patch


def flow(steps: Sequence[str], ax=None, *, highlight: Sequence[int] = (),
         title: str | None = None):
    """Draw a left-to-right pipeline of labelled boxes joined by arrows.

    ``highlight`` lists the indices of boxes to draw in the accent colour.

    Example:
        >>> ax = flow(["image", "features", "classifier"], highlight=[1])
    """
    plt = _plt()
    if isinstance(steps, str):
        raise ValueError(f"steps must be a list of labels, not one string: pass [{steps!r}]")
    steps = list(steps)
    if not steps:
        raise ValueError("flow needs at least one step")
    if ax is None:
        _, ax = plt.subplots(figsize=(min(PAGE_WIDTH, 1.6 * len(steps)), 1.4))
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


def method_grid(images: np.ndarray, maps: dict, *, boxes=None,
                row_titles: Sequence[str] | None = None, width: float = PAGE_WIDTH,
                alpha: float = 0.5, colorbar: bool = True):
    """Every method's map on the same images: one row per image, one column per method.

    ``maps`` maps a method's name to its (N, h, w) maps at any resolution; each map is
    upsampled to the image and scaled to [0, 1] on its own (ReLU, then min-max), so the
    panels compare *where* each method points, not how strongly; one colour bar shows
    that shared 0–1 scale. ``boxes`` (N, 4), if given, are drawn as the true boxes
    (:data:`camlib.localize.NO_BOX` draws nothing). The
    grid is ``width`` inches wide (at most :data:`PAGE_WIDTH`): with many methods, pass
    fewer of them rather than a wider figure.

    Example:
        >>> fig = method_grid(np.zeros((2, 16, 16, 3)), {"A": np.random.rand(2, 4, 4)})
        >>> len(fig.axes)  # 2 × 2 panels and the colour bar
        5
    """
    from camlib import localize
    from camlib.maps import normalize, upsample

    images = _finite(images, "images", ndim=4)
    if not isinstance(maps, dict) or not maps:
        raise ValueError("method_grid needs a dict {method name: (N, h, w) maps} with at "
                         "least one method")
    for name, values in maps.items():
        if len(values) != len(images):
            raise ValueError(f"{name!r} has {len(values)} maps for {len(images)} images")
    if row_titles is not None and len(row_titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(row_titles)} row titles")
    if boxes is not None:
        boxes = localize.check_boxes(boxes, image_size=images.shape[1:3], n=len(images))
    columns = ["image"] + list(maps)
    fig, axes = panels(len(images), len(columns), width=width,
                       title_space=0.3 if row_titles is not None else 0.1)
    shown = {name: normalize(upsample(values, images.shape[1:3])) for name, values in maps.items()}
    for row, image in enumerate(images):
        axes[row, 0].imshow(np.clip(image, 0, 1))
        axes[row, 0].axis("off")
        if row_titles is not None:
            axes[row, 0].set_title(row_titles[row], fontsize=MIN_FONT_SIZE)
        for column, name in enumerate(maps, start=1):
            overlay(image, shown[name][row], axes[row, column], alpha=alpha, vmin=0, vmax=1)
            if row == 0:
                axes[row, column].set_title(name, fontsize=MIN_FONT_SIZE)
        if boxes is not None:
            for ax in axes[row]:
                draw_box(ax, boxes[row], color=TRUE_COLOR, linewidth=1.2)
    if colorbar:
        add_colorbar(axes[0, 1].images[-1], list(axes[:, 1:].flat),
                     label="map, min-max scaled", shrink=0.6)
    return fig


def layer_maps(
    image: np.ndarray,
    maps: dict,
    *,
    channels: int = 6,
    width: float = PAGE_WIDTH,
    title: str | None = None,
):
    """One row per layer: the input, then the maps of its first ``channels`` channels.

    The grid is ``width`` inches wide (at most :data:`PAGE_WIDTH`) and each row ends with
    a colour bar for its shared scale.

    ``maps`` maps a row label (a layer name) to that layer's (h, w, K) activations for
    ``image``. Every map of a row shares one colour scale, from 0 to the row's largest
    value, so a channel that stays silent on this image shows as black. Each row's label
    gives the map size, which shrinks with depth.

    Example:
        >>> maps = {"conv": np.random.rand(8, 8, 4)}
        >>> fig = layer_maps(np.zeros((8, 8, 3)), maps, channels=4)
        >>> len(fig.axes)  # the input, 4 channels and the row's colour bar
        6
    """
    if not isinstance(maps, dict) or not maps:
        raise ValueError("layer_maps needs a dict {layer name: (h, w, channels) maps} with at "
                         "least one layer")
    channels = _whole(channels, "channels")
    image = _image(image)
    rows = list(maps.items())
    # The input column is wider, so that a layer's name fits above it.
    fig, axes = panels(len(rows), channels + 1, width=width, title_space=0.45,
                       gridspec_kw={"width_ratios": [1.5] + [1] * channels})
    for row, (name, layer_maps_) in enumerate(rows):
        layer_maps_ = _finite(layer_maps_, f"maps[{name!r}]")
        if layer_maps_.ndim != 3:
            raise ValueError(
                f"maps[{name!r}] must be (h, w, channels), got shape {layer_maps_.shape}"
            )
        image_ax = axes[row, 0]
        image_ax.imshow(
            np.clip(image, 0, 1), cmap=None if np.ndim(image) == 3 else "gray"
        )
        height, width, depth = layer_maps_.shape
        image_ax.set_title(f"{name}\n{height}×{width}×{depth}", fontsize=MIN_FONT_SIZE)
        top = float(layer_maps_[..., :channels].max()) or 1.0
        artist = None
        for column in range(channels):
            ax = axes[row, column + 1]
            if column < depth:
                artist = ax.imshow(
                    layer_maps_[..., column],
                    cmap="gray",
                    vmin=0,
                    vmax=top,
                    interpolation="nearest",
                )
                ax.set_title(f"ch {column}", fontsize=MIN_FONT_SIZE)
        if artist is not None:
            add_colorbar(artist, list(axes[row, 1:]), shrink=0.8)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def channel_grid(
    maps: np.ndarray,
    image: np.ndarray | None = None,
    *,
    channels: int = 16,
    ncols: int = 8,
    width: float = PAGE_WIDTH,
    title: str | None = None,
):
    """The first ``channels`` maps of one layer for one image, in a grid, on one scale.

    ``maps`` is (h, w, K). All panels share the scale 0 … largest value shown, so a silent
    channel is black and a weak one stays dark (a per-panel scale would make both look
    busy); one colour bar shows it. With ``image``, the input comes first. The grid is
    ``width`` inches wide, at most :data:`PAGE_WIDTH`.

    Example:
        >>> maps, image = np.random.rand(4, 4, 16), np.zeros((8, 8, 3))
        >>> fig = channel_grid(maps, image, channels=7, ncols=4)
        >>> len(fig.axes)  # 8 panels and the colour bar
        9
    """
    maps = _finite(maps, "maps")
    if maps.ndim != 3:
        raise ValueError(f"maps must be (h, w, channels), got shape {maps.shape}")
    channels, ncols = _whole(channels, "channels"), _whole(ncols, "ncols")
    if image is not None:
        image = _image(image)
    shown = min(channels, maps.shape[-1])
    n_panels = shown + (image is not None)
    nrows = math.ceil(n_panels / ncols)
    fig, axes = panels(nrows, ncols, width=width, title_space=0.3)
    top = float(maps[..., :shown].max()) or 1.0
    flat_axes = list(axes.flat)
    if image is not None:
        flat_axes[0].imshow(
            np.clip(image, 0, 1), cmap=None if np.ndim(image) == 3 else "gray"
        )
        flat_axes[0].set_title("input", fontsize=MIN_FONT_SIZE)
    artist = None
    for k, ax in enumerate(flat_axes[n_panels - shown : n_panels]):
        artist = ax.imshow(maps[..., k], cmap="gray", vmin=0, vmax=top, interpolation="nearest")
        ax.set_title(f"ch {k}", fontsize=MIN_FONT_SIZE)
    for ax in flat_axes:
        ax.set_xticks([])
        ax.set_yticks([])
        if not ax.images:
            ax.axis("off")
    if artist is not None:
        add_colorbar(artist, list(axes.flat), shrink=0.8)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
