"""ipywidgets explorers. They use only widgets that exist in both ipywidgets 7 and 8
(``Dropdown``, ``Output``, ``HBox``/``VBox``, ``interactive_output``), so they run in
Jupyter and on Colab alike. Each explorer has a static figure beside it in the book.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np


def filter_explorer(images: Mapping[str, np.ndarray], kernels: Mapping[str, np.ndarray]):
    """Pick an image and a kernel from two menus and see the kernel and its response.

    Returns the widget; make it the last expression of a cell to show it.

    ``images`` maps names to H×W grayscale arrays; ``kernels`` maps names to 2-D kernels.

    Example
    -------
    >>> from camlib.filters import KERNELS
    >>> explorer = filter_explorer({"flat": np.zeros((16, 16))}, KERNELS)
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from camlib.filters import correlate2d
    from camlib.plot import show_kernel

    if not images or not kernels:
        raise ValueError("filter_explorer needs at least one image and one kernel")
    image_menu = widgets.Dropdown(options=list(images), description="image")
    kernel_menu = widgets.Dropdown(options=list(kernels), description="kernel")

    def show(image_name, kernel_name):
        image, kernel = images[image_name], kernels[kernel_name]
        response = correlate2d(image, kernel)
        fig, (ax_image, ax_kernel, ax_response) = plt.subplots(
            1, 3, figsize=(9, 3), gridspec_kw={"width_ratios": [3, 1.2, 3]}
        )
        ax_image.imshow(image, cmap="gray")
        ax_image.set_title(image_name, fontsize=9)
        ax_image.axis("off")
        show_kernel(kernel, ax_kernel, title=kernel_name)
        limit = float(np.abs(response).max()) or 1.0
        ax_response.imshow(response, cmap="gray", vmin=-limit, vmax=limit)
        ax_response.set_title("response", fontsize=9)
        ax_response.axis("off")
        fig.tight_layout()
        plt.show()

    output = widgets.interactive_output(show, {"image_name": image_menu, "kernel_name": kernel_menu})
    return widgets.VBox([widgets.HBox([image_menu, kernel_menu]), output])
