"""Class activation maps: CAM, Grad-CAM and the rest of the family.

Every map here comes from the same place: one compiled pass over a batch that captures
the activations ``A`` (N, h, w, K) of one layer and, when a method needs them, the
gradients ``dS/dA`` of each image's class score ``S``. A method only says how it turns
``A`` and ``dS/dA`` into a map (see :class:`GradientMethod`).

Layers are captured the way a forward hook does it: while the compiled function is
traced, the target layer's ``call`` is wrapped so that its output is recorded (and
watched by the gradient tape). This works the same for Sequential, functional and nested
models (a backbone model used as a layer), where rebuilding
``keras.Model(model.inputs, [model.get_layer(name).output, model.output])`` fails.

Conventions:

- Maps are float32 arrays of shape (N, h, w) at the resolution of the captured layer.
- ``class_index=None`` is each image's predicted class; an int is one class for every
  image; a length-N sequence is one class per image.
- Images must carry a batch axis: a single image is passed as ``image[None]``.
- The class score is taken **before** softmax (and before a sigmoid).

Example:
    >>> maps = cam(model, images)                       # doctest: +SKIP
    >>> heat = normalize(upsample(maps, images.shape[1:3]))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import weakref
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "cam",
    "grad_cam",
    "saliency",
    "GradientMethod",
    "GradCAM",
    "Saliency",
    "find_cam_head",
    "conv_layer_names",
    "upsample",
    "normalize",
]

DEFAULT_BATCH_SIZE = 64

_CONV_TYPES = (
    keras.layers.Conv2D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv2D,
    keras.layers.Conv2DTranspose,
)
_IDENTITY_AT_INFERENCE = tuple(
    getattr(keras.layers, name)
    for name in ("Dropout", "GaussianDropout", "GaussianNoise", "AlphaDropout", "Flatten")
    if hasattr(keras.layers, name)
)
_SQUASHING = ("softmax", "sigmoid")


# ---------------------------------------------------------------------------------------
# Finding layers in a model graph
# ---------------------------------------------------------------------------------------


def _source(tensor):
    """The layer that produced ``tensor``, looking through nested models, and the first
    input of that call.

    A shared layer is called once per model that uses it; the tensor's history says which
    call (node) belongs to this graph, so the walk never strays into another model.
    """
    history = getattr(tensor, "_keras_history", None)
    if not history:
        return None, None
    layer, node_index, tensor_index = history
    if isinstance(layer, keras.Model) and getattr(layer, "outputs", None):
        return _source(layer.outputs[tensor_index])
    inputs = layer._inbound_nodes[node_index].input_tensors
    return layer, (inputs[0] if inputs else None)


def _walk(model, prefix=""):
    """Yield ``(path, layer)`` for every layer, nested models included, in graph order."""
    for layer in model.layers:
        path = prefix + layer.name
        yield path, layer
        if isinstance(layer, keras.Model):
            yield from _walk(layer, path + "/")


def _path_of(model, target):
    for path, layer in _walk(model):
        if layer is target:
            return path
    return target.name


def _is_input_layer(layer):
    return isinstance(layer, keras.layers.InputLayer)


def _activation_name(layer):
    return getattr(getattr(layer, "activation", None), "__name__", "")


def conv_layer_names(model):
    """Paths of all 2-D convolution layers in ``model``, nested models included.

    A layer inside a nested model is named ``"outer/inner"``; these are exactly the
    strings ``grad_cam(..., layer=...)`` accepts.

    Example:
        >>> conv_layer_names(model)                     # doctest: +SKIP
        ['backbone/conv1', 'backbone/conv2']
    """
    return [path for path, layer in _walk(model) if isinstance(layer, _CONV_TYPES)]


def _find_layer(model, layer):
    """Resolve a layer given as an object, a path ``"a/b"`` or a plain (unique) name."""
    if isinstance(layer, keras.layers.Layer):
        if any(candidate is layer for _, candidate in _walk(model)):
            return layer
        raise ValueError(f"Layer {layer.name!r} is not part of model {model.name!r}.")
    matches = [found for path, found in _walk(model) if path == layer]
    if not matches:
        matches = [found for path, found in _walk(model) if found.name == layer]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        paths = [path for path, found in _walk(model) if found.name == layer]
        raise ValueError(
            f"Layer name {layer!r} is ambiguous in model {model.name!r}; "
            f"use one of the paths {paths}."
        )
    raise ValueError(
        f"Unknown layer {layer!r} in model {model.name!r}. "
        f"Convolution layers it could be: {conv_layer_names(model)}."
    )


class CamHead(NamedTuple):
    """Where a CAM model's head sits: ``pooling`` averages the symbolic ``features``
    tensor (the last feature map), ``dense`` turns the pooled vector into class scores."""

    pooling: keras.layers.Layer
    dense: keras.layers.Dense
    features: object


def _score_layer(model):
    """The layer holding the class score, where the score is, and the layer's input.

    A trailing softmax/sigmoid ``Activation`` (or ``Softmax``) layer is skipped: the score
    is that layer's ``"input"``. Otherwise the score is the last layer's ``"output"``; for
    a Dense with a softmax/sigmoid activation, its pre-activation, ``"logits"``.
    """
    last, last_input = _source(model.outputs[0])
    if isinstance(last, keras.layers.Softmax) or (
        isinstance(last, keras.layers.Activation) and _activation_name(last) in _SQUASHING
    ):
        return last, "input", last_input
    if last is not None and _activation_name(last) in _SQUASHING:
        return last, "logits", last_input
    return last, "output", last_input


def _is_global_average(layer, features):
    if isinstance(layer, keras.layers.GlobalAveragePooling2D):
        return getattr(layer, "data_format", "channels_last") == "channels_last"
    if isinstance(layer, keras.layers.AveragePooling2D):
        in_shape = tuple(features.shape)
        out_shape = tuple(layer.compute_output_shape(in_shape))
        return (
            getattr(layer, "data_format", "channels_last") == "channels_last"
            and len(in_shape) == 4
            and tuple(layer.pool_size) == tuple(in_shape[1:3])
            and tuple(out_shape[1:3]) == (1, 1)
        )
    return False


def find_cam_head(model):
    """Find the GAP → Dense head that CAM needs, or raise ValueError saying why not.

    The walk starts at the model's output, skips a final softmax ``Activation``, expects
    a ``Dense`` layer, then (through any ``Dropout``/``Flatten``) a
    ``GlobalAveragePooling2D`` — or an ``AveragePooling2D`` whose window is the whole
    feature map, as in the slides' VGGCAM. Nested models are entered.

    Example:
        >>> head = find_cam_head(model)                 # doctest: +SKIP
        >>> head.dense.kernel.shape                     # doctest: +SKIP
        (64, 3)
    """
    hint = (
        "CAM needs a model that ends in GlobalAveragePooling2D → Dense; "
        "for any other CNN use grad_cam(model, images)."
    )
    dense, where, dense_input = _score_layer(model)
    if where == "input":
        dense, dense_input = _source(dense_input)
    if not isinstance(dense, keras.layers.Dense):
        found = type(dense).__name__ if dense is not None else "nothing"
        raise ValueError(
            f"Model {model.name!r} has no CAM head: its class scores come from "
            f"{found}, not from a Dense layer. {hint}"
        )
    layer, features = _source(dense_input)
    while isinstance(layer, _IDENTITY_AT_INFERENCE):
        layer, features = _source(features)
    if layer is None or not _is_global_average(layer, features):
        found = type(layer).__name__ if layer is not None else "nothing"
        raise ValueError(
            f"Model {model.name!r} has no CAM head: Dense layer {dense.name!r} is fed "
            f"by {found}, not by global average pooling over a feature map. {hint}"
        )
    return CamHead(layer, dense, features)


def _default_target(model):
    """The layer Grad-CAM looks at by default: the one feeding GAP, else the last conv."""
    try:
        feeding, _ = _source(find_cam_head(model).features)
        if feeding is not None and not _is_input_layer(feeding):
            return feeding
    except ValueError:
        pass
    convs = [layer for _, layer in _walk(model) if isinstance(layer, _CONV_TYPES)]
    if not convs:
        raise ValueError(
            f"Model {model.name!r} has no convolution layer; pass layer= naming a layer "
            "with a 4-D (N, h, w, K) output."
        )
    return convs[-1]


# ---------------------------------------------------------------------------------------
# Capturing layers while the model runs
# ---------------------------------------------------------------------------------------


class _Site(NamedTuple):
    """A tensor to capture: the ``input`` or ``output`` of ``layer``, or its ``logits``
    (the output with its softmax/sigmoid activation switched off)."""

    layer: keras.layers.Layer
    where: str


@contextlib.contextmanager
def _capturing(sites, tape=None):
    """Wrap each site's ``layer.call`` for the duration of one (traced) model call."""
    captured = {}
    restore = []

    def hook(site, call):
        layer = site.layer

        def hooked(*args, **kwargs):
            if site.where == "input":
                captured[site] = args[0]
                if tape is not None:
                    tape.watch(args[0])
                return call(*args, **kwargs)
            if site.where == "logits":
                activation = layer.activation
                object.__setattr__(layer, "activation", keras.activations.linear)
                try:
                    out = call(*args, **kwargs)
                finally:
                    object.__setattr__(layer, "activation", activation)
            else:
                out = call(*args, **kwargs)
            if tape is not None:
                tape.watch(out)
            captured[site] = out
            return out

        return hooked

    try:
        for site in sites:
            own = site.layer.__dict__.get("call")
            restore.append((site.layer, own))
            object.__setattr__(site.layer, "call", hook(site, site.layer.call))
        yield captured
    finally:
        for layer, own in reversed(restore):
            if own is None:
                object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, "call", own)


# Compiled passes, cached per model. Keys are tuples naming the method and layer; the
# functions only hold a weak reference to the model, so the cache never keeps it alive.
_CACHE = weakref.WeakKeyDictionary()


def _compiled(model, key, make):
    functions = _CACHE.setdefault(model, {})
    if key not in functions:
        function = make(weakref.ref(model))
        # Each function traces once (the batch axis is None); TensorFlow would still warn
        # about "frequent retracing" after a handful of different models.
        if hasattr(function, "_omit_frequent_tracing_warning"):
            function._omit_frequent_tracing_warning = True
        functions[key] = function
    return functions[key]


def _image_spec(model):
    return tf.TensorSpec((None, *tuple(model.inputs[0].shape)[1:]), tf.float32)


def _chosen_classes(scores, classes):
    """Each image's requested class, or its predicted class where ``classes`` is -1."""
    predicted = tf.argmax(scores, axis=-1, output_type=tf.int32)
    return tf.where(classes < 0, predicted, classes)


# ---------------------------------------------------------------------------------------
# Checking inputs
# ---------------------------------------------------------------------------------------


def _check_model(model):
    inputs = getattr(model, "inputs", None)
    outputs = getattr(model, "outputs", None)
    if not inputs or not outputs:
        raise ValueError(
            f"Model {model.name!r} has no symbolic inputs and outputs: build it from a "
            "keras.Input, or wrap it as keras.Sequential([keras.Input(shape), model])."
        )
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            f"Model {model.name!r} has {len(inputs)} inputs and {len(outputs)} outputs; "
            "maps need a single-input, single-output classifier."
        )


def _check_images(model, images):
    images = np.asarray(images)
    expected = tuple(model.inputs[0].shape)[1:]
    shown = "(N, " + ", ".join("?" if d is None else str(d) for d in expected) + ")"
    if images.ndim == len(expected) and _fits(images.shape, expected):
        raise ValueError(
            f"Got a single image of shape {images.shape} without a batch axis; "
            f"pass images[None] (shape (1, ...)). Model {model.name!r} expects {shown}."
        )
    if images.ndim != len(expected) + 1 or not _fits(images.shape[1:], expected):
        raise ValueError(
            f"Images have shape {images.shape}, but model {model.name!r} expects {shown}."
        )
    if len(images) == 0:
        raise ValueError("Got an empty batch (0 images); pass at least one image.")
    if not np.issubdtype(images.dtype, np.number) or np.issubdtype(
        images.dtype, np.complexfloating
    ):
        raise ValueError(f"Images must be real numbers, got dtype {images.dtype}.")
    images = images.astype(np.float32, copy=False)
    # A sum is a cheap first check; only when it is not finite are the values counted.
    finite = np.isfinite(images.sum())
    bad = 0 if finite else np.size(images) - np.count_nonzero(np.isfinite(images))
    if bad:
        raise ValueError(f"Images contain {bad} non-finite values (NaN or inf).")
    return images


def _fits(shape, expected):
    return len(shape) == len(expected) and all(
        e is None or s == e for s, e in zip(shape, expected)
    )


def _check_classes(model, class_index, n):
    """An int32 array of N classes; -1 marks 'the predicted class'."""
    n_classes = tuple(model.outputs[0].shape)[-1]
    if class_index is None:
        return np.full(n, -1, np.int32)
    classes = np.asarray(class_index)
    whole_floats = classes.dtype.kind == "f" and np.all(classes == np.round(classes))
    if classes.dtype.kind not in "iu" and not whole_floats:
        raise ValueError(f"class_index must be integers, got {class_index!r}.")
    if classes.ndim == 0:
        classes = np.full(n, classes)
    if classes.shape != (n,):
        raise ValueError(
            f"class_index has shape {classes.shape}; give one int, or one class per "
            f"image (shape ({n},))."
        )
    classes = classes.astype(np.int64)
    if n_classes is not None and np.any((classes < 0) | (classes >= n_classes)):
        bad = classes[(classes < 0) | (classes >= n_classes)]
        raise ValueError(
            f"class_index {bad.tolist()} out of range: model {model.name!r} has "
            f"{n_classes} classes, valid indices are 0..{n_classes - 1}."
        )
    return classes.astype(np.int32)


def _run_batched(run, images, classes, batch_size):
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    maps = []
    for start in range(0, len(images), int(batch_size)):
        stop = start + int(batch_size)
        maps.append(run(images[start:stop], classes[start:stop]).numpy())
    return np.concatenate(maps).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------
# CAM
# ---------------------------------------------------------------------------------------


def _make_cam_pass(model_ref, head, spec):
    site = _Site(head.pooling, "input")

    @tf.function(input_signature=[spec, tf.TensorSpec([None], tf.int32)])
    def run(images, classes):
        with _capturing([site]) as captured:
            scores = model_ref()(images, training=False)
        classes = _chosen_classes(scores, classes)
        features = tf.cast(captured[site], tf.float32)
        class_weights = tf.gather(tf.cast(head.dense.kernel, tf.float32), classes, axis=1)
        return tf.einsum("nhwk,kn->nhw", features, class_weights)

    return run


def cam(model, images, class_index=None, *, batch_size=DEFAULT_BATCH_SIZE):
    """Class activation maps of Zhou et al. (2016): M_c(x, y) = Σ_k w_k^c f_k(x, y).

    ``model`` must end in global average pooling then Dense (softmax or linear; see
    :func:`find_cam_head`). ``f_k`` is the feature map entering the pooling layer and
    ``w^c`` the Dense weights of class ``c``. One forward pass per batch gives both the
    feature maps and the predicted classes.

    Returns raw maps: float32 (N, h, w) at feature-map resolution, no ReLU, no
    normalisation and no bias, so that ``maps.mean(axis=(1, 2)) + b_c`` is the class
    logit.

    Args:
        model: a built Keras classifier with a GAP → Dense head.
        images: (N, H, W, C) array matching the model's input.
        class_index: None (predicted class), an int, or one int per image.
        batch_size: images per compiled call; bounds memory.

    Raises:
        ValueError: the model has no GAP → Dense head (use :func:`grad_cam`), or the
            images / class indices do not fit the model.

    Example:
        >>> maps = cam(model, images)                   # doctest: +SKIP
        >>> maps.shape                                  # doctest: +SKIP
        (32, 16, 16)
        >>> logits = maps.mean(axis=(1, 2)) + bias[classes]   # doctest: +SKIP
    """
    _check_model(model)
    head = find_cam_head(model)
    images = _check_images(model, images)
    classes = _check_classes(model, class_index, len(images))
    run = _compiled(
        model, ("cam",), lambda ref: _make_cam_pass(ref, head, _image_spec(model))
    )
    return _run_batched(run, images, classes, batch_size)


# ---------------------------------------------------------------------------------------
# Gradient methods: one shared pass, each method says how to combine A and dS/dA
# ---------------------------------------------------------------------------------------


def _not_a_feature_map(model, layer, shape):
    return (
        f"Layer {_path_of(model, layer)!r} outputs shape {tuple(shape)}; a map needs a 4-D "
        f"(N, h, w, K) feature map. Convolution layers: {conv_layer_names(model)}."
    )


class GradientMethod:
    """Base of the gradient-based maps.

    One compiled, batched pass captures the activations ``A`` (N, h, w, K) of the target
    layer and the gradients ``dS/dA`` of each image's own class score ``S`` (taken before
    softmax). A method then only defines how to weight or combine them, in TensorFlow
    ops so that the combination is compiled into the same pass:

    - override :meth:`weights` to return per-channel weights (N, K); the default
      :meth:`combine` gives ReLU(Σ_k weight_k · A_k), the Grad-CAM family form; or
    - override :meth:`combine` to return the (N, h, w) maps directly.

    :meth:`default_layer` chooses the layer when the caller gives none. Compiled passes
    are cached per model, layer, method class and settings; a method's settings are its
    instance attributes and must be plain, hashable values.

    Example:
        >>> class LayerCAM(GradientMethod):
        ...     def combine(self, activations, grads):
        ...         return tf.nn.relu(tf.reduce_sum(tf.nn.relu(grads) * activations, -1))
        >>> maps = LayerCAM()(model, images)            # doctest: +SKIP
    """

    def weights(self, activations, grads):
        """Per-channel weights (N, K) from activations and gradients (N, h, w, K)."""
        raise NotImplementedError(f"{type(self).__name__} must define weights or combine")

    def combine(self, activations, grads):
        """Maps (N, h, w) from activations and gradients (N, h, w, K)."""
        weights = self.weights(activations, grads)
        return tf.nn.relu(tf.einsum("nhwk,nk->nhw", activations, weights))

    def default_layer(self, model):
        """The layer to explain when ``layer=None``: for GAP models the one feeding GAP,
        otherwise the last convolution layer."""
        return _default_target(model)

    def target(self, model, layer):
        """The site to capture, as a layer plus ``"input"`` or ``"output"``."""
        target = self.default_layer(model) if layer is None else _find_layer(model, layer)
        if _is_input_layer(target):
            return _Site(target, "input")
        try:
            shape = tuple(target.output.shape)
        except AttributeError:  # a layer inside a subclassed model has no symbolic output
            shape = None
        if shape is not None and len(shape) != 4:
            raise ValueError(_not_a_feature_map(model, target, shape))
        return _Site(target, "output")

    def __call__(
        self, model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE
    ):
        """Maps (N, h, w) for each image's class; see the module docstring."""
        _check_model(model)
        site = self.target(model, layer)
        images = _check_images(model, images)
        classes = _check_classes(model, class_index, len(images))
        settings = tuple(sorted(vars(self).items()))
        key = (type(self), settings, _path_of(model, site.layer), site.where)
        run = _compiled(model, key, lambda ref: self._make_pass(ref, site, _image_spec(model)))
        return _run_batched(run, images, classes, batch_size)

    def _make_pass(self, model_ref, site, spec):
        score_layer, where, _ = _score_layer(model_ref())
        score_site = _Site(score_layer, where) if where in ("input", "logits") else None
        watch_images = _is_input_layer(site.layer)
        sites = ([] if watch_images else [site]) + ([score_site] if score_site else [])

        @tf.function(input_signature=[spec, tf.TensorSpec([None], tf.int32)])
        def run(images, classes):
            with tf.GradientTape() as tape:
                if watch_images:
                    tape.watch(images)
                with _capturing(sites, tape) as captured:
                    outputs = model_ref()(images, training=False)
                scores = captured[score_site] if score_site else outputs
                classes = _chosen_classes(scores, classes)
                score = tf.gather(tf.cast(scores, tf.float32), classes, batch_dims=1)
            if watch_images:
                activations = images
            elif site in captured:
                activations = captured[site]
            else:
                raise ValueError(f"Layer {site.layer.name!r} is not called by the model.")
            if activations.shape.rank != 4:
                raise ValueError(_not_a_feature_map(model_ref(), site.layer, activations.shape))
            grads = tape.gradient(score, activations)
            if grads is None:
                raise ValueError(
                    f"The class score does not depend on layer {site.layer.name!r}."
                )
            return self.combine(tf.cast(activations, tf.float32), tf.cast(grads, tf.float32))

        return run


class GradCAM(GradientMethod):
    """Grad-CAM (Selvaraju et al., 2017): ReLU(Σ_k α_k A_k), α_k = mean_xy dS/dA_k.

    Example:
        >>> maps = GradCAM()(model, images, layer="backbone/conv3")  # doctest: +SKIP
    """

    def weights(self, activations, grads):
        return tf.reduce_mean(grads, axis=(1, 2))


class Saliency(GradientMethod):
    """Saliency (Simonyan et al., 2013): max over colour channels of |dS/dpixel|.

    Example:
        >>> maps = Saliency()(model, images)            # (N, H, W)  # doctest: +SKIP
    """

    def default_layer(self, model):
        return _source(model.inputs[0])[0]

    def target(self, model, layer):
        if layer is not None:
            raise ValueError("Saliency is always taken with respect to the input pixels.")
        return _Site(self.default_layer(model), "input")

    def combine(self, activations, grads):
        return tf.reduce_max(tf.abs(grads), axis=-1)


def grad_cam(
    model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE
):
    """Grad-CAM maps: ReLU(Σ_k α_k A_k(x, y)) with α_k = mean_xy ∂S_c/∂A_k.

    ``S_c`` is the class score before softmax: a final Dense's softmax (or sigmoid) is
    switched off, and a final softmax ``Activation`` layer is skipped. Works for
    Sequential, functional and nested models (a backbone model used as a layer).

    Returns raw maps: float32 (N, h, w) at the target layer's resolution, ReLU applied,
    no normalisation. On a GAP → Dense model with the default layer this equals
    ``relu(cam(model, images)) / (h * w)``.

    Args:
        model: a built single-input Keras classifier.
        images: (N, H, W, C) array matching the model's input.
        class_index: None (predicted class), an int, or one int per image.
        layer: None (for GAP models the layer feeding GAP, otherwise the last
            convolution layer), a layer object, a path such as ``"backbone/conv3"``, or a
            plain layer name searched through nested models.
        batch_size: images per compiled call; bounds memory.

    Example:
        >>> maps = grad_cam(model, images, class_index=2)              # doctest: +SKIP
        >>> maps = grad_cam(model, images, layer="backbone/block3_conv")  # doctest: +SKIP
    """
    return GradCAM()(model, images, class_index, layer, batch_size=batch_size)


def saliency(model, images, class_index=None, *, batch_size=DEFAULT_BATCH_SIZE):
    """Vanilla gradient saliency (Simonyan et al., 2013) at image resolution.

    The gradient of the pre-softmax class score with respect to the pixels; each map
    pixel is the largest |gradient| over the colour channels. float32 (N, H, W).

    Example:
        >>> maps = saliency(model, images)              # doctest: +SKIP
    """
    return Saliency()(model, images, class_index, batch_size=batch_size)


# ---------------------------------------------------------------------------------------
# From raw maps to pictures
# ---------------------------------------------------------------------------------------


def upsample(maps, size):
    """Resize maps to image size with bilinear interpolation, values kept as they are.

    Uses ``tf.image.resize`` (half-pixel centres, no antialiasing), so a map pixel covers
    the image block it came from. Values are not clipped: a raw CAM stays signed. Accepts
    one map (h, w) or a batch (N, h, w); ``size`` is ``(H, W)`` or one int.

    Example:
        >>> big = upsample(cam(model, images), images.shape[1:3])   # doctest: +SKIP
        >>> upsample(np.eye(2), 4).shape
        (4, 4)
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim not in (2, 3):
        raise ValueError(f"maps must be (h, w) or (N, h, w), got shape {maps.shape}.")
    size = (int(size), int(size)) if np.ndim(size) == 0 else tuple(int(s) for s in size)
    if len(size) != 2:
        raise ValueError(f"size must be (H, W) or one int, got {size}.")
    batch = maps if maps.ndim == 3 else maps[None]
    resized = tf.image.resize(batch[..., None], size, method="bilinear")[..., 0].numpy()
    return resized if maps.ndim == 3 else resized[0]


def normalize(maps):
    """Map each map to [0, 1]: ReLU, then its own (x - min) / (max - min).

    A flat map (all zero, all negative, or constant) has no contrast and becomes all
    zeros, never NaN. Accepts (h, w) or (N, h, w).

    Example:
        >>> normalize(np.array([[-1.0, 0.0], [1.0, 3.0]]))
        array([[0.        , 0.        ],
               [0.33333334, 1.        ]], dtype=float32)
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim not in (2, 3):
        raise ValueError(f"maps must be (h, w) or (N, h, w), got shape {maps.shape}.")
    batch = np.maximum(maps if maps.ndim == 3 else maps[None], 0.0)
    low = batch.min(axis=(1, 2), keepdims=True)
    span = batch.max(axis=(1, 2), keepdims=True) - low
    scaled = np.where(span > 0, (batch - low) / np.where(span > 0, span, 1.0), 0.0)
    scaled = scaled.astype(np.float32)
    return scaled if maps.ndim == 3 else scaled[0]
