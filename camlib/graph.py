"""Keras graph access and the compiled, batched runtime that every map shares.

Chapters 2 to 7 all need the same four things from a Keras model, and this module is the
one place that provides them:

- **finding layers**: :func:`walk`, :func:`find_layer`, :func:`path_of`,
  :func:`conv_layer_names`, :func:`source` (the layer that produced a tensor);
- **the class score before softmax**: :func:`score_site`, :func:`logits`,
  :func:`probabilities`;
- **capturing a layer while the model runs**: :class:`Site` and :func:`capturing`, the
  Keras 3 form of a forward hook;
- **the runtime**: :func:`compiled` (one traced function per model and key, cached),
  :func:`run_batched`, and the input checks :func:`check_model`, :func:`check_images`,
  :func:`check_classes`, :func:`check_batch_size` and :func:`input_range`.

Layers are captured the way a forward hook does it: while the compiled function is
traced, the target layer's ``call`` is wrapped so that its output is recorded (and
watched by the gradient tape). This works the same for Sequential, functional and nested
models (a backbone model used as a layer), where rebuilding
``keras.Model(model.inputs, [model.get_layer(name).output, model.output])`` fails.

**Binary models.** A one-unit sigmoid head (the slides' lane-change network is one) is
treated as two classes: class 1 has the score ``S`` of the unit and class 0 the score
``-S``, so that ``class_index=None`` explains the predicted class (1 when ``S > 0``),
class 0 is explained by its own evidence, and the probabilities are ``sigmoid(±S)``.
:func:`n_classes` is then 2, and :func:`logits` returns (N, 2).

Error messages are ValueError sentences that say what was wrong and how to fix it.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import weakref
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "CONV_TYPES",
    "IDENTITY_AT_INFERENCE",
    "SQUASHING",
    "Site",
    "ScoreSite",
    "source",
    "walk",
    "path_of",
    "is_input_layer",
    "activation_name",
    "conv_layer_names",
    "find_layer",
    "feature_map_site",
    "not_a_feature_map",
    "score_site",
    "n_classes",
    "two_class_scores",
    "capturing",
    "compiled",
    "image_spec",
    "chosen_classes",
    "score_function",
    "probabilities",
    "check_model",
    "check_images",
    "check_classes",
    "check_batch_size",
    "check_scores_are_not_probabilities",
    "input_range",
    "declare_input_range",
    "run_batched",
    "logits",
]

#: Images per compiled call when the caller gives no ``batch_size``.
DEFAULT_BATCH_SIZE = 64

#: The layer types that :func:`conv_layer_names` lists.
CONV_TYPES = (
    keras.layers.Conv2D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv2D,
    keras.layers.Conv2DTranspose,
)

#: Layers that do nothing at inference; the CAM head finder looks through them.
IDENTITY_AT_INFERENCE = tuple(
    getattr(keras.layers, name)
    for name in ("Dropout", "GaussianDropout", "GaussianNoise", "AlphaDropout", "Flatten")
    if hasattr(keras.layers, name)
)

#: Activations that turn class scores into probabilities; maps are taken before them.
SQUASHING = ("softmax", "sigmoid")


# ---------------------------------------------------------------------------------------
# Finding layers in a model graph
# ---------------------------------------------------------------------------------------


def source(tensor):
    """The layer that produced ``tensor`` and the first input of that call.

    Nested models are looked through. A shared layer is called once per model that uses
    it; the tensor's history says which call (node) belongs to this graph, so the walk
    never strays into another model.

    Returns:
        ``(layer, input_tensor)``, or ``(None, None)`` for a tensor with no history.
    """
    history = getattr(tensor, "_keras_history", None)
    if not history:
        return None, None
    layer, node_index, tensor_index = history
    if isinstance(layer, keras.Model) and getattr(layer, "outputs", None):
        return source(layer.outputs[tensor_index])
    inputs = layer._inbound_nodes[node_index].input_tensors
    return layer, (inputs[0] if inputs else None)


def walk(model, prefix=""):
    """Yield ``(path, layer)`` for every layer, nested models included, in graph order.

    A layer inside a nested model has the path ``"outer/inner"``.
    """
    for layer in model.layers:
        path = prefix + layer.name
        yield path, layer
        if isinstance(layer, keras.Model):
            yield from walk(layer, path + "/")


def path_of(model, target):
    """The path of layer ``target`` in ``model`` (see :func:`walk`), else its name."""
    for path, layer in walk(model):
        if layer is target:
            return path
    return target.name


def is_input_layer(layer):
    """Whether ``layer`` is a ``keras.layers.InputLayer``."""
    return isinstance(layer, keras.layers.InputLayer)


def activation_name(layer):
    """The name of ``layer``'s activation function, or ``""`` when it has none."""
    return getattr(getattr(layer, "activation", None), "__name__", "")


def conv_layer_names(model):
    """Paths of all 2-D convolution layers in ``model``, nested models included.

    A layer inside a nested model is named ``"outer/inner"``; these are exactly the
    strings ``grad_cam(..., layer=...)`` accepts.

    Example:
        >>> conv_layer_names(model)[:2], conv_layer_names(model)[-1]
        (['block1_conv', 'block2_conv'], 'conv_cam')
    """
    return [path for path, layer in walk(model) if isinstance(layer, CONV_TYPES)]


def find_layer(model, layer, *, allow_input=True):
    """Resolve a layer given as an object, a path ``"a/b"`` or a plain (unique) name.

    With ``allow_input=False`` the model's ``InputLayer`` is refused: it only passes the
    images on, so it has no activations or channels of its own.

    Raises:
        ValueError: the layer is not in the model, the name is ambiguous, or ``layer``
            is neither a string nor a Keras layer.
    """
    if isinstance(layer, keras.layers.Layer):
        if any(candidate is layer for _, candidate in walk(model)):
            return _not_input(model, layer, allow_input)
        raise ValueError(f"Layer {layer.name!r} is not part of model {model.name!r}.")
    if not isinstance(layer, str):
        raise ValueError(
            f"layer must be a layer name, a path such as 'backbone/conv3', or a Keras "
            f"layer of the model; got {type(layer).__name__} {layer!r}."
        )
    matches = [found for path, found in walk(model) if path == layer]
    if not matches:
        matches = [found for path, found in walk(model) if found.name == layer]
    if len(matches) == 1:
        return _not_input(model, matches[0], allow_input)
    if len(matches) > 1:
        paths = [path for path, found in walk(model) if found.name == layer]
        raise ValueError(
            f"Layer name {layer!r} is ambiguous in model {model.name!r}; "
            f"use one of the paths {paths}."
        )
    raise ValueError(
        f"Unknown layer {layer!r} in model {model.name!r}. "
        f"Convolution layers it could be: {conv_layer_names(model)}."
    )


def _not_input(model, layer, allow_input):
    if not allow_input and is_input_layer(layer):
        raise ValueError(
            f"Layer {layer.name!r} is the model's input: it has no activations of its own. "
            f"Name a layer after it, for example one of {conv_layer_names(model)}."
        )
    return layer


class Site(NamedTuple):
    """A tensor to capture while the model runs.

    Attributes:
        layer: the Keras layer.
        where: ``"input"`` or ``"output"`` of the layer, or ``"logits"``: its output
            with its softmax or sigmoid activation switched off.
    """

    layer: keras.layers.Layer
    where: str


def not_a_feature_map(model, layer, shape):
    """The error message for a layer whose output is not an (N, h, w, K) map."""
    return (
        f"Layer {path_of(model, layer)!r} outputs shape {tuple(shape)}; a map needs a 4-D "
        f"(N, h, w, K) feature map. Convolution layers: {conv_layer_names(model)}."
    )


def feature_map_site(model, layer):
    """The site of a layer whose output is a 4-D feature map, or the input pixels.

    ``layer`` is anything :func:`find_layer` accepts. The model's ``InputLayer`` gives
    the ``"input"`` site (the pixels themselves).

    Raises:
        ValueError: the layer's output is not 4-D (a Dense or pooled layer).
    """
    target = find_layer(model, layer)
    if is_input_layer(target):
        return Site(target, "input")
    try:
        shape = tuple(target.output.shape)
    except (AttributeError, ValueError):  # a layer inside a subclassed model
        shape = None
    if shape is not None and len(shape) != 4:
        raise ValueError(not_a_feature_map(model, target, shape))
    return Site(target, "output")


# ---------------------------------------------------------------------------------------
# The class score before softmax
# ---------------------------------------------------------------------------------------


class ScoreSite(NamedTuple):
    """Where the class score before softmax is found in a model.

    Attributes:
        site: the :class:`Site` to capture, or None when the model's output already is
            the score (no softmax or sigmoid at the end).
        squashing: ``"softmax"``, ``"sigmoid"`` or None: what turns the score into a
            probability (see :func:`probabilities`).
        opaque: True when the last layer is a Lambda or a subclassed model, whose inside
            camlib cannot see; :func:`check_scores_are_not_probabilities` then checks
            the outputs themselves.
    """

    site: object
    squashing: object
    opaque: bool


def score_site(model):
    """Find the class score before softmax in ``model``.

    A trailing softmax/sigmoid ``Activation`` (or ``Softmax``) layer is skipped: the score
    is that layer's input. A last Dense (or any layer) with a softmax/sigmoid activation
    is captured with its activation switched off. Otherwise the model's output is the
    score.

    Returns:
        A :class:`ScoreSite`.
    """
    last, _ = source(model.outputs[0])
    one_unit = tuple(model.outputs[0].shape)[-1] == 1
    if isinstance(last, keras.layers.Softmax):
        return ScoreSite(Site(last, "input"), "softmax", False)
    name = activation_name(last) if last is not None else ""
    if isinstance(last, keras.layers.Activation) and name in SQUASHING:
        return ScoreSite(Site(last, "input"), "sigmoid" if one_unit else name, False)
    if last is not None and name in SQUASHING:
        return ScoreSite(Site(last, "logits"), "sigmoid" if one_unit else name, False)
    opaque = isinstance(last, keras.layers.Lambda) or (
        isinstance(last, keras.Model) and not getattr(last, "outputs", None)
    )
    return ScoreSite(None, "sigmoid" if one_unit else None, opaque)


def n_classes(model):
    """The number of classes a map can explain: the output units, or 2 for one unit."""
    units = tuple(model.outputs[0].shape)[-1]
    return 2 if units == 1 else units


def two_class_scores(scores):
    """Scores (M, 1) of a one-unit head as two classes ``(-S, S)``; others unchanged.

    Works on TensorFlow tensors inside traced code.
    """
    if scores.shape[-1] == 1:
        return tf.concat([-scores, scores], axis=-1)
    return scores


def probabilities(scores, squashing):
    """Class probabilities from pre-softmax ``scores`` (M, classes), in TensorFlow.

    A sigmoid head gives ``sigmoid(score)`` for each class; for a one-unit head, whose
    scores are ``(-S, S)`` (see :func:`two_class_scores`), that is ``1 - p`` and ``p``.
    Otherwise a softmax over the classes. This is what makes the probability-based
    methods meaningful for a binary classifier, where a softmax over one score is
    always 1.
    """
    if squashing == "sigmoid":
        return tf.sigmoid(scores)
    return tf.nn.softmax(scores, axis=-1)


def check_scores_are_not_probabilities(model, images):
    """Refuse a model whose score camlib cannot take before the softmax.

    When the last layer is a Lambda or a subclassed model, camlib cannot switch its
    softmax off. The outputs of the first images are then checked: rows that are all
    non-negative and sum to 1 are probabilities, and every map would explain them
    instead of the class score.

    Raises:
        ValueError: the outputs are probabilities from inside an opaque layer.
    """
    found = score_site(model)
    if not found.opaque:
        return
    outputs = keras.ops.convert_to_numpy(model(images[:8], training=False))
    outputs = np.asarray(outputs, np.float64)
    if outputs.ndim != 2 or outputs.shape[1] < 2:
        return
    if np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-4):
        last, _ = source(model.outputs[0])
        raise ValueError(
            f"Model {model.name!r} outputs probabilities from inside layer {last.name!r} "
            f"({type(last).__name__}), where camlib cannot switch the softmax off, so "
            "every map would explain a probability instead of the class score. End the "
            "model in Dense(n, activation='softmax') or a keras.layers.Softmax() layer, "
            "or return the scores before softmax."
        )


# ---------------------------------------------------------------------------------------
# Capturing layers while the model runs
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def capturing(sites, tape=None):
    """Record each site's tensor during one (traced) model call.

    Each site's ``layer.call`` is wrapped for the duration of the ``with`` block; the
    recorded tensors are in the yielded dict, keyed by site. With ``tape``, every
    recorded tensor is watched, so that gradients with respect to it can be taken.

    Example:
        >>> site = Site(model.get_layer("conv_cam"), "output")
        >>> with capturing([site]) as captured:
        ...     probabilities = model(images)
        >>> tuple(captured[site].shape)
        (4, 16, 16, 64)
    """
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


def compiled(model, key, make):
    """The function ``make(weakref.ref(model))``, built once per model and ``key``.

    ``key`` is a hashable tuple naming what the function computes (method, settings,
    layer). The function holds only a weak reference to the model.
    """
    functions = _CACHE.setdefault(model, {})
    if key not in functions:
        function = make(weakref.ref(model))
        # Each function traces once (the batch axis is None); TensorFlow would still warn
        # about "frequent retracing" after a handful of different models.
        if hasattr(function, "_omit_frequent_tracing_warning"):
            function._omit_frequent_tracing_warning = True
        functions[key] = function
    return functions[key]


def image_spec(model):
    """The ``tf.TensorSpec`` of a float32 image batch for ``model``."""
    return tf.TensorSpec((None, *tuple(model.inputs[0].shape)[1:]), tf.float32)


def chosen_classes(scores, classes):
    """Each image's requested class, or its predicted class where ``classes`` is -1.

    A one-unit (binary) head has only class 0, the positive class's score.
    """
    predicted = tf.argmax(scores, axis=-1, output_type=tf.int32)
    return tf.where(classes < 0, predicted, classes)


def score_function(model_ref):
    """A function, images → scores before softmax (M, classes), for traced code."""
    found = score_site(model_ref())
    sites = [found.site] if found.site is not None else []

    def scores(inputs):
        with capturing(sites) as captured:
            outputs = model_ref()(inputs, training=False)
        return two_class_scores(tf.cast(captured[found.site] if sites else outputs, tf.float32))

    return scores


# ---------------------------------------------------------------------------------------
# Checking inputs
# ---------------------------------------------------------------------------------------


def check_model(model, *, classifier=True):
    """Refuse anything but a built, single-input, single-output Keras model.

    Args:
        model: the model to check.
        classifier: also require an output of shape (N, classes), as every map and the
            class score need; :mod:`camlib.activations` and :mod:`camlib.ascent` accept
            any output.

    Raises:
        ValueError: ``model`` is not a Keras model, was never built, has several
            inputs or outputs, or (with ``classifier``) is not a classifier.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"model must be a Keras model, got {type(model).__name__}; load or build one, "
            "for example camlib.models.get('shapes-gap')."
        )
    inputs = getattr(model, "inputs", None)
    outputs = getattr(model, "outputs", None)
    if not inputs or not outputs:
        raise ValueError(
            f"Model {model.name!r} has no symbolic inputs and outputs: build it with the "
            "functional API from a keras.Input, or start a Sequential with keras.Input(shape)."
        )
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            f"Model {model.name!r} has {len(inputs)} inputs and {len(outputs)} outputs; "
            "maps need a single-input, single-output classifier."
        )
    if classifier and len(tuple(outputs[0].shape)) != 2:
        raise ValueError(
            f"Model {model.name!r} outputs shape {tuple(outputs[0].shape)}; maps need a "
            "classifier whose output is (N, classes), not a per-pixel output."
        )


def declare_input_range(model, low, high):
    """State the value range ``model`` expects, so that images outside it are refused.

    The range is kept on the model object. ``keras.models.clone_model`` builds a new
    object without it; :func:`input_range` still finds the range of camlib's own
    architectures from their first layer.

    Returns:
        The model, for chaining.
    """
    numbers_given = all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (low, high)
    )
    if not numbers_given:
        raise ValueError(f"The input range must be two numbers, got {low!r} and {high!r}.")
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"The input range must be finite with low < high; got [{low}, {high}].")
    model.camlib_input_range = (low, high)
    return model


def input_range(model):
    """The value range ``(low, high)`` that ``model`` expects, or None if unknown.

    A range set by :func:`declare_input_range` comes first. Otherwise a model whose first
    layer is camlib's ``centre`` rescaling (``2x - 1``, which maps [0, 1] to [-1, 1]) takes
    [0, 1]: this survives ``keras.models.clone_model``.
    """
    declared = getattr(model, "camlib_input_range", None)
    if declared is not None:
        return declared
    layers = [layer for layer in model.layers if not is_input_layer(layer)]
    first = layers[0] if layers else None
    if (
        isinstance(first, keras.layers.Rescaling)
        and first.name == "centre"
        and np.isclose(float(np.asarray(first.scale)), 2.0)
        and np.isclose(float(np.asarray(first.offset)), -1.0)
    ):
        return (0.0, 1.0)
    return None


def check_images(model, images):
    """The images as float32, after checking that they fit ``model``.

    Returns:
        A float32 array (N, H, W, C).

    Raises:
        ValueError: no batch axis, wrong shape (with the likely fix: channels-first,
            grayscale), an empty batch, non-numeric values, NaN or inf, or values outside
            the model's :func:`input_range` (such as 0-255 for a model that takes [0, 1]).
    """
    try:
        images = np.asarray(images)
    except (ValueError, TypeError) as err:
        raise ValueError(f"images must be one numeric array (N, H, W, C): {err}") from None
    if images.dtype == object or images.dtype.kind in "USV":
        raise ValueError(
            f"images must be a numeric array (N, H, W, C), got dtype {images.dtype}; "
            "ragged lists of images cannot be batched: resize them to one size first."
        )
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
    if images.dtype == bool or np.issubdtype(images.dtype, np.complexfloating):
        raise ValueError(f"Images must be real numbers, got dtype {images.dtype}.")
    value_range = input_range(model)
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
    if (
        len(shape) == 4
        and shape[1] == channels
        and _fits((shape[2], shape[3], shape[1]), expected)
    ):
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


def check_classes(model, class_index, n):
    """One class per image as int32 (N,); -1 marks "the predicted class".

    ``class_index`` is None (each image's predicted class), one int for every image, or
    one int per image.

    Raises:
        ValueError: not whole numbers, the wrong length, or out of the model's range.
    """
    n_classes_ = n_classes(model)
    if class_index is None:
        return np.full(n, -1, np.int32)
    if isinstance(class_index, (str, bytes)):
        raise ValueError(f"class_index must be integers, got the string {class_index!r}.")
    try:
        classes = np.asarray(class_index)
    except (ValueError, TypeError):
        raise ValueError(f"class_index must be integers, got {class_index!r}.") from None
    whole_floats = (
        classes.dtype.kind == "f"
        and np.all(np.isfinite(classes))
        and np.all(classes == np.round(classes))
    )
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
    if n_classes_ is not None and np.any((classes < 0) | (classes >= n_classes_)):
        bad = classes[(classes < 0) | (classes >= n_classes_)]
        raise ValueError(
            f"class_index {bad.tolist()} out of range: model {model.name!r} has "
            f"{n_classes_} classes, valid indices are 0..{n_classes_ - 1}."
        )
    return classes.astype(np.int32)


def check_batch_size(batch_size, name="batch_size"):
    """``batch_size`` as a positive int.

    Accepts Python and numpy integers, and floats that are whole numbers.

    Raises:
        ValueError: None, a bool, a string, a non-whole or non-finite number, or < 1.
    """
    whole = isinstance(batch_size, numbers.Integral) or (
        isinstance(batch_size, numbers.Real)
        and math.isfinite(batch_size)
        and float(batch_size).is_integer()
    )
    if isinstance(batch_size, bool) or not whole:
        raise ValueError(f"{name} must be a whole number of at least 1, got {batch_size!r}.")
    if int(batch_size) < 1:
        raise ValueError(f"{name} must be at least 1, got {batch_size}.")
    return int(batch_size)


def run_batched(run, images, classes, batch_size, *extra):
    """Call ``run(images, classes, *extra)`` on consecutive batches; join the results.

    Returns:
        The concatenated results as a float32 numpy array.
    """
    batch_size = check_batch_size(batch_size)
    maps = []
    for start in range(0, len(images), batch_size):
        stop = start + batch_size
        maps.append(run(images[start:stop], classes[start:stop], *extra).numpy())
    return np.concatenate(maps).astype(np.float32, copy=False)


def logits(model, images, *, batch_size=DEFAULT_BATCH_SIZE):
    """The class scores before softmax (N, classes) that every map explains.

    For a one-unit head these are ``(-S, S)``, two classes (see the module docstring).

    A final Dense's softmax/sigmoid is switched off and a final softmax ``Activation`` is
    skipped, exactly as in the maps.

    Example:
        >>> scores = logits(model, images)
        >>> probabilities = keras.ops.softmax(scores).numpy()
        >>> np.allclose(probabilities, model.predict(images, verbose=0), atol=1e-6)
        True
    """
    check_model(model)
    batch_size = check_batch_size(batch_size)
    images = check_images(model, images)
    check_scores_are_not_probabilities(model, images)
    run = compiled(model, ("logits",), lambda ref: _make_logits_pass(ref, image_spec(model)))
    classes = np.zeros(len(images), np.int32)
    return run_batched(run, images, classes, batch_size)


def _make_logits_pass(model_ref, spec):
    scores = score_function(model_ref)

    @tf.function(input_signature=[spec, tf.TensorSpec([None], tf.int32)])
    def run(images, classes):
        return scores(images)

    return run
