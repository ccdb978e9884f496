"""ipywidgets explorers for chapters 1 and 2, and how a filter's response is drawn.

The module has :func:`filter_explorer`, :func:`show_response` and
:func:`activation_browser`. They use only widgets that exist in both ipywidgets 7 and 8
(``Dropdown``, ``Output``, ``HBox``/``VBox``, ``interactive_output``), so they run in
Jupyter and on Colab alike. They need a running kernel, so the book's pages use
:mod:`camlib.explore` instead, whose explorers run in the browser on the static site too.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np


def _named_arrays(items, name, check):
    """Check a mapping of names to arrays with ``check``; refuse anything else."""
    if not isinstance(items, Mapping) or not items:
        raise ValueError(f"{name} must be a non-empty dict of names to arrays, got "
                         f"{type(items).__name__}")
    return {str(key): check(value) for key, value in items.items()}


def filter_explorer(images: Mapping[str, np.ndarray], kernels: Mapping[str, np.ndarray]):
    """Pick an image and a kernel from two menus and see the kernel and its response.

    Returns the widget; make it the last expression of a cell to show it.

    ``images`` maps names to H×W grayscale arrays; ``kernels`` maps names to 2-D kernels.

    Example:
        >>> from camlib.filters import KERNELS
        >>> explorer = filter_explorer({"flat": np.zeros((16, 16))}, KERNELS)  # doctest: +SKIP
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from camlib.filters import correlate2d, to_gray
    from camlib.plot import show_kernel

    def grey(image):
        return to_gray(image)

    def kernel(values):
        # Filtering a 1×1 image checks the kernel the same way correlate2d will.
        correlate2d(np.zeros((1, 1)), values)
        return np.asarray(values, dtype=np.float32)

    images = _named_arrays(images, "images", grey)
    kernels = _named_arrays(kernels, "kernels", kernel)
    image_menu = widgets.Dropdown(options=list(images), description="image")
    kernel_menu = widgets.Dropdown(options=list(kernels), description="kernel")

    def show(image_name, kernel_name):
        image, kernel = images[image_name], kernels[kernel_name]
        response = correlate2d(image, kernel)
        fig, (ax_image, ax_kernel, ax_response) = plt.subplots(
            1, 3, figsize=(7, 2.6), gridspec_kw={"width_ratios": [3, 1.4, 3]}
        )
        ax_image.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax_image.set_title(image_name, fontsize=9)
        ax_image.axis("off")
        show_kernel(kernel, ax_kernel, title=kernel_name)
        show_response(ax_response, kernel, response)
        ax_response.set_title("response", fontsize=9)
        fig.tight_layout()
        plt.show()

    output = widgets.interactive_output(
        show, {"image_name": image_menu, "kernel_name": kernel_menu})
    return widgets.VBox([widgets.HBox([image_menu, kernel_menu]), output])

def show_response(ax, kernel: np.ndarray, response: np.ndarray, *, limit: float | None = None):
    """Draw a filter's response on the scale that suits its kernel; return the image artist.

    - A kernel whose weights sum to zero (an edge detector) gives a signed response: it
      is drawn on the diverging map centred on zero, from ``-limit`` to ``+limit``
      (by default the 99.5th percentile of ``|response|``).
    - Any other kernel (identity, sharpen, blur) gives an image: it is drawn in grey on
      the image's own scale, 0 (black) to 1 (white), clipped. So identity looks exactly
      like the original, and sharpen is not washed out.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from camlib.filters import KERNELS
        >>> _, ax = plt.subplots()
        >>> show_response(ax, KERNELS["identity"], np.eye(4)).get_clim()
        (0.0, 1.0)
    """
    from camlib.filters import correlate2d
    from camlib.plot import robust_limit, signed_map

    correlate2d(np.zeros((1, 1)), kernel)  # the same kernel check as the filter itself
    kernel = np.asarray(kernel, dtype=float)
    try:
        response = np.asarray(response, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("response must be a numeric H×W array, as correlate2d returns it"
                         ) from None
    if response.ndim != 2 or response.size == 0 or not np.isfinite(response).all():
        raise ValueError(f"response must be a finite H×W array, got shape {response.shape}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, numbers.Real)
                              or not np.isfinite(limit) or limit <= 0):
        raise ValueError(f"limit must be a positive finite number or None, got {limit!r}")
    if abs(kernel.sum()) < 1e-6:
        limit = robust_limit(response) if limit is None else float(limit)
        artist = signed_map(ax, response, limit=limit)
    else:
        artist = ax.imshow(np.clip(response, 0, 1), cmap="gray", vmin=0, vmax=1,
                           interpolation="nearest")
    ax.axis("off")
    return artist


def activation_browser(model, images: np.ndarray, layers, *, image_titles=None):
    """Browse a model's activation maps: pick a layer, a channel and an image.

    The maps of every listed layer are computed once, with
    :func:`camlib.activations.feature_maps`; the widgets only redraw. The panel shows the
    image, the chosen channel's map (scaled to the channel's largest value over all the
    images, so a silent channel shows as black) and the map laid over the image.

    Returns the widget; make it the last expression of a cell to show it.

    Example:
        >>> layers = ["block1_conv1", "block5_conv3"]
        >>> browser = activation_browser(model, images[:6], layers)  # doctest: +SKIP
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from camlib.activations import feature_maps
    from camlib.plot import overlay

    images = np.asarray(images)
    if isinstance(layers, str):
        layers = [layers]
    elif isinstance(layers, (list, tuple)) and layers and all(
            isinstance(name, str) for name in layers):
        layers = list(layers)
    else:
        raise ValueError(f"layers must be a layer name or a non-empty list of names, got "
                         f"{layers!r}; for a layer object pass layer.name")
    maps = feature_maps(model, images, layers)
    flat = [name for name in layers if np.ndim(maps[name]) != 4]
    if flat:
        raise ValueError(f"layers {flat} have no spatial maps (output shapes "
                         f"{[np.shape(maps[n]) for n in flat]}); choose convolution layers, "
                         "e.g. from camlib.graph.conv_layer_names(model)")
    if image_titles is None:
        image_titles = [f"image {i}" for i in range(len(images))]
    if isinstance(image_titles, str):
        raise ValueError("image_titles must be a list of strings, one per image")
    titles = list(image_titles)
    if len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} image_titles")

    layer_menu = widgets.Dropdown(options=layers, description="layer")
    channel_slider = widgets.IntSlider(
        value=0, min=0, max=maps[layers[0]].shape[-1] - 1, description="channel"
    )
    image_menu = widgets.Dropdown(
        options=[(title, i) for i, title in enumerate(titles)], description="image"
    )

    def fit_channels(change):
        channel_slider.max = maps[change["new"]].shape[-1] - 1

    layer_menu.observe(fit_channels, names="value")

    def show(layer, channel, index):
        layer_map = maps[layer][index, :, :, channel]
        top = float(maps[layer][..., channel].max()) or 1.0
        fig, (ax_image, ax_map, ax_overlay) = plt.subplots(1, 3, figsize=(7, 2.6))
        ax_image.imshow(np.clip(images[index], 0, 1))
        ax_image.set_title(titles[index], fontsize=9)
        ax_map.imshow(layer_map, cmap="gray", vmin=0, vmax=top, interpolation="nearest")
        height, width = layer_map.shape
        ax_map.set_title(f"{layer}, channel {channel} ({height}×{width})", fontsize=9)
        overlay(images[index], layer_map / top, ax_overlay, title="over the image")
        for ax in (ax_image, ax_map):
            ax.axis("off")
        fig.tight_layout()
        plt.show()

    output = widgets.interactive_output(
        show, {"layer": layer_menu, "channel": channel_slider, "index": image_menu}
    )
    return widgets.VBox([widgets.HBox([layer_menu, channel_slider, image_menu]), output])
