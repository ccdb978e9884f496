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
    "grad_cam_plus_plus",
    "layer_cam",
    "score_cam",
    "smooth_grad",
    "occlusion",
    "logits",
    "METHODS",
    "GradientMethod",
    "Evidence",
    "GradCAM",
    "GradCAMPlusPlus",
    "LayerCAM",
    "ScoreCAM",
    "Saliency",
    "SmoothGrad",
    "Occlusion",
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
            + _shape_hint(images.shape, expected)
        )
    if len(images) == 0:
        raise ValueError("Got an empty batch (0 images); pass at least one image.")
    if not np.issubdtype(images.dtype, np.number) or np.issubdtype(
        images.dtype, np.complexfloating
    ):
        raise ValueError(f"Images must be real numbers, got dtype {images.dtype}.")
    value_range = getattr(model, "camlib_input_range", None)
    if value_range is not None and np.issubdtype(images.dtype, np.integer):
        raise ValueError(
            f"Images are {images.dtype} (0-255), but model {model.name!r} expects float32 in "
            f"[{value_range[0]:g}, {value_range[1]:g}]: pass images.astype('float32') / 255."
        )
    images = images.astype(np.float32, copy=False)
    # A sum is a cheap first check; only when it is not finite are the values counted.
    finite = np.isfinite(images.sum())
    bad = 0 if finite else np.size(images) - np.count_nonzero(np.isfinite(images))
    if bad:
        raise ValueError(f"Images contain {bad} non-finite values (NaN or inf).")
    if value_range is not None:
        low, high = float(images.min()), float(images.max())
        slack = 0.01 * (value_range[1] - value_range[0])
        if low < value_range[0] - slack or high > value_range[1] + slack:
            raise ValueError(
                f"Images range over [{low:g}, {high:g}], but model {model.name!r} expects "
                f"[{value_range[0]:g}, {value_range[1]:g}]"
                + (": pass images / 255." if high > 2 else ".")
            )
    return images


def _shape_hint(shape, expected):
    """The likely fix for an image batch of the wrong shape, or nothing."""
    if len(expected) != 3 or len(shape) not in (3, 4):
        return ""
    height, width, channels = expected
    if len(shape) == 4 and shape[1] == channels and _fits((shape[2], shape[3], shape[1]), expected):
        return " These look channels-first: pass np.moveaxis(images, 1, -1)."
    gray = shape[1:] if len(shape) == 3 else (shape[1:3] if shape[-1] == 1 else None)
    if channels == 3 and gray is not None and _fits((*gray, 3), expected):
        return (" These are grayscale but the model needs 3 colour channels: pass "
                "np.repeat(images.reshape(*images.shape[:3], 1), 3, axis=-1).")
    return ""


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


def _run_batched(run, images, classes, batch_size, *extra):
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    maps = []
    for start in range(0, len(images), int(batch_size)):
        stop = start + int(batch_size)
        maps.append(run(images[start:stop], classes[start:stop], *extra).numpy())
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


class Evidence(NamedTuple):
    """What the shared pass hands to :meth:`GradientMethod.explain`, inside the compiled
    function (all TensorFlow tensors):

    - ``activations``: (N, h, w, K) float32, the target layer (the images themselves for
      pixel methods);
    - ``grads``: dS/d``activations`` of each image's class score, or ``None`` when the
      method sets ``uses_gradients = False``;
    - ``images``: the (N, H, W, C) input batch;
    - ``classes``: (N,) int32, the class explained for each image;
    - ``budget``: scalar int32, the most inputs one model call may take (``batch_size``);
    - ``logits``: a function, images (M, H, W, C) → pre-softmax scores (M, classes), for
      methods that probe the model with other inputs (Score-CAM, occlusion, SmoothGrad).
    """

    activations: object
    grads: object
    images: object
    classes: object
    budget: object
    logits: object


class GradientMethod:
    """Base of every map except CAM: the one extension point of the family.

    One compiled, batched pass captures the activations ``A`` (N, h, w, K) of the target
    layer and the gradients ``dS/dA`` of each image's own class score ``S`` (taken before
    softmax). A method then only defines how to weight or combine them, in TensorFlow
    ops so that the combination is compiled into the same pass:

    - override :meth:`weights` to return per-channel weights (N, K); the default
      :meth:`combine` gives ReLU(Σ_k weight_k · A_k), the Grad-CAM family form; or
    - override :meth:`combine` to return the (N, h, w) maps directly; or
    - override :meth:`explain`, which receives the whole :class:`Evidence`, for methods
      that probe the model with perturbed inputs. Such a method sets
      ``uses_gradients = False`` when it needs no backward pass, and
      :meth:`inputs_per_image` to say how many model inputs one image expands to, so that
      ``batch_size`` bounds the inputs of every model call and hence peak memory.

    :meth:`default_layer` chooses the layer when the caller gives none. Compiled passes
    are cached per model, layer, method class and settings; a method's settings are its
    instance attributes and must be plain, hashable values.

    Example:
        >>> class ActivationTimesGradient(GradientMethod):
        ...     def combine(self, activations, grads):
        ...         return tf.reduce_sum(activations * grads, axis=-1)
        >>> maps = ActivationTimesGradient()(model, images)   # doctest: +SKIP
    """

    #: False skips the backward pass; ``Evidence.grads`` is then None.
    uses_gradients = True

    def weights(self, activations, grads):
        """Per-channel weights (N, K) from activations and gradients (N, h, w, K)."""
        raise NotImplementedError(f"{type(self).__name__} must define weights or combine")

    def combine(self, activations, grads):
        """Maps (N, h, w) from activations and gradients (N, h, w, K)."""
        weights = self.weights(activations, grads)
        return tf.nn.relu(tf.einsum("nhwk,nk->nhw", activations, weights))

    def explain(self, evidence):
        """Maps (N, h, w) from the whole :class:`Evidence`; by default :meth:`combine`."""
        return self.combine(evidence.activations, evidence.grads)

    def inputs_per_image(self, model, site):
        """How many model inputs one image needs (1 for a plain gradient pass)."""
        return 1

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
        """Maps (N, h, w) for each image's class; see the module docstring.

        ``batch_size`` is the most inputs one model call sees: images for a gradient
        pass, masked or noisy copies for the perturbation methods.
        """
        _check_model(model)
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        site = self.target(model, layer)
        images = _check_images(model, images)
        classes = _check_classes(model, class_index, len(images))
        settings = tuple(sorted(vars(self).items()))
        key = (type(self), settings, _path_of(model, site.layer), site.where)
        run = _compiled(model, key, lambda ref: self._make_pass(ref, site, _image_spec(model)))
        per_call = max(1, int(batch_size) // max(1, int(self.inputs_per_image(model, site))))
        budget = tf.constant(int(batch_size), tf.int32)
        return _run_batched(run, images, classes, per_call, budget)

    def _make_pass(self, model_ref, site, spec):
        score_layer, where, _ = _score_layer(model_ref())
        score_site = _Site(score_layer, where) if where in ("input", "logits") else None
        watch_images = _is_input_layer(site.layer)
        sites = ([] if watch_images else [site]) + ([score_site] if score_site else [])
        uses_gradients = self.uses_gradients

        def logits(inputs):
            with _capturing([score_site] if score_site else []) as captured:
                outputs = model_ref()(inputs, training=False)
            return tf.cast(captured[score_site] if score_site else outputs, tf.float32)

        @tf.function(
            input_signature=[spec, tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)]
        )
        def run(images, classes, budget):
            with tf.GradientTape() if uses_gradients else contextlib.nullcontext() as tape:
                if watch_images and uses_gradients:
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
            grads = None
            if uses_gradients:
                grads = tape.gradient(score, activations)
                if grads is None:
                    raise ValueError(
                        f"The class score does not depend on layer {site.layer.name!r}."
                    )
                grads = tf.cast(grads, tf.float32)
            evidence = Evidence(tf.cast(activations, tf.float32), grads, images, classes,
                                budget, logits)
            return self.explain(evidence)

        return run


class GradCAM(GradientMethod):
    """Grad-CAM (Selvaraju et al., 2017): ReLU(Σ_k α_k A_k), α_k = mean_xy dS/dA_k.

    Example:
        >>> maps = GradCAM()(model, images, layer="backbone/conv3")  # doctest: +SKIP
    """

    def weights(self, activations, grads):
        return tf.reduce_mean(grads, axis=(1, 2))


class Saliency(GradientMethod):
    """Saliency (Simonyan et al., 2014): max over colour channels of ``|dS/dpixel|``.

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
    """Vanilla gradient saliency (Simonyan et al., 2014) at image resolution.

    The gradient of the pre-softmax class score with respect to the pixels; each map
    pixel is the largest ``|gradient|`` over the colour channels. float32 (N, H, W).

    Example:
        >>> maps = saliency(model, images)              # doctest: +SKIP
    """
    return Saliency()(model, images, class_index, batch_size=batch_size)


# ---------------------------------------------------------------------------------------
# The rest of the family
# ---------------------------------------------------------------------------------------


def _safe_divide(numerator, denominator):
    ok = tf.not_equal(denominator, 0.0)
    return tf.where(ok, numerator / tf.where(ok, denominator, 1.0), 0.0)


def _in_chunks(total, chunk, body):
    """``body(start, stop)`` → (n, stop - start) for consecutive chunks of ``range(total)``,
    run in a graph loop (one model call per chunk); the results joined to (n, total)."""
    chunk = tf.maximum(chunk, 1)
    parts = tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False)

    def step(i, parts):
        start = i * chunk
        stop = tf.minimum(start + chunk, total)
        return i + 1, parts.write(i, tf.transpose(body(start, stop)))

    _, parts = tf.while_loop(lambda i, _: i * chunk < total, step, [tf.constant(0), parts])
    return tf.transpose(parts.concat())


def _class_of_each(values, classes, copies):
    """Pick each image's class from (n·copies, classes) scores laid out image-major."""
    return tf.reshape(tf.gather(values, tf.repeat(classes, copies), batch_dims=1), (-1, copies))


class GradCAMPlusPlus(GradientMethod):
    """Grad-CAM++ (Chattopadhay et al., 2018): pixel-weighted positive gradients.

    α_k(x, y) = g² / (2 g² + Σ_ab A_k(a, b) · g³) with g = dS/dA_k(x, y), and
    weight_k = Σ_xy α_k(x, y) · ReLU(g). This is the paper's closed form for the
    exponential of the pre-softmax score, as pytorch-grad-cam computes it: the exponential
    only scales each image's map. Where g = 0, α = 0.

    Example:
        >>> maps = GradCAMPlusPlus()(model, images)     # doctest: +SKIP
    """

    def weights(self, activations, grads):
        squared = grads**2
        total = tf.reduce_sum(activations, axis=(1, 2), keepdims=True)
        alpha = _safe_divide(squared, 2.0 * squared + total * squared * grads)
        return tf.reduce_sum(alpha * tf.nn.relu(grads), axis=(1, 2))


class LayerCAM(GradientMethod):
    """LayerCAM (Jiang et al., 2021): ReLU(Σ_k ReLU(dS/dA_k(x, y)) · A_k(x, y)).

    Each position keeps its own gradient instead of Grad-CAM's spatial mean, so maps from
    early layers stay sharp. At the layer feeding GAP → Dense, with a logit target, the
    gradient is w_k^c / (h w) everywhere and LayerCAM is ReLU(Σ_k max(w_k^c, 0) A_k)/(h w):
    CAM with the negative class weights clipped to zero.

    Example:
        >>> maps = LayerCAM()(model, images, layer="block2_conv")  # doctest: +SKIP
    """

    def combine(self, activations, grads):
        return tf.nn.relu(tf.reduce_sum(tf.nn.relu(grads) * activations, axis=-1))


SCORE_WEIGHTINGS = ("probability", "channel-softmax")


class ScoreCAM(GradientMethod):
    """Score-CAM (Wang et al., 2020): weight each channel by the score of the image seen
    through that channel's mask. No gradients.

    Each activation map A_k is upsampled to the image, scaled to [0, 1] and multiplied
    into the image; the model scores the masked image. ``weighting`` says how scores
    become channel weights:

    - ``"probability"`` (default; the authors' code and tf-keras-vis): the softmax
      probability of the class on the masked image;
    - ``"channel-softmax"`` (pytorch-grad-cam): a softmax over the channels of the
      class's pre-softmax scores.

    The map is ReLU(Σ_k weight_k A_k) at the layer's resolution. Masked images are built
    and scored in chunks of at most ``batch_size`` inputs per model call, so memory stays
    bounded however many channels and images there are; the chunk size does not change
    the result.

    Example:
        >>> maps = ScoreCAM()(model, images, batch_size=32)   # doctest: +SKIP
    """

    uses_gradients = False

    def __init__(self, weighting="probability"):
        if weighting not in SCORE_WEIGHTINGS:
            raise ValueError(f"weighting={weighting!r} must be one of {SCORE_WEIGHTINGS}.")
        self.weighting = weighting

    def inputs_per_image(self, model, site):
        channels = _site_channels(site)
        return channels if channels else 1

    def masks(self, activations, size):
        """Masks (n, H, W, c) from activation maps (n, h, w, c): each map scaled to
        [0, 1] (a constant map gives zeros), then resized bilinearly to the image."""
        low = tf.reduce_min(activations, axis=(1, 2), keepdims=True)
        high = tf.reduce_max(activations, axis=(1, 2), keepdims=True)
        scaled = _safe_divide(activations - low, high - low)
        return tf.image.resize(scaled, size, method="bilinear")

    def explain(self, evidence):
        activations, images, classes = evidence.activations, evidence.images, evidence.classes
        n = tf.shape(images)[0]
        channels = tf.shape(activations)[-1]
        size = tf.shape(images)[1:3]

        def scores(start, stop):
            masks = self.masks(activations[..., start:stop], size)
            masks = tf.transpose(masks, (0, 3, 1, 2))[..., None]  # (n, c, H, W, 1)
            masked = tf.reshape(images[:, None] * masks, tf.concat([[-1], tf.shape(images)[1:]], 0))
            values = evidence.logits(masked)
            if self.weighting == "probability":
                values = tf.nn.softmax(values, axis=-1)
            return _class_of_each(values, classes, stop - start)

        weights = _in_chunks(channels, evidence.budget // n, scores)
        if self.weighting == "channel-softmax":
            weights = tf.nn.softmax(weights, axis=-1)
        return tf.nn.relu(tf.einsum("nhwk,nk->nhw", activations, weights))


def _site_channels(site):
    try:
        return tuple(site.layer.output.shape)[-1]
    except AttributeError:
        return None


class _PixelMethod(GradientMethod):
    """A method on the input pixels: no layer to choose."""

    def default_layer(self, model):
        return _source(model.inputs[0])[0]

    def target(self, model, layer):
        if layer is not None:
            raise ValueError(f"{type(self).__name__} is always taken on the input pixels.")
        return _Site(self.default_layer(model), "input")


class SmoothGrad(_PixelMethod):
    """SmoothGrad (Smilkov et al., 2017): the saliency map averaged over noisy copies.

    Each of ``samples`` copies adds Gaussian noise with standard deviation
    ``noise_level`` × (max − min) of the image; the map is the mean over copies of the
    largest ``|dS/dpixel|`` over colour channels, as in :func:`saliency`. The noise patterns
    are drawn once from ``seed`` and shared by all images, so a map does not depend on
    which batch its image came in.

    Example:
        >>> maps = SmoothGrad(samples=25, noise_level=0.15)(model, images)  # doctest: +SKIP
    """

    uses_gradients = False

    def __init__(self, samples=25, noise_level=0.15, seed=0):
        if int(samples) < 1:
            raise ValueError(f"samples must be at least 1, got {samples}.")
        if not noise_level >= 0:
            raise ValueError(f"noise_level must be non-negative, got {noise_level}.")
        self.samples, self.noise_level, self.seed = int(samples), float(noise_level), int(seed)

    def inputs_per_image(self, model, site):
        return self.samples

    def explain(self, evidence):
        images, classes = evidence.images, evidence.classes
        shape = tuple(images.shape[1:])
        noise = np.random.default_rng(self.seed).standard_normal((self.samples, *shape))
        noise = tf.constant(noise.astype(np.float32))
        spread = tf.reduce_max(images, axis=(1, 2, 3)) - tf.reduce_min(images, axis=(1, 2, 3))
        sigma = (self.noise_level * spread)[:, None, None, None, None]
        n = tf.shape(images)[0]
        chunk = tf.maximum(evidence.budget // n, 1)

        def step(start, total):
            stop = tf.minimum(start + chunk, self.samples)
            noisy = images[:, None] + sigma * noise[None, start:stop]
            noisy = tf.reshape(noisy, (-1, *shape))
            with tf.GradientTape() as tape:
                tape.watch(noisy)
                values = _class_of_each(evidence.logits(noisy), classes, stop - start)
            grads = tf.reshape(tape.gradient(values, noisy), (n, -1, *shape))
            return stop, total + tf.reduce_sum(tf.reduce_max(tf.abs(grads), axis=-1), axis=1)

        total = tf.zeros(tf.concat([[n], tf.shape(images)[1:3]], 0))
        _, total = tf.while_loop(lambda start, _: start < self.samples, step,
                                 [tf.constant(0), total])
        return total / self.samples


class Occlusion(_PixelMethod):
    """Occlusion sensitivity (Zeiler & Fergus, 2014): how much the class score drops when
    a square patch of the image is covered.

    A ``patch`` × ``patch`` square slides with step ``stride`` (the last row and column of
    positions touch the image border, so every pixel is covered), filled with the image's
    mean colour (``fill="mean"``) or a constant. The drop S(x) − S(x occluded) of the
    pre-softmax score (``score="logit"``) or of the softmax probability
    (``score="probability"``) is spread over the patch; each pixel's value is the mean
    drop over the patches that cover it. Maps are signed and at image resolution.

    Example:
        >>> maps = Occlusion(patch=16, stride=8)(model, images)  # doctest: +SKIP
    """

    uses_gradients = False

    def __init__(self, patch=16, stride=8, fill="mean", score="logit"):
        if int(patch) < 1 or int(stride) < 1:
            raise ValueError(f"patch and stride must be at least 1, got {patch}, {stride}.")
        if fill != "mean" and not isinstance(fill, (int, float)):
            raise ValueError(f'fill must be "mean" or a number, got {fill!r}.')
        if score not in ("logit", "probability"):
            raise ValueError(f'score must be "logit" or "probability", got {score!r}.')
        self.patch, self.stride = int(patch), int(stride)
        self.fill, self.score = fill if fill == "mean" else float(fill), score

    def positions(self, height, width):
        """The patch masks, float32 (P, height, width), 1 inside the patch."""
        if self.patch > min(height, width):
            raise ValueError(
                f"patch={self.patch} is larger than the {height}×{width} image."
            )

        def starts(side):
            found = list(range(0, side - self.patch + 1, self.stride))
            return found if found[-1] == side - self.patch else found + [side - self.patch]

        masks = []
        for y in starts(height):
            for x in starts(width):
                mask = np.zeros((height, width), np.float32)
                mask[y : y + self.patch, x : x + self.patch] = 1.0
                masks.append(mask)
        return np.stack(masks)

    def inputs_per_image(self, model, site):
        height, width = tuple(model.inputs[0].shape)[1:3]
        if height is None or width is None:
            raise ValueError("Occlusion needs a model with a fixed input height and width.")
        return len(self.positions(height, width))

    def _score(self, logits, classes, copies):
        if self.score == "probability":
            logits = tf.nn.softmax(logits, axis=-1)
        return _class_of_each(logits, classes, copies)

    def explain(self, evidence):
        images, classes = evidence.images, evidence.classes
        height, width = tuple(images.shape[1:3])
        masks = self.positions(height, width)
        count, coverage = len(masks), masks.sum(axis=0)
        masks = tf.constant(masks)
        n = tf.shape(images)[0]
        if self.fill == "mean":
            fill = tf.reduce_mean(images, axis=(1, 2), keepdims=True)[:, None]
        else:
            fill = tf.fill([1, 1, 1, 1, 1], tf.constant(self.fill, tf.float32))
        base = self._score(evidence.logits(images), classes, 1)

        def scores(start, stop):
            m = masks[start:stop][None, ..., None]  # (1, c, H, W, 1)
            covered = images[:, None] * (1.0 - m) + fill * m
            covered = tf.reshape(covered, tf.concat([[-1], tf.shape(images)[1:]], 0))
            return self._score(evidence.logits(covered), classes, stop - start)

        drops = base - _in_chunks(count, evidence.budget // n, scores)
        spread = tf.reshape(drops @ tf.reshape(masks, (count, -1)), (-1, height, width))
        return spread / tf.constant(coverage)


def grad_cam_plus_plus(
    model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE
):
    """Grad-CAM++ maps (N, h, w); see :class:`GradCAMPlusPlus`.

    Example:
        >>> maps = grad_cam_plus_plus(model, images)    # doctest: +SKIP
    """
    return GradCAMPlusPlus()(model, images, class_index, layer, batch_size=batch_size)


def layer_cam(model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE):
    """LayerCAM maps (N, h, w); see :class:`LayerCAM`.

    Example:
        >>> maps = layer_cam(model, images, layer="block1_conv")   # doctest: +SKIP
    """
    return LayerCAM()(model, images, class_index, layer, batch_size=batch_size)


def score_cam(
    model,
    images,
    class_index=None,
    layer=None,
    *,
    batch_size=DEFAULT_BATCH_SIZE,
    weighting="probability",
):
    """Score-CAM maps (N, h, w); see :class:`ScoreCAM`.

    ``batch_size`` is the number of masked images per model call: it bounds peak memory
    and does not change the maps.

    Example:
        >>> maps = score_cam(model, images, batch_size=16)   # doctest: +SKIP
    """
    method = ScoreCAM(weighting)
    return method(model, images, class_index, layer, batch_size=batch_size)


def smooth_grad(
    model,
    images,
    class_index=None,
    *,
    samples=25,
    noise_level=0.15,
    seed=0,
    batch_size=DEFAULT_BATCH_SIZE,
):
    """SmoothGrad maps (N, H, W); see :class:`SmoothGrad`.

    Example:
        >>> maps = smooth_grad(model, images, samples=16)    # doctest: +SKIP
    """
    method = SmoothGrad(samples, noise_level, seed)
    return method(model, images, class_index, batch_size=batch_size)


def occlusion(
    model,
    images,
    class_index=None,
    *,
    patch=16,
    stride=8,
    fill="mean",
    score="logit",
    batch_size=DEFAULT_BATCH_SIZE,
):
    """Occlusion-sensitivity maps (N, H, W); see :class:`Occlusion`.

    Example:
        >>> maps = occlusion(model, images, patch=8, stride=4)   # doctest: +SKIP
    """
    method = Occlusion(patch, stride, fill, score)
    return method(model, images, class_index, batch_size=batch_size)


#: Every map by its usual name; each takes ``(model, images, class_index=None)``.
METHODS = {
    "CAM": cam,
    "Grad-CAM": grad_cam,
    "Grad-CAM++": grad_cam_plus_plus,
    "LayerCAM": layer_cam,
    "Score-CAM": score_cam,
    "Saliency": saliency,
    "SmoothGrad": smooth_grad,
    "Occlusion": occlusion,
}


def logits(model, images, *, batch_size=DEFAULT_BATCH_SIZE):
    """The pre-softmax class scores (N, classes) that every map here explains.

    A final Dense's softmax/sigmoid is switched off and a final softmax ``Activation`` is
    skipped, exactly as in the maps.

    Example:
        >>> probabilities = scipy.special.softmax(logits(model, images), axis=-1)  # doctest: +SKIP
    """
    _check_model(model)
    images = _check_images(model, images)
    run = _compiled(model, ("logits",), lambda ref: _make_logits_pass(ref, _image_spec(model)))
    classes = np.zeros(len(images), np.int32)
    return _run_batched(run, images, classes, batch_size)


def _make_logits_pass(model_ref, spec):
    score_layer, where, _ = _score_layer(model_ref())
    score_site = _Site(score_layer, where) if where in ("input", "logits") else None

    @tf.function(input_signature=[spec, tf.TensorSpec([None], tf.int32)])
    def run(images, classes):
        with _capturing([score_site] if score_site else []) as captured:
            outputs = model_ref()(images, training=False)
        return tf.cast(captured[score_site] if score_site else outputs, tf.float32)

    return run


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
