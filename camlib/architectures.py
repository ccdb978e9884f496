"""Networks with a CAM-ready head, and VGG16 for looking inside (chapters 2 to 5).

- :func:`gap_cnn`: a small CNN whose last convolution ``conv_cam`` feeds global average
  (or max) pooling and one Dense layer ``fc``: the head that CAM needs (chapters 4 and 6).
  ``pooling="flatten"`` gives the usual fully connected head instead, and ``pools`` a
  finer map with the same weights (chapter 5).
- :func:`dilated_cnn`: ``gap_cnn`` with fewer pools and dilated convolutions, so that the
  map is finer and every unit still sees the same pixels (chapter 5).
- :func:`box_cnn`: the same convolutions with a head that predicts the object's box from
  the true boxes: the fully supervised model of chapter 5.
- :func:`vggcam`: the slides' VGGCAM, VGG16's convolutional blocks plus ``conv_cam``, GAP
  and ``fc``; ``width`` scales it down so that it trains on a CPU (chapter 5).
- :func:`vgg16_for_images`: VGG16's convolutional blocks behind their own preprocessing,
  taking RGB images in [0, 1]; no classifier (chapters 2 and 3).
- :data:`ARCHITECTURES`: the builders by name, as the zoo's configs name them.
- :data:`VGG16_MEAN_BGR`: VGG16's input mean, in its BGR channel order.

Every builder has the same form, ``builder(input_shape, n_classes, **options)``, with the
options keyword-only. ``gap_cnn`` and ``vggcam`` end ``conv_cam`` (ReLU) → ``gap``/``gmp``
→ ``fc`` (Dense, softmax): exactly the network of Zhou et al. (2016), so
``M_c = Σ_k w_k^c f_k`` can be read off ``conv_cam``'s output and ``fc``'s kernel. Models
that take images in [0, 1] declare it with :func:`camlib.graph.declare_input_range`, so
that images in 0-255 are refused clearly.

Keras is imported on the first call, so that importing this module stays cheap.

Example:
    >>> model = gap_cnn((64, 64, 3), 4)
    >>> [layer.name for layer in model.layers[-3:]]
    ['conv_cam', 'gap', 'fc']
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["ARCHITECTURES", "VGG16_MEAN_BGR", "gap_cnn", "dilated_cnn", "box_cnn", "vggcam",
           "vgg16_for_images"]

#: VGG16's input preprocessing ("caffe" mode): BGR channel order, ImageNet mean removed.
VGG16_MEAN_BGR = (103.939, 116.779, 123.68)

# VGG16's five convolutional blocks: (channels, convolutions).
_VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def _keras():
    import keras

    return keras


def _integer(value, name, minimum):
    """``value`` as a Python int >= ``minimum``; numpy integers are converted."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name}={value} must be at least {minimum}.")
    return int(value)


def _n_classes(n_classes):
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise ValueError(f"n_classes must be an integer, got {n_classes!r}.")
    if n_classes < 2:
        raise ValueError(
            f"n_classes={n_classes} must be at least 2: a softmax over one class always "
            "outputs 1.0, so the model cannot learn and its class map means nothing. For a "
            "yes/no task use n_classes=2."
        )
    return int(n_classes)


def _input_shape(input_shape, min_side):
    """``input_shape`` as a tuple of three ints, (height, width, channels)."""
    if isinstance(input_shape, numbers.Number) or isinstance(input_shape, str):
        raise ValueError(
            f"input_shape must be (height, width, channels), got {input_shape!r}. The "
            "builders take (input_shape, n_classes, **options), e.g. vggcam((224, 224, 3), 4)."
        )
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(
            f"input_shape must be (height, width, channels), got {input_shape!r}."
        ) from None
    if len(shape) != 3:
        raise ValueError(f"input_shape={shape} must be (height, width, channels).")
    shape = tuple(_integer(side, "each entry of input_shape", 1) for side in shape)
    if min(shape[:2]) < min_side:
        raise ValueError(
            f"input_shape={shape} is too small: height and width must be at least "
            f"{min_side} pixels for this architecture."
        )
    return shape


def _vgg16(input_shape, imagenet, offline_hint):
    """``keras.applications.VGG16`` without its dense top, with ImageNet weights or random.

    A failed ImageNet download raises one RuntimeError that says what to do offline.
    """
    keras = _keras()
    if not imagenet:
        return keras.applications.VGG16(include_top=False, weights=None,
                                        input_shape=input_shape)
    try:
        return keras.applications.VGG16(include_top=False, weights="imagenet",
                                        input_shape=input_shape)
    except Exception as err:
        raise RuntimeError(
            "Could not download VGG16's ImageNet weights: they need internet access (run "
            "this on Colab, or on a machine that can reach storage.googleapis.com). "
            f"Offline, {offline_hint}"
        ) from err


def _check_small_cnn(width, downsample, depth, cam_channels, pools):
    """The options of the small CNN as ints; ``pools`` defaults to ``downsample``."""
    width = _integer(width, "width", 1)
    downsample = _integer(downsample, "downsample", 0)
    depth = _integer(depth, "depth", 1)
    if cam_channels is not None:
        cam_channels = _integer(cam_channels, "cam_channels", 1)
    pools = downsample if pools is None else _integer(pools, "pools", 0)
    if pools > downsample:
        raise ValueError(f"pools={pools} must be at most downsample={downsample}: only the "
                         "first downsample blocks can end with a pool.")
    return width, downsample, depth, cam_channels, pools


def _small_cnn_features(inputs, width, downsample, depth, cam_channels, pools):
    """The convolutions of :func:`gap_cnn` up to ``conv_cam``, on the Keras tensor ``inputs``."""
    layers = _keras().layers
    x = layers.Rescaling(2.0, offset=-1.0, name="centre")(inputs)  # [0, 1] -> [-1, 1]
    for block in range(1, downsample + 1):
        x = layers.Conv2D(width * 2 ** (block - 1), 3, padding="same", activation="relu",
                          kernel_initializer="he_normal", name=f"block{block}_conv")(x)
        if block <= pools:
            x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    channels = width * 2**downsample
    for conv in range(1, depth):
        x = layers.Conv2D(channels, 3, padding="same", activation="relu",
                          kernel_initializer="he_normal",
                          name=f"block{downsample + 1}_conv{conv}")(x)
    return layers.Conv2D(cam_channels or channels, 3, padding="same", activation="relu",
                         kernel_initializer="he_normal", name="conv_cam")(x)


def gap_cnn(input_shape, n_classes, *, pooling="avg", width=16, downsample=2, depth=4,
            cam_channels=None, pools=None):
    """A small CNN with the CAM head: convolutions → ``conv_cam`` → ``gap``/``gmp`` → ``fc``.

    The input, in [0, 1], is first centred to [-1, 1] (layer ``centre``). Then come
    ``downsample`` blocks of a 3×3 convolution and a 2×2 max pool (block ``i`` has
    ``width·2^(i-1)`` channels), ``depth`` 3×3 convolutions at the final resolution
    (``block{downsample+1}_conv1`` …, the last one named ``conv_cam``; all ReLU), global
    pooling and one Dense softmax layer ``fc``. The stack at the final resolution gives
    ``conv_cam`` a receptive field wider than the objects, so every pixel of an object can
    vote for its class. The class activation map therefore has ``1 / 2**downsample`` of
    the input's resolution: 16×16 for a 64×64 input with the default ``downsample=2``.
    Coarser maps localize worse: on 64×64 shapes an 8×8 map draws boxes far larger than
    the object.

    Two options change the head or the map's resolution and nothing else:

    - ``pooling="flatten"`` replaces global pooling with a ``Flatten`` layer
      (``flatten``), the head of VGG16 and AlexNet: ``fc`` then has one weight per
      position and channel, and CAM is not defined (Grad-CAM is).
    - ``pools`` keeps the pool of only the first ``pools`` blocks. Every layer and every
      weight stays the same, but ``conv_cam`` has ``2**(downsample - pools)`` times the
      resolution: ``pools=1`` gives a 32×32 map on a 64×64 input.

    Args:
        input_shape: (height, width, channels) of the images, in [0, 1].
        n_classes: number of classes, at least 2.
        pooling: ``"avg"`` (global average pooling, layer ``gap``: CAM's choice),
            ``"max"`` (global max pooling, layer ``gmp``: for the GAP-vs-GMP comparison)
            or ``"flatten"`` (layer ``flatten``: the usual fully connected head).
        width: channels of the first block.
        downsample: number of convolution blocks before the final stack.
        depth: convolutions at the final resolution, ``conv_cam`` included.
        cam_channels: channels of ``conv_cam`` (default ``width·2^downsample``).
        pools: how many of the ``downsample`` blocks end with a 2×2 max pool (default:
            all of them).

    Returns:
        An uncompiled functional Keras model named ``gap_cnn_avg``, ``gap_cnn_max`` or
        ``gap_cnn_flatten``.

    Raises:
        ValueError: an option out of range, or an input too small for ``downsample``.

    Example:
        >>> model = gap_cnn((64, 64, 3), 4)
        >>> model.get_layer("conv_cam").output.shape, model.output.shape
        ((None, 16, 16, 64), (None, 4))
        >>> gap_cnn((64, 64, 3), 4, pools=1).get_layer("conv_cam").output.shape
        (None, 32, 32, 64)
    """
    if pooling not in ("avg", "max", "flatten"):
        raise ValueError(f'pooling={pooling!r} must be "avg" (GAP), "max" (GMP) or '
                         '"flatten" (a fully connected head).')
    width, downsample, depth, cam_channels, pools = _check_small_cnn(
        width, downsample, depth, cam_channels, pools)
    input_shape = _input_shape(input_shape, 2 ** (pools + 1))
    n_classes = _n_classes(n_classes)

    from camlib import graph

    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="image")
    x = _small_cnn_features(inputs, width, downsample, depth, cam_channels, pools)
    if pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="gap")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="gmp")(x)
    else:
        x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="fc")(x)
    model = keras.Model(inputs, outputs, name=f"gap_cnn_{pooling}")
    return graph.declare_input_range(model, 0.0, 1.0)


def box_cnn(input_shape, n_classes=None, *, width=16, downsample=2, depth=4,
            cam_channels=None, pools=None):
    """The convolutions of :func:`gap_cnn` with a box head: it predicts the object's box.

    This is the fully supervised model of chapter 5: it learns from the true boxes, which
    a CAM model never sees. After ``conv_cam`` come ``flatten`` and ``box``, a Dense
    layer of 4 sigmoid units: ``(x0, y0, x1, y1)`` divided by the image's width and
    height (:func:`camlib.localize.boxes_from_fractions` turns them into pixel boxes).
    Flatten keeps the position of every feature, which a box needs and global pooling
    would average away.

    Args:
        input_shape: (height, width, channels) of the images, in [0, 1].
        n_classes: ignored: it is accepted so that every builder has the same form. The
            model predicts one box per image, whatever its class.
        width: channels of the first block, as for :func:`gap_cnn`.
        downsample: number of convolution blocks before the final stack.
        depth: convolutions at the final resolution, ``conv_cam`` included.
        cam_channels: channels of ``conv_cam`` (default ``width·2^downsample``).
        pools: how many of the ``downsample`` blocks end with a 2×2 max pool.

    Returns:
        An uncompiled functional Keras model named ``box_cnn``, with output (N, 4).

    Example:
        >>> box_cnn((64, 64, 3), 4).output.shape
        (None, 4)
    """
    width, downsample, depth, cam_channels, pools = _check_small_cnn(
        width, downsample, depth, cam_channels, pools)
    input_shape = _input_shape(input_shape, 2 ** (pools + 1))

    from camlib import graph

    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="image")
    x = _small_cnn_features(inputs, width, downsample, depth, cam_channels, pools)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(4, activation="sigmoid", name="box")(x)
    model = keras.Model(inputs, outputs, name="box_cnn")
    return graph.declare_input_range(model, 0.0, 1.0)


def dilated_cnn(input_shape, n_classes, *, pooling="avg", width=16, downsample=2, depth=4,
                cam_channels=None, pools=1):
    """:func:`gap_cnn` with fewer pools, and dilated convolutions that keep its receptive field.

    Removing a pool doubles the map's resolution, but it also halves the reach of every
    later 3×3 convolution, so each unit of ``conv_cam`` sees a smaller part of the image.
    Here every convolution after a removed pool is dilated (à trous: its 3×3 taps are
    ``2**k`` pixels apart, with ``k`` the number of pools removed before it), so it covers
    the same pixels as in :func:`gap_cnn` with every pool. The layers, their names and
    their weights are those of ``gap_cnn(..., pools=pools)``; only the map's resolution
    differs from the model with every pool. This is how Yu and Koltun (2016) and DeepLab
    keep the field of view of a network whose last pools they remove.

    Args:
        input_shape: (height, width, channels) of the images, in [0, 1].
        n_classes: number of classes, at least 2.
        pooling: ``"avg"``, ``"max"`` or ``"flatten"``, as for :func:`gap_cnn`.
        width: channels of the first block.
        downsample: number of convolution blocks before the final stack.
        depth: convolutions at the final resolution, ``conv_cam`` included.
        cam_channels: channels of ``conv_cam`` (default ``width·2^downsample``).
        pools: how many of the ``downsample`` blocks keep their pool (default 1).

    Returns:
        An uncompiled functional Keras model named ``dilated_cnn_avg`` (or ``_max``,
        ``_flatten``).

    Example:
        >>> from camlib.activations import receptive_field
        >>> model = dilated_cnn((64, 64, 3), 4)
        >>> model.get_layer("conv_cam").output.shape
        (None, 32, 32, 64)
        >>> receptive_field(model, "conv_cam")[0], receptive_field(gap_cnn((64, 64, 3), 4),
        ...                                                         "conv_cam")[0]
        (40, 42)
    """
    base = gap_cnn(input_shape, n_classes, pooling=pooling, width=width,
                   downsample=downsample, depth=depth, cam_channels=cam_channels,
                   pools=pools)
    pools = downsample if pools is None else int(pools)
    keras = _keras()

    def removed_before(name):
        """How many pools were removed before the convolution ``name``."""
        if name.startswith(f"block{downsample + 1}_") or name == "conv_cam":
            return downsample - pools
        block = int(name[len("block"):].split("_")[0])
        return max(0, min(block - 1, downsample) - pools)

    def dilate(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.Conv2D) and removed_before(layer.name):
            config["dilation_rate"] = (2 ** removed_before(layer.name),) * 2
        return layer.__class__.from_config(config)

    from camlib import graph

    model = keras.models.clone_model(base, clone_function=dilate)
    model.name = f"dilated_cnn_{pooling}"
    return graph.declare_input_range(model, 0.0, 1.0)


def vggcam(input_shape, n_classes, *, cam_channels=1024, weights=None, width=1.0):
    """VGGCAM: VGG16 without its dense top, then ``conv_cam``, GAP and a softmax layer.

    This is the network on the slides (Zhou et al. 2016, section 3): VGG16's five
    convolutional blocks with their Keras layer names (``block1_conv1`` … ``block5_conv3``,
    pools ``block1_pool`` … ``block4_pool``), **without** ``block5_pool`` so that the map
    stays 14×14 on a 224×224 input, then ``conv_cam`` (3×3, ``cam_channels`` filters,
    ReLU), ``gap`` (GlobalAveragePooling2D) and ``fc`` (Dense, softmax). The slides call
    the last two ``avg_pool``/``flatten`` and ``fc_cam``; GAP is the same computation as
    their 14×14 average pool followed by a flatten. The slides' ``VGGCAM(nb_classes,
    num_input_channels)`` is ``vggcam((224, 224, 3), nb_classes,
    cam_channels=num_input_channels)`` here: ``num_input_channels`` is the number of
    maps that ``conv_cam`` outputs, the input of ``fc``.

    Args:
        input_shape: (height, width, channels); the class map is 1/16 of the input's side,
            so (224, 224, 3) gives the slides' 14×14.
        n_classes: number of classes, at least 2.
        cam_channels: filters of ``conv_cam`` (the slides' 1024), before ``width``.
        weights: ``None`` (random initialisation, images in [0, 1]) or ``"imagenet"`` to
            copy VGG16's ImageNet convolution weights. That needs internet access (e.g. on
            Colab), ``width=1.0`` and 3 input channels; feed such a model images prepared
            with ``keras.applications.vgg16.preprocess_input``. Only ``conv_cam`` and
            ``fc`` start untrained.
        width: scales every channel count, in (0, 4], so that the same layout trains on a
            CPU: ``width=0.125`` gives blocks of 8, 16, 32, 64, 64 channels and 128 in
            ``conv_cam``.

    Returns:
        An uncompiled functional Keras model named ``vggcam``.

    Raises:
        ValueError: an option out of range, or ImageNet weights asked for a scaled model.
        RuntimeError: the ImageNet weights could not be downloaded.

    Example:
        >>> model = vggcam((64, 64, 3), 4, width=0.125)
        >>> model.get_layer("conv_cam").output.shape, model.output.shape
        ((None, 4, 4, 128), (None, 4))
    """
    if weights not in (None, "imagenet"):
        raise ValueError(f'weights={weights!r} must be None or "imagenet".')
    if isinstance(width, bool) or not isinstance(width, numbers.Real):
        raise ValueError(f"width must be a number in (0, 4], got {width!r}.")
    if not 0 < width <= 4:
        raise ValueError(f"width={width} must be in (0, 4]; 1.0 is VGG16's own size.")
    width = float(width)
    cam_channels = _integer(cam_channels, "cam_channels", 1)
    input_shape = _input_shape(input_shape, 16)
    n_classes = _n_classes(n_classes)
    if weights == "imagenet" and (width != 1.0 or input_shape[-1] != 3):
        raise ValueError(
            "ImageNet weights fit only the full-size VGG16: use width=1.0 and 3 input "
            f"channels (got width={width}, input_shape={input_shape}), or weights=None."
        )

    def scaled(channels):
        return max(1, round(channels * width))

    from camlib import graph

    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for block, (channels, convs) in enumerate(_VGG16_BLOCKS, start=1):
        for conv in range(1, convs + 1):
            x = layers.Conv2D(scaled(channels), 3, padding="same", activation="relu",
                              kernel_initializer="he_normal", name=f"block{block}_conv{conv}")(x)
        if block < 5:
            x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    x = layers.Conv2D(scaled(cam_channels), 3, padding="same", activation="relu",
                      kernel_initializer="he_normal", name="conv_cam")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="fc")(x)
    model = keras.Model(inputs, outputs, name="vggcam")
    if weights is None:  # ImageNet weights expect preprocess_input's range instead
        return graph.declare_input_range(model, 0.0, 1.0)

    vgg16 = _vgg16(input_shape, True, "use weights=None and train the model, or take a "
                   "trained one from the zoo: camlib.models.get('shapes-vggcam').")
    for layer in vgg16.layers:
        if layer.name.startswith("block") and layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
    return model


def vgg16_for_images(input_shape=(224, 224, 3), n_classes=None, *, imagenet=False):
    """VGG16's convolutional blocks behind their own preprocessing, for images in [0, 1].

    The backbone (Simonyan & Zisserman 2014) is ``keras.applications.VGG16(include_top=
    False)``, nested as the layer ``"vgg16"``; its layers keep their Keras names
    (``block1_conv1`` … ``block5_conv3``), which :func:`camlib.activations.feature_maps`
    and :func:`camlib.ascent.maximize` accept as they are. In front of it, the model turns
    RGB in [0, 1] into VGG16's own input: BGR in 0-255 minus :data:`VGG16_MEAN_BGR`.

    It has the builders' form ``(input_shape, n_classes, **options)``, but no classifier:
    it ends at ``block5_pool``, so ``n_classes`` must stay None.

    Args:
        input_shape: (height, width, 3), sides of at least 32 pixels.
        n_classes: must be None: there is no class output.
        imagenet: ``False`` builds the structure with random weights, offline, for counting
            filters and for tests; ``True`` downloads the ImageNet weights and needs
            internet access (e.g. Colab).

    Returns:
        A functional Keras model named ``vgg16_for_images``.

    Raises:
        ValueError: ``n_classes`` given, a bad ``input_shape`` or a non-boolean
            ``imagenet``.
        RuntimeError: the ImageNet weights could not be downloaded.

    Example:
        >>> model = vgg16_for_images((32, 32, 3))
        >>> tuple(model.get_layer("vgg16").get_layer("block1_conv1").kernel.shape)
        (3, 3, 3, 64)
    """
    if n_classes is not None:
        raise ValueError(
            f"n_classes={n_classes!r}: vgg16_for_images has no classifier (it ends at "
            "block5_pool), so leave n_classes as None; for a classifier use vggcam."
        )
    if not isinstance(imagenet, (bool, np.bool_)):
        raise ValueError(f"imagenet must be True or False, got {imagenet!r}.")
    input_shape = _input_shape(input_shape, 32)
    if input_shape[-1] != 3:
        raise ValueError(f"input_shape={input_shape} must have 3 (RGB) channels for VGG16.")
    backbone = _vgg16(input_shape, bool(imagenet), "keep imagenet=False and use the book's "
                      "own trained models, e.g. camlib.models.get('shapes-vggcam').")
    keras = _keras()
    inputs = keras.Input(input_shape, name="image")
    bgr = keras.ops.flip(inputs, axis=-1) * 255.0
    preprocessed = bgr - keras.ops.convert_to_tensor(np.array(VGG16_MEAN_BGR, np.float32))
    return keras.Model(inputs, backbone(preprocessed), name="vgg16_for_images")


#: The builders by the name a zoo config gives in its ``model`` key.
ARCHITECTURES = {"gap_cnn": gap_cnn, "dilated_cnn": dilated_cnn, "box_cnn": box_cnn,
                 "vggcam": vggcam}
