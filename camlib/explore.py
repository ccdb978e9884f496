"""Explorers that run in the reader's browser, from small arrays the notebook exports.

The module has :class:`Explorer` and one function per explorer of the book:

- :func:`filters` (chapter 1): pick a photo and a 3×3 kernel, or type your own, and see
  the response, Sobel x and y and the gradient magnitude;
- :func:`activations` (chapter 2): pick an image, a layer and a channel; hover a map cell
  to see its receptive field on the image;
- :func:`cam_sum` (chapter 4): each channel's map f_k, its weight w_k^c and its part
  w_k^c f_k of M_c; drag a weight and watch M_c and the score S_c change together;
- :func:`map_to_box` (chapter 5): slide the threshold and see the kept region, the largest
  region, its box and the IoU, beside the dataset's accuracy at every threshold;
- :func:`methods` (chapter 7): every method's map of one image, with its pointing-game
  hit and its box.

An explorer is plain HTML with its data in a JSON block and a script that draws it. The
same output works on the built site with no network and no kernel, in Jupyter and on
Colab: nothing is loaded from elsewhere. Images and maps travel as 8-bit PNG (lossless),
so an explorer weighs tens of kilobytes. Every number the browser shows is computed from
the exported data by the same rules as camlib's own functions, and the book's browser
tests check that it is (``tests/browser``).

In Jupyter, a notebook's saved outputs run their scripts only once the notebook is
trusted; running the cell again is enough.

Example:
    >>> import numpy as np
    >>> explorer = filters({"ramp": np.tile(np.linspace(0, 1, 8), (8, 1))})
    >>> explorer.kind, explorer.data_bytes < 5000
    ('filters', True)
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import numbers
from collections.abc import Mapping
from importlib import resources

import numpy as np

__all__ = ["Explorer", "filters", "activations", "cam_sum", "map_to_box", "methods"]

#: The largest data an explorer may embed, in bytes: a page should stay light.
MAX_DATA_BYTES = 300_000

_ids = itertools.count()


def _runtime():
    return resources.files("camlib").joinpath("explore.js").read_text(encoding="utf-8")


class Explorer:
    """One explorer: its kind, its data, and the HTML that shows it.

    Make it the last expression of a cell to show it (it has ``_repr_html_``).

    Attributes:
        kind: which explorer, e.g. ``"map_to_box"``.
        data: the JSON-ready dict that the browser reads.
        data_bytes: the size of that JSON, in bytes.
        html: the whole output: a ``div`` with the data and the script.
    """

    def __init__(self, kind: str, data: dict, *, fallback: str):
        self.kind = kind
        self.data = {"kind": kind, **data}
        text = json.dumps(self.data, separators=(",", ":"), allow_nan=False)
        self.data_bytes = len(text.encode("utf-8"))
        if self.data_bytes > MAX_DATA_BYTES:
            raise ValueError(
                f"the {kind} explorer would embed {self.data_bytes:,} bytes, more than "
                f"{MAX_DATA_BYTES:,}; pass fewer images or channels")
        element = f"cam-explore-{next(_ids)}"
        safe = text.replace("</", "<\\/")  # a JSON string may not close the script
        self.html = (
            f'<div class="cam-explore" id="{element}" data-kind="{kind}">\n'
            f'<script type="application/json" class="cam-explore-data">{safe}</script>\n'
            f'<noscript><p>{html.escape(fallback)}</p></noscript>\n'
            # The script finds its own explorer: Jupyter may run it before the output
            # is attached to the page, when getElementById would find nothing.
            f"<script>\n{_runtime()}\ncamExplore.mount((document.currentScript && "
            f'document.currentScript.closest(".cam-explore")) || '
            f'document.getElementById("{element}"));\n</script>\n</div>'
        )

    def _repr_html_(self):
        return self.html

    def __repr__(self):
        return f"<camlib.explore.Explorer {self.kind}: {self.data_bytes:,} bytes of data>"


def _png(array):
    """An (H, W) or (H, W, 3) uint8 array as a PNG data URI (lossless)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _to_uint8(values):
    """Values in [0, 1] as uint8, rounded; the browser reads ``q / 255``."""
    return np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)


def _lut(name):
    """A colormap as 256 RGB triples, so the browser colours maps as the figures do."""
    from matplotlib import colormaps

    table = colormaps[name](np.linspace(0, 1, 256))[:, :3]
    return np.round(table * 255).astype(int).ravel().tolist()


def _finite_array(values, name, ndim):
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array, got {type(values).__name__}"
                         ) from None
    if array.ndim not in ndim or array.size == 0:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimensions, got "
                         f"shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or inf; explore finite values only")
    return array


def _images(images, name="images"):
    """Images as uint8 RGB (N, H, W, 3) from floats in [0, 1]; gray is repeated."""
    array = _finite_array(images, name, (3, 4))
    if array.ndim == 3:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.shape[-1] != 3:
        raise ValueError(f"{name} must be (N, H, W, 3) or (N, H, W), got {array.shape}")
    if array.min() < 0 or array.max() > 1:
        raise ValueError(f"{name} must hold values in [0, 1], got {array.min():.3g} to "
                         f"{array.max():.3g}; divide 8-bit images by 255")
    return _to_uint8(array)


def _names(values, n, name):
    if values is None:
        return [f"image {i}" for i in range(n)]
    if isinstance(values, str) or len(values) != n:
        raise ValueError(f"{name} must be a list of {n} strings, one per image")
    return [str(v) for v in values]


def _count(value, name, low=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be a whole number of at least {low}, got {value!r}")
    return int(value)


# ---------------------------------------------------------------- chapter 1: filters


def filters(images: Mapping[str, np.ndarray], kernels: Mapping[str, np.ndarray] | None = None,
            *, size: int = 128) -> Explorer:
    """Pick a photo and a 3×3 kernel, or type your own, and see its response.

    The browser filters the chosen photo with the kernel, as
    :func:`camlib.filters.correlate2d` does (cross-correlation, ``'reflect'`` borders),
    and always shows Sobel x, Sobel y and their gradient magnitude beside it. A kernel
    whose weights sum to zero gives a signed response, drawn on the diverging scale at
    ± the 99.5th percentile of the absolute response, as
    :func:`camlib.widgets.show_response` draws it; any other kernel gives an image, drawn
    in grey from 0 to 1.

    Args:
        images: names to grayscale images (H, W) in [0, 1]; colour images are converted
            with :func:`camlib.filters.to_gray`. Each is resized to ``size`` pixels on its
            longer side, then sent as 8-bit grey.
        kernels: names to 3×3 kernels; by default :data:`camlib.filters.KERNELS`.
        size: the longer side of the photos in the browser, in pixels.

    Returns:
        An :class:`Explorer`.
    """
    from skimage.transform import resize

    from camlib.filters import KERNELS, to_gray

    size = _count(size, "size", 8)
    if not isinstance(images, Mapping) or not images:
        raise ValueError("images must be a non-empty dict of names to grayscale images")
    kernels = KERNELS if kernels is None else kernels
    if not isinstance(kernels, Mapping) or not kernels:
        raise ValueError("kernels must be a non-empty dict of names to 3×3 kernels")
    photos = []
    for key, image in images.items():
        gray = to_gray(_finite_array(image, f"images[{key!r}]", (2, 3)))
        if gray.min() < 0 or gray.max() > 1:
            raise ValueError(f"images[{key!r}] must hold values in [0, 1]")
        scale = size / max(gray.shape)
        if scale < 1:
            shape = (max(1, round(gray.shape[0] * scale)), max(1, round(gray.shape[1] * scale)))
            gray = resize(gray, shape, anti_aliasing=True)
        photos.append({"name": str(key), "png": _png(_to_uint8(gray))})
    kernel_list = []
    for key, kernel in kernels.items():
        array = _finite_array(kernel, f"kernels[{key!r}]", (2,))
        if array.shape != (3, 3):
            raise ValueError(f"kernels[{key!r}] must be 3×3 (the explorer edits 3×3 "
                             f"kernels), got {array.shape}")
        kernel_list.append({"name": str(key), "values": array.ravel().tolist()})
    data = {"images": photos, "kernels": kernel_list, "signed_lut": _lut("RdBu_r")}
    return Explorer("filters", data, fallback="The filter explorer needs JavaScript. The "
                    "figures below show every kernel on the same photo.")


# ----------------------------------------------------------- chapter 2: activations


def activations(model, images, layers, *, channels: int = 8, titles=None) -> Explorer:
    """Pick an image, a layer and a channel; hover a map cell to see what it sees.

    The maps come from :func:`camlib.activations.feature_maps`. Each channel is scaled by
    its largest value over the images, so a channel that is silent on one image shows as
    black. Hovering a cell draws its receptive field on the image: a square of
    :func:`camlib.activations.receptive_field`'s size, centred on the input pixel the cell
    sits over, ``(index + 0.5) · stride - 0.5``, clipped to the image.

    Args:
        model: a built Keras model.
        images: (N, H, W, 3) images in [0, 1], a few (each adds its maps).
        layers: names of convolution layers.
        channels: how many channels of each layer to send (the first ones).
        titles: one name per image.

    Returns:
        An :class:`Explorer`.
    """
    from camlib.activations import feature_maps, receptive_field

    pixels = _images(images)
    channels = _count(channels, "channels")
    if isinstance(layers, str):
        layers = [layers]
    if not isinstance(layers, (list, tuple)) or not layers or not all(
            isinstance(name, str) for name in layers):
        raise ValueError(f"layers must be a list of layer names, got {layers!r}")
    maps = feature_maps(model, np.asarray(images, dtype=np.float32), list(layers))
    layer_data = []
    for name in layers:
        values = np.asarray(maps[name], dtype=np.float64)
        if values.ndim != 4:
            raise ValueError(f"layer {name!r} has no spatial maps (shape {values.shape}); "
                             "choose convolution layers")
        values = values[..., :channels]
        top = values.max(axis=(0, 1, 2))
        top = np.where(top > 0, top, 1.0)
        field, stride = receptive_field(model, name)
        layer_data.append({
            "name": name,
            "shape": list(values.shape[1:3]),
            "field": int(field),
            "stride": int(stride),
            "top": top.tolist(),
            # One PNG per image: the channels side by side, each scaled by its top.
            "maps": [_png(_to_uint8(np.concatenate(list(np.moveaxis(v / top, -1, 0)), 1)))
                     for v in values],
        })
    data = {
        "titles": _names(titles, len(pixels), "titles"),
        "images": [_png(p) for p in pixels],
        "size": list(pixels.shape[1:3]),
        "layers": layer_data,
    }
    return Explorer("activations", data, fallback="The activation explorer needs "
                    "JavaScript. The figures above show the same maps.")


# -------------------------------------------------------------- chapter 4: CAM as a sum


def cam_sum(model, images, *, class_names=None, channels: int = 8, titles=None) -> Explorer:
    """CAM as a sum of channels, with the weights in the reader's hands.

    For each image and class it shows the ``channels`` channels f_k with the largest
    contribution to the score (the absolute value of ``w_k^c · mean(f_k)``), their weights
    w_k^c as sliders, their parts w_k^c f_k, and M_c = Σ_k w_k^c f_k over *all* channels.
    The score beside it is S_c = Σ_k w_k^c · mean(f_k) + b_c, the mean of M_c plus the
    bias (the CAM identity of chapter 4). Dragging w_k^c changes M_c by the change times
    f_k and S_c by the change times mean(f_k). Each f_k travels as 8-bit PNG with its own
    scale, so S_c matches the model's logit to about 1e-3 of the maps' range; the explorer
    shows both.

    Args:
        model: a Keras model with a GAP → Dense head (see :func:`camlib.cam.find_cam_head`).
        images: (N, H, W, 3) images in [0, 1], a few.
        class_names: one name per class.
        channels: how many channels to show as tiles.
        titles: one name per image.

    Returns:
        An :class:`Explorer`.
    """
    import keras

    from camlib import graph
    from camlib.cam import find_cam_head

    pixels = _images(images)
    channels = _count(channels, "channels")
    head = find_cam_head(model)
    batch = np.asarray(images, dtype=np.float32)
    features = keras.Model(model.inputs[0], head.features)(batch)
    features = np.asarray(features, dtype=np.float64)  # (N, h, w, K), after ReLU
    weights, bias = (np.asarray(w, dtype=np.float64) for w in head.dense.get_weights())
    logits = np.asarray(graph.logits(model, batch), dtype=np.float64)
    n_classes = weights.shape[1]
    if class_names is None:
        class_names = [f"class {c}" for c in range(n_classes)]
    if isinstance(class_names, str) or len(class_names) != n_classes:
        raise ValueError(f"class_names must list {n_classes} names, one per class")
    if features.min() < 0:
        raise ValueError("the head's feature maps have negative values; cam_sum sends "
                         "them as 8-bit maps of values >= 0 (a ReLU before GAP)")
    top = features.max(axis=(1, 2))  # (N, K): each image's own scale per channel
    top = np.where(top > 0, top, 1.0)
    h, w, k = features.shape[1:]
    per_image = []
    for i in range(len(features)):
        scaled = features[i] / top[i]
        # The channels side by side, one PNG per image (K tiles of h × w).
        tiles = np.concatenate(list(np.moveaxis(scaled, -1, 0)), axis=1)
        per_image.append({"maps": _png(_to_uint8(tiles)), "top": top[i].tolist(),
                          "logits": logits[i].tolist()})
    data = {
        "titles": _names(titles, len(pixels), "titles"),
        "images": [_png(p) for p in pixels],
        "size": list(pixels.shape[1:3]),
        "map_shape": [int(h), int(w)],
        "weights": weights.tolist(),  # (K, C)
        "bias": bias.tolist(),
        "classes": [str(c) for c in class_names],
        "shown": min(channels, int(k)),
        "per_image": per_image,
        "signed_lut": _lut("RdBu_r"),
    }
    return Explorer("cam_sum", data, fallback="The CAM explorer needs JavaScript. The "
                    "figures above show the same sum.")


# ------------------------------------------------------------- chapter 5: map to box


def _quantized_maps(maps, size):
    """Maps upsampled to ``size``, min-max scaled per map, as uint8 (N, H, W)."""
    from camlib.maps import check_maps, upsample

    maps = check_maps(maps)
    maps = maps[None] if maps.ndim == 2 else maps
    if tuple(maps.shape[1:3]) != tuple(size):
        maps = upsample(maps, size)
    maps = np.asarray(maps, dtype=np.float64)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    flat = (span == 0).ravel()
    if flat.any():
        raise ValueError(f"maps {np.flatnonzero(flat).tolist()} are flat (one value "
                         "everywhere): they point nowhere and have no box")
    return _to_uint8((maps - low) / span)


def _boxes(boxes, n, name="boxes"):
    array = np.asarray(boxes)
    if array.shape != (n, 4):
        raise ValueError(f"{name} must be (N, 4) boxes (x0, y0, x1, y1), one per image; got "
                         f"shape {array.shape} for {n} images")
    return array.astype(int).tolist()


def _method_maps(maps, n, name="maps"):
    if not isinstance(maps, Mapping) or not maps:
        raise ValueError(f"{name} must be a non-empty dict of method names to (N, h, w) maps")
    for key, values in maps.items():
        if len(values) != n:
            raise ValueError(f"{name}[{key!r}] has {len(values)} maps for {n} images")
    return maps


def map_to_box(images, maps, boxes, *, shown: int = 8, thresholds=None, titles=None,
               iou_threshold: float = 0.5) -> Explorer:
    """Slide the threshold, and see the region, the box and the IoU it gives.

    For the chosen image and method the browser keeps the pixels of the min-max scaled
    map at or above the threshold, finds the largest 8-connected region (ties: the larger
    summed value, then the first in row-major order), boxes it and computes its IoU with
    the true box: the rule of :func:`camlib.localize.box_from_map`, applied to the 8-bit
    map the explorer carries. Beside it, each method's localization accuracy over *all*
    the images at every threshold (:func:`camlib.localize.threshold_sweep`, on the float
    maps), with the current threshold marked.

    Args:
        images: (N, H, W, 3) images in [0, 1].
        maps: method names to (N, h, w) maps of those images (any scale).
        boxes: (N, 4) true boxes in image pixels.
        shown: how many of the images the reader can pick (the first ones).
        thresholds: the thresholds of the accuracy curve; by default 0.05 to 0.95.
        titles: one name per image.
        iou_threshold: the IoU that counts as a hit.

    Returns:
        An :class:`Explorer`.
    """
    from camlib.localize import threshold_sweep

    pixels = _images(images)
    n = len(pixels)
    size = pixels.shape[1:3]
    boxes = _boxes(boxes, n)
    maps = _method_maps(maps, n)
    shown = min(_count(shown, "shown"), n)
    if thresholds is None:
        thresholds = np.round(np.arange(0.05, 0.951, 0.05), 2)
    thresholds = _finite_array(thresholds, "thresholds", (1,))
    curves, quantized = {}, {}
    for name, values in maps.items():
        quantized[name] = [_png(q) for q in _quantized_maps(np.asarray(values)[:shown], size)]
        curves[name] = [float(a) for a in threshold_sweep(
            values, np.asarray(boxes), thresholds, iou_threshold, image_size=size)]
    data = {
        "titles": _names(titles, n, "titles")[:shown],
        "images": [_png(p) for p in pixels[:shown]],
        "boxes": boxes[:shown],
        "size": list(size),
        "maps": quantized,
        "thresholds": thresholds.tolist(),
        "curves": curves,
        "n_images": n,
        "iou_threshold": float(iou_threshold),
        "heat_lut": _lut("jet"),
    }
    return Explorer("map_to_box", data, fallback="The map-to-box explorer needs "
                    "JavaScript. The figures above show boxes at fixed thresholds.")


# -------------------------------------------------------- chapter 7: methods side by side


def methods(images, maps, boxes, *, thresholds: Mapping[str, float], shown: int = 8,
            titles=None) -> Explorer:
    """Every method's map of one image, with its pointing-game hit and its box.

    The hits come from :func:`camlib.metrics.pointing_hits` and the boxes from
    :func:`camlib.localize.boxes_from_maps` at each method's threshold (for example the
    one tuned on validation images), computed here in Python on the float maps.

    Args:
        images: (N, H, W, 3) images in [0, 1].
        maps: method names to (N, h, w) maps.
        boxes: (N, 4) true boxes in image pixels.
        thresholds: method names to the threshold of its box.
        shown: how many images the reader can pick (the first ones).
        titles: one name per image.

    Returns:
        An :class:`Explorer`.
    """
    from camlib.localize import box_ious, boxes_from_maps
    from camlib.metrics import pointing_hits

    pixels = _images(images)
    size = pixels.shape[1:3]
    maps = _method_maps(maps, len(pixels))
    shown = min(_count(shown, "shown"), len(pixels))
    true_boxes = np.asarray(_boxes(boxes, len(pixels)))[:shown]
    if not isinstance(thresholds, Mapping) or set(thresholds) != set(maps):
        raise ValueError(f"thresholds must give one threshold per method: {list(maps)}")
    per_method = {}
    for name, values in maps.items():
        values = np.asarray(values)[:shown]
        found = boxes_from_maps(values, thresholds[name], image_size=size)
        per_method[name] = {
            "maps": [_png(q) for q in _quantized_maps(values, size)],
            "hits": pointing_hits(values, true_boxes, image_size=size).astype(bool).tolist(),
            "boxes": found.tolist(),
            "ious": box_ious(values, true_boxes, thresholds[name], image_size=size).tolist(),
            "threshold": float(thresholds[name]),
        }
    data = {
        "titles": _names(titles, len(pixels), "titles")[:shown],
        "images": [_png(p) for p in pixels[:shown]],
        "boxes": true_boxes.tolist(),
        "size": list(size),
        "methods": per_method,
        "heat_lut": _lut("jet"),
    }
    return Explorer("methods", data, fallback="The methods explorer needs JavaScript. "
                    "The figures above show the same maps.")
