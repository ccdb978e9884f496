"""Activation maps of any layer, and a layer's filters as pictures.

- :func:`feature_maps`: what one or several layers output for a batch of images, in one
  compiled pass; works for Sequential, functional and nested models.
- :func:`dead_channels`: channels that stay zero after their ReLU on every image.
- :func:`receptive_field`: how many input pixels one unit of a layer can see.
- :func:`filter_weights` and :func:`filter_grid`: a convolution's kernel, and the kernel
  laid out as one image, each filter scaled so that zero is mid-grey.
- :func:`vgg16_for_images`: VGG16's convolutional blocks taking RGB images in [0, 1]
  (the ImageNet weights only on request, for Colab); it lives in
  :mod:`camlib.architectures` with the other networks and is re-exported here.

Layers are found and captured with the machinery of :mod:`camlib.cam`: a layer is a name,
a path ``"outer/inner"`` into a nested model, or the layer object itself, and an unknown
name raises a ValueError that lists the model's convolution layers.

Example:
    >>> maps = feature_maps(model, images, "block1_conv1")         # doctest: +SKIP
    >>> maps.shape                                                 # doctest: +SKIP
    (8, 64, 64, 8)
    >>> layers = ["block1_conv1", "block5_conv3"]
    >>> by_layer = feature_maps(model, images, layers)            # doctest: +SKIP
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from camlib import graph
from camlib.architectures import VGG16_MEAN_BGR, vgg16_for_images
from camlib.graph import DEFAULT_BATCH_SIZE, conv_layer_names

__all__ = [
    "feature_maps",
    "dead_channels",
    "receptive_field",
    "filter_weights",
    "filter_grid",
    "conv_layer_names",
    "has_activation",
    "vgg16_for_images",
    "VGG16_MEAN_BGR",
]

_POOLING_TYPES = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)


def has_activation(layer):
    """Whether ``layer`` applies its own activation, so that the value before it exists.

    That is a Conv2D or Dense built with ``activation=``.
    """
    activation = getattr(layer, "activation", None)
    return activation is not None and getattr(activation, "__name__", "") != "linear"


def _site(model, layer, pre_activation):
    found = graph.find_layer(model, layer, allow_input=False)
    if not pre_activation:
        return graph.Site(found, "output")
    if not has_activation(found):
        raise ValueError(
            f"Layer {graph.path_of(model, found)!r} has no activation of its own, so there "
            "is no pre-activation value to read; use pre_activation=False."
        )
    return graph.Site(found, "logits")  # the layer's output with its activation switched off


def _make_pass(model_ref, sites, spec):
    @tf.function(input_signature=[spec])
    def run(images):
        with graph.capturing(sites) as captured:
            model_ref()(images, training=False)
        missing = [site.layer.name for site in sites if site not in captured]
        if missing:
            raise ValueError(f"Layers {missing} are not called by the model.")
        return tuple(tf.cast(captured[site], tf.float32) for site in sites)

    return run


def _run(model, images, sites, batch_size):
    key = ("feature_maps",) + tuple((graph.path_of(model, s.layer), s.where) for s in sites)
    run = graph.compiled(model, key, lambda ref: _make_pass(ref, sites, graph.image_spec(model)))
    batch_size = graph.check_batch_size(batch_size)
    chunks = [
        run(images[start : start + int(batch_size)])
        for start in range(0, len(images), int(batch_size))
    ]
    return [
        np.concatenate([chunk[i].numpy() for chunk in chunks]) for i in range(len(sites))
    ]


def feature_maps(
    model, images, layers, *, pre_activation=False, batch_size=DEFAULT_BATCH_SIZE
):
    """The output of one or several layers for a batch of images.

    Args:
        model: a built single-input Keras model (nested models are entered).
        images: (N, H, W, C) array matching the model's input; one image is
            ``image[None]``.
        layers: one layer (a name, an ``"outer/inner"`` path or a layer object), or a list
            of them.
        pre_activation: read each layer's value *before* its own activation (ReLU). Each
            such layer then gets a pass of its own, so that the layers after it still see
            activated values.
        batch_size: images per compiled call; bounds memory.

    Returns:
        For one layer, a float32 array: (N, h, w, K) for a convolution, (N, K) for a
        Dense layer. For a list, a dict from each entry (its path, for a layer object)
        to such an array, in the order given.

    Raises:
        ValueError: an unknown layer (the message lists the convolution layers), images
            that do not fit the model, or ``pre_activation`` for a layer without an
            activation.

    Example:
        >>> layers = ["block1_conv1", "conv_cam"]
        >>> maps = feature_maps(model, images[:4], layers)        # doctest: +SKIP
        >>> {name: m.shape for name, m in maps.items()}           # doctest: +SKIP
        {'block1_conv1': (4, 64, 64, 8), 'conv_cam': (4, 4, 4, 128)}
    """
    graph.check_model(model, classifier=False)
    single = isinstance(layers, (str, keras.layers.Layer))
    wanted = [layers] if single else list(layers)
    if not wanted:
        raise ValueError("layers is empty; name at least one layer.")
    sites = [_site(model, layer, pre_activation) for layer in wanted]
    images = graph.check_images(model, images)
    if pre_activation:
        outputs = [_run(model, images, [site], batch_size)[0] for site in sites]
    else:
        outputs = _run(model, images, sites, batch_size)
    if single:
        return outputs[0]
    keys = [
        layer if isinstance(layer, str) else graph.path_of(model, layer) for layer in wanted
    ]
    return dict(zip(keys, outputs))


def dead_channels(model, images, layer, *, batch_size=DEFAULT_BATCH_SIZE):
    """Indices of the channels of ``layer`` that are exactly zero on every image.

    After a ReLU such a channel passes no gradient back, so it can neither learn nor be
    maximised by gradient ascent (chapter 3); its value *before* the ReLU still varies.

    Example:
        >>> dead_channels(model, images, "conv_cam")                   # doctest: +SKIP
        array([  3, 106])
    """
    maps = feature_maps(model, images, layer, batch_size=batch_size)
    spatial = tuple(range(maps.ndim - 1))
    return np.flatnonzero(np.all(maps == 0, axis=spatial))


def _geometry(layer):
    """(kernel size, stride, dilation) along the height axis; (1, 1, 1) if pointwise."""
    if hasattr(layer, "kernel_size") and hasattr(layer, "strides"):
        dilation = getattr(layer, "dilation_rate", (1,))
        return int(layer.kernel_size[0]), int(layer.strides[0]), int(dilation[0])
    if isinstance(layer, _POOLING_TYPES):
        return int(layer.pool_size[0]), int(layer.strides[0]), 1
    return 1, 1, 1


def receptive_field(model, layer):
    """How many input pixels one unit of ``layer`` sees, and how far apart units sit.

    ``size`` grows by ``(k - 1) · stride`` with every k×k convolution or pooling window;
    ``stride`` multiplies at every pooling. A layer without positions, such as global
    pooling (``gap``, ``gmp``), ``Flatten`` or a Dense layer after them, mixes every
    position: its one unit sees the whole image, so ``size`` is at least the image's side,
    and ``stride`` is the side (there is one unit per image). The chain of layers is
    followed back through each layer's first input, which is exact for plain stacks such
    as VGG; for a layer inside a nested model it is counted from that model's own input.

    Args:
        model: a built Keras model.
        layer: a layer name, an ``"outer/inner"`` path or the layer object.

    Returns:
        ``(size, stride)`` in input pixels along the height axis.

    Raises:
        ValueError: an unknown layer, or a layer without positions in a model whose input
            height is not fixed.

    Example:
        >>> receptive_field(model, "block1_conv")
        (3, 1)
        >>> receptive_field(model, "conv_cam"), receptive_field(model, "fc")
        ((42, 4), (64, 64))
    """
    target = graph.find_layer(model, layer)
    chain = [target]
    tensor = graph.source(target.output)[1] if target.output is not None else None
    while tensor is not None:
        previous, tensor = graph.source(tensor)
        if previous is None:
            break
        chain.append(previous)
    size, stride, side = 1, 1, None
    for step in reversed(chain):
        output_shape = tuple(step.output.shape) if step.output is not None else ()
        if side is None and len(output_shape) == 4:
            side = output_shape[1]  # the first image-shaped tensor: the input's height
        if len(output_shape) == 4:
            kernel, step_stride, dilation = _geometry(step)
            size += (kernel - 1) * dilation * stride
            stride *= step_stride
        else:  # a layer without positions mixes them all
            if side is None:
                raise ValueError(
                    f"Layer {graph.path_of(model, target)!r} mixes every position of an "
                    "input whose height is not fixed, so its field has no size in pixels; "
                    "build the model with a fixed input shape."
                )
            size, stride = max(size, int(side)), int(side)
            break
    return size, stride


def filter_weights(model, layer):
    """The kernel of a convolution layer, float32 (kh, kw, in_channels, filters).

    Example:
        >>> filter_weights(model, "block1_conv1").shape                # doctest: +SKIP
        (3, 3, 3, 8)
    """
    found = graph.find_layer(model, layer)
    kernel = getattr(found, "kernel", None)
    if kernel is None or len(kernel.shape) != 4:
        raise ValueError(
            f"Layer {graph.path_of(model, found)!r} has no 2-D convolution kernel. "
            f"Convolution layers: {conv_layer_names(model)}."
        )
    return np.asarray(keras.ops.convert_to_numpy(kernel), dtype=np.float32)


def filter_grid(kernel, *, ncols=None, pad=1, zoom=1):
    """Lay a convolution kernel out as one image, each filter scaled on its own.

    Each filter is mapped to [0, 1] by ``0.5 + 0.5 · w / max|w|``, so zero is mid-grey and
    the sign of a weight stays visible (the usual min-max scaling hides it).

    - A kernel with 3 input channels (a first layer) becomes a grid of RGB tiles, one per
      filter, like the AlexNet 96×11×11×3 figure: a (rows, cols, 3) image.
    - Any other kernel becomes a grey grid with one row per filter and one column per
      input channel, like the ConvNetJS layer-2 figure: a (rows, cols) image.

    White lines ``pad`` pixels wide separate the tiles; ``zoom`` repeats every weight as a
    zoom×zoom block so that small kernels stay sharp when shown.

    Example:
        >>> filter_grid(np.random.randn(3, 3, 3, 8), ncols=4).shape
        (7, 15, 3)
        >>> filter_grid(np.random.randn(3, 3, 16, 32)).shape
        (127, 63)
    """
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim == 3:
        kernel = kernel[:, :, None, :]
    if kernel.ndim != 4:
        raise ValueError(
            f"kernel must be (kh, kw, in_channels, filters), got shape {kernel.shape}."
        )
    if int(pad) < 0 or int(zoom) < 1:
        raise ValueError(f"pad must be >= 0 and zoom >= 1, got pad={pad}, zoom={zoom}.")
    if not np.all(np.isfinite(kernel)):
        raise ValueError("kernel contains non-finite values (NaN or inf).")
    limit = np.abs(kernel).max(axis=(0, 1, 2), keepdims=True)
    scaled = 0.5 + 0.5 * kernel / np.where(limit > 0, limit, 1.0)
    scaled = scaled.repeat(int(zoom), axis=0).repeat(int(zoom), axis=1)
    height, width, in_channels, n_filters = scaled.shape
    if in_channels == 3:
        tiles = [scaled[..., i] for i in range(n_filters)]
        ncols = int(ncols or math.ceil(math.sqrt(n_filters)))
        nrows = math.ceil(n_filters / ncols)
        depth = (3,)
    else:
        tiles = [scaled[:, :, c, f] for f in range(n_filters) for c in range(in_channels)]
        ncols, nrows, depth = in_channels, n_filters, ()
    pad = int(pad)
    canvas = np.ones(
        (nrows * (height + pad) - pad, ncols * (width + pad) - pad) + depth,
        dtype=np.float32,
    )
    for index, tile in enumerate(tiles):
        row, col = divmod(index, ncols)
        top, left = row * (height + pad), col * (width + pad)
        canvas[top : top + height, left : left + width] = tile
    return canvas
