"""The family of map methods beyond CAM (chapter 7), with one extension point per kind.

Every method is a class with a ``name``; defining the class registers it in
:data:`METHODS`, so adding a method touches one place. Two small bases say honestly
what a method needs:

- :class:`LayerMethod`: one compiled pass captures a layer's activations ``A``
  (N, h, w, K) and the gradients ``dS/dA`` of each image's class score ``S``. A method
  defines :meth:`~LayerMethod.weights` (per-channel weights; the map is
  ReLU(Σ_k weight_k A_k)) or :meth:`~LayerMethod.combine` (the map itself).
  Grad-CAM, Grad-CAM++, LayerCAM, HiResCAM, XGrad-CAM and saliency are layer methods;
  guided backpropagation and the deconvnet are saliency with another backward rule for
  the ReLUs (:meth:`~LayerMethod.forward_context`).
- :class:`ProbeMethod`: the model is run again on perturbed inputs and re-scored; there
  is no backward pass through the captured layer. A method defines
  :meth:`~ProbeMethod.explain`, which receives a :class:`Probe`, and
  :meth:`~MapMethod.inputs_per_image`, so that ``batch_size`` bounds the inputs of
  every model call and hence memory. Score-CAM, SmoothGrad, Integrated Gradients and
  occlusion are probe methods (SmoothGrad and Integrated Gradients take gradients of
  their perturbed copies inside ``explain``).

A method with ``on_pixels = True`` works on the input pixels and takes no ``layer``.
CAM itself is in :mod:`camlib.cam`; :class:`CAM` here only gives it the same call
signature, so that :data:`METHODS` holds every map.

Conventions (as in :mod:`camlib.cam`): maps are float32 (N, h, w) at the resolution of
the captured layer; ``class_index=None`` is each image's predicted class; the class
score is taken **before** softmax or sigmoid. A one-unit (binary) head has two classes:
1 with the unit's score ``S`` and 0 with ``-S`` (see :mod:`camlib.graph`).

Example:
    >>> list(METHODS)[:3]
    ['CAM', 'Grad-CAM', 'Grad-CAM++']
    >>> METHODS["Grad-CAM"](model, images).shape
    (4, 16, 16)
    >>> GradCAM()(model, images, layer="block2_conv").shape
    (4, 32, 32)
"""

from __future__ import annotations

import contextlib
import math
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from camlib import graph
from camlib.cam import cam, find_cam_head

# The registered method classes join __all__ at the end of the module, so a new method
# is written in one place: its class.
__all__ = [
    "METHODS",
    "MapMethod",
    "LayerMethod",
    "ProbeMethod",
    "Probe",
    "SCORE_WEIGHTINGS",
    "default_layer",
    "grad_cam",
    "grad_cam_plus_plus",
    "layer_cam",
    "hires_cam",
    "xgrad_cam",
    "score_cam",
    "saliency",
    "guided_backprop",
    "deconvnet",
    "guided_grad_cam",
    "GuidedGradCAM",
    "guided_relus",
    "deconvnet_relus",
    "smooth_grad",
    "integrated_gradients",
    "occlusion",
    "IG_BASELINES",
]

DEFAULT_BATCH_SIZE = graph.DEFAULT_BATCH_SIZE

#: Every map method by its usual name, in the book's order. Each value is a method with
#: its default settings, called as ``method(model, images, class_index=None, ...)``.
METHODS = {}


def default_layer(model):
    """The layer a layer method explains when none is given.

    For a model with a GAP → Dense head, the layer feeding the pooling (the CAM layer);
    otherwise the last convolution layer.

    Raises:
        ValueError: the model has no convolution layer.
    """
    try:
        feeding, _ = graph.source(find_cam_head(model).features)
        if feeding is not None and not graph.is_input_layer(feeding):
            return feeding
    except ValueError:
        pass
    convs = [layer for _, layer in graph.walk(model) if isinstance(layer, graph.CONV_TYPES)]
    if not convs:
        raise ValueError(
            f"Model {model.name!r} has no convolution layer; pass layer= naming a layer "
            "with a 4-D (N, h, w, K) output."
        )
    return convs[-1]


def _check_whole(value, name, low):
    """``value`` as an int of at least ``low``, or a ValueError naming ``name``."""
    whole = isinstance(value, (int, np.integer)) or (
        isinstance(value, (float, np.floating)) and math.isfinite(value)
        and float(value).is_integer()
    )
    if isinstance(value, bool) or not whole or int(value) < low:
        raise ValueError(f"{name} must be a whole number of at least {low}, got {value!r}.")
    return int(value)


def _check_real(value, name, low=None):
    """``value`` as a finite float (at least ``low``), or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or (low is not None and value < low):
        bound = f" of at least {low:g}" if low is not None else ""
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}.")
    return value


class MapMethod:
    """What every map method shares: the call, the checks, batching and the cache.

    Subclasses set ``name`` to be listed in :data:`METHODS`, and ``on_pixels = True``
    when they work on the input pixels. A method's settings are its instance
    attributes; they must be plain, hashable values, because compiled passes are cached
    per model, layer, method class and settings.
    """

    #: The method's usual name; a class that sets it is added to :data:`METHODS`.
    name = None
    #: True for methods on the input pixels, which take no ``layer``.
    on_pixels = False
    #: Whether the method differentiates the class score (a backward pass).
    uses_gradients = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            METHODS[cls.name] = cls()

    def default_layer(self, model):
        """The layer to explain when ``layer=None``; see :func:`default_layer`."""
        return default_layer(model)

    def site(self, model, layer):
        """The :class:`camlib.graph.Site` to capture for ``layer`` (None: the default)."""
        if self.on_pixels:
            if layer is not None:
                raise ValueError(
                    f"{type(self).__name__} is always taken on the input pixels; "
                    "do not pass layer=."
                )
            return graph.Site(graph.source(model.inputs[0])[0], "input")
        if layer is None:
            layer = self.default_layer(model)
        return graph.feature_map_site(model, layer)

    def inputs_per_image(self, model, site):
        """How many model inputs one image needs (1 for a plain gradient pass)."""
        return 1

    def __call__(
        self, model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE
    ):
        """Maps (N, h, w) for each image's class; see the module docstring.

        Args:
            model: a built single-input Keras classifier.
            images: (N, H, W, C) array matching the model's input.
            class_index: None (predicted class), an int, or one int per image.
            layer: None (the default layer), a layer object, a path such as
                ``"backbone/conv3"``, or a plain layer name.
            batch_size: the most inputs one model call sees: images for a gradient
                pass, masked or noisy copies for probe methods. It bounds memory and
                does not change the maps.
        """
        graph.check_model(model)
        batch_size = graph.check_batch_size(batch_size)
        site = self.site(model, layer)
        images = graph.check_images(model, images)
        graph.check_scores_are_not_probabilities(model, images)
        classes = graph.check_classes(model, class_index, len(images))
        settings = tuple(sorted(vars(self).items()))
        key = (type(self), settings, graph.path_of(model, site.layer), site.where)
        spec = graph.image_spec(model)
        run = graph.compiled(model, key, lambda ref: self._make_pass(ref, site, spec))
        per_image = max(1, int(self.inputs_per_image(model, site)))
        per_call = max(1, batch_size // per_image)
        budget = tf.constant(batch_size, tf.int32)
        return graph.run_batched(run, images, classes, per_call, budget)

    def _make_pass(self, model_ref, site, spec):
        raise NotImplementedError


def _captured(site, captured, images, model):
    """The captured tensor of ``site`` as float32 (N, h, w, K)."""
    if graph.is_input_layer(site.layer):
        activations = images
    elif site in captured:
        activations = captured[site]
    else:
        raise ValueError(f"Layer {site.layer.name!r} is not called by the model.")
    if activations.shape.rank != 4:
        raise ValueError(graph.not_a_feature_map(model, site.layer, activations.shape))
    return activations


class LayerMethod(MapMethod):
    """A map from a layer's activations and the gradients of the class score.

    One compiled, batched pass captures the activations ``A`` (N, h, w, K) of the
    target layer and the gradients ``dS/dA`` of each image's own class score ``S``
    (taken before softmax). Override :meth:`weights` to return per-channel weights
    (N, K); the default :meth:`combine` then gives ReLU(Σ_k weight_k · A_k), the
    Grad-CAM form. Or override :meth:`combine` to return the (N, h, w) maps directly.
    Both receive TensorFlow tensors and are compiled into the pass.

    The score ``S`` is the class score before softmax. A subclass may set the instance
    attribute ``score = "probability"`` to differentiate the class probability instead
    (see :func:`camlib.graph.probabilities`); :class:`GradCAM` offers that to show what
    the softmax changes.

    Example:
        >>> class ActivationTimesGradient(LayerMethod):
        ...     def combine(self, activations, grads):
        ...         return tf.reduce_sum(activations * grads, axis=-1)
        >>> ActivationTimesGradient()(model, images).shape
        (4, 16, 16)
    """

    uses_gradients = True
    #: ``"logit"`` (the score before softmax) or ``"probability"``.
    score = "logit"

    def forward_context(self, model):
        """A context manager around the model's forward call in the compiled pass.

        The default does nothing; :class:`GuidedBackprop` uses it to change how the
        gradient flows back through every ReLU.
        """
        return contextlib.nullcontext()

    def weights(self, activations, grads):
        """Per-channel weights (N, K) from activations and gradients (N, h, w, K)."""
        raise NotImplementedError(f"{type(self).__name__} must define weights or combine")

    def combine(self, activations, grads):
        """Maps (N, h, w) from activations and gradients (N, h, w, K)."""
        weights = self.weights(activations, grads)
        return tf.nn.relu(tf.einsum("nhwk,nk->nhw", activations, weights))

    def _make_pass(self, model_ref, site, spec):
        found = graph.score_site(model_ref())
        score_site = found.site
        watch_images = graph.is_input_layer(site.layer)
        sites = ([] if watch_images else [site]) + ([score_site] if score_site else [])
        of_probability = self.score == "probability"

        @tf.function(
            input_signature=[spec, tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)]
        )
        def run(images, classes, budget):
            with tf.GradientTape() as tape:
                if watch_images:
                    tape.watch(images)
                with self.forward_context(model_ref()), graph.capturing(sites, tape) as captured:
                    outputs = model_ref()(images, training=False)
                scores = captured[score_site] if score_site else outputs
                scores = graph.two_class_scores(tf.cast(scores, tf.float32))
                classes = graph.chosen_classes(scores, classes)
                if of_probability:
                    scores = graph.probabilities(scores, found.squashing)
                score = tf.gather(scores, classes, batch_dims=1)
            activations = _captured(site, captured, images, model_ref())
            grads = tape.gradient(score, activations)
            if grads is None:
                raise ValueError(
                    f"The class score does not depend on layer {site.layer.name!r}."
                )
            return self.combine(tf.cast(activations, tf.float32), tf.cast(grads, tf.float32))

        return run


class Probe(NamedTuple):
    """What a :class:`ProbeMethod`'s ``explain`` receives, inside the compiled pass.

    Attributes:
        activations: (N, h, w, K) float32, the captured layer (the images themselves
            for methods on pixels).
        images: the (N, H, W, C) input batch.
        classes: (N,) int32, the class explained for each image.
        budget: scalar int32, the most inputs one model call may take (``batch_size``).
        scores: a function, images (M, H, W, C) → scores before softmax (M, classes).
        probabilities: a function, images → class probabilities (M, classes); the
            sigmoid of the score for a one-unit head (see
            :func:`camlib.graph.probabilities`).
    """

    activations: object
    images: object
    classes: object
    budget: object
    scores: object
    probabilities: object


class ProbeMethod(MapMethod):
    """A map from re-scoring the model on perturbed inputs.

    Override :meth:`explain`, which receives a :class:`Probe` and returns the (N, h, w)
    maps in TensorFlow ops, and :meth:`~MapMethod.inputs_per_image`, the number of model
    inputs one image expands to. ``batch_size // inputs_per_image`` images go into one compiled
    call, and ``Probe.budget`` bounds the perturbed inputs of each model call inside it.
    """

    def explain(self, probe):
        """Maps (N, h, w) from a :class:`Probe`."""
        raise NotImplementedError(f"{type(self).__name__} must define explain")

    def _make_pass(self, model_ref, site, spec):
        found = graph.score_site(model_ref())
        score_site = found.site
        sites = ([] if graph.is_input_layer(site.layer) else [site])
        sites += [score_site] if score_site else []
        scores_of = graph.score_function(model_ref)

        def probabilities_of(inputs):
            return graph.probabilities(scores_of(inputs), found.squashing)

        @tf.function(
            input_signature=[spec, tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)]
        )
        def run(images, classes, budget):
            with graph.capturing(sites) as captured:
                outputs = model_ref()(images, training=False)
            scores = captured[score_site] if score_site else outputs
            scores = graph.two_class_scores(tf.cast(scores, tf.float32))
            classes = graph.chosen_classes(scores, classes)
            activations = _captured(site, captured, images, model_ref())
            probe = Probe(tf.cast(activations, tf.float32), images, classes, budget,
                          scores_of, probabilities_of)
            return self.explain(probe)

        return run


# ---------------------------------------------------------------------------------------
# Shared TensorFlow helpers
# ---------------------------------------------------------------------------------------


def _safe_divide(numerator, denominator):
    ok = tf.not_equal(denominator, 0.0)
    return tf.where(ok, numerator / tf.where(ok, denominator, 1.0), 0.0)


def _in_chunks(total, chunk, body):
    """Run ``body`` over consecutive chunks of ``range(total)`` in a graph loop.

    ``body(start, stop)`` returns (n, stop - start), with one model call per chunk; the
    results are joined to (n, total).
    """
    chunk = tf.maximum(chunk, 1)
    parts = tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False)

    def step(i, parts):
        start = i * chunk
        stop = tf.minimum(start + chunk, total)
        return i + 1, parts.write(i, tf.transpose(body(start, stop)))

    _, parts = tf.while_loop(lambda i, _: i * chunk < total, step, [tf.constant(0), parts])
    return tf.transpose(parts.concat())


def _sum_over_copies(probe, copies, copies_of, per_copy):
    """Σ over ``copies`` perturbed copies of each image of ``per_copy(dS/dcopy)``.

    ``copies_of(start, stop)`` gives the copies start … stop − 1 of every image,
    (n, stop − start, H, W, C); each copy's class score is differentiated with respect to
    the copy, and ``per_copy`` maps those gradients (n, k, H, W, C) to the terms that are
    summed over the copy axis. Copies go through the model in chunks of at most
    ``probe.budget`` inputs. SmoothGrad and Integrated Gradients share this loop.
    """
    images, classes = probe.images, probe.classes
    shape = tuple(images.shape[1:])
    n = tf.shape(images)[0]
    chunk = tf.maximum(probe.budget // n, 1)

    def step(start, total):
        stop = tf.minimum(start + chunk, copies)
        inputs = tf.reshape(copies_of(start, stop), (-1, *shape))
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            values = _class_of_each(probe.scores(inputs), classes, stop - start)
        grads = tf.reshape(tape.gradient(values, inputs), (n, -1, *shape))
        return stop, total + tf.reduce_sum(per_copy(grads), axis=1)

    zero = tf.zeros_like(per_copy(tf.zeros_like(images)[:, None])[:, 0])
    _, total = tf.while_loop(lambda start, _: start < copies, step, [tf.constant(0), zero])
    return total


def _class_of_each(values, classes, copies):
    """Pick each image's class from (n·copies, classes) scores laid out image-major."""
    return tf.reshape(tf.gather(values, tf.repeat(classes, copies), batch_dims=1), (-1, copies))


def _site_channels(site):
    try:
        return tuple(site.layer.output.shape)[-1]
    except (AttributeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------
# The methods, in the book's order
# ---------------------------------------------------------------------------------------


class CAM(MapMethod):
    """CAM (Zhou et al., 2016) with the family's call signature; see :func:`camlib.cam.cam`.

    CAM reads the class weights off the Dense layer, so it has no layer to choose and
    needs a GAP → Dense head. Its maps are raw and signed.
    """

    name = "CAM"

    def __call__(
        self, model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE
    ):
        """CAM maps (N, h, w); ``layer`` must be None (CAM's layer is fixed by its head)."""
        if layer is not None:
            raise ValueError(
                "CAM always uses the layer that feeds global average pooling; do not pass "
                "layer=, or use Grad-CAM for another layer."
            )
        return cam(model, images, class_index, batch_size=batch_size)


class GradCAM(LayerMethod):
    """Grad-CAM (Selvaraju et al., 2017): ReLU(Σ_k α_k A_k), α_k = mean_xy dS/dA_k.

    On a GAP → Dense model with the default layer this equals
    ``relu(cam(model, images)) / (h * w)``.

    Args:
        score: ``"logit"`` (default, the score before softmax) or ``"probability"``:
            the gradient of the softmax probability, which mixes in the other classes
            and vanishes when the model is sure (chapters 6.2 and 7.1 show this).

    Example:
        >>> maps = GradCAM()(model, images, layer="block2_conv")
        >>> faded = GradCAM(score="probability")(model, images)
        >>> maps.shape, faded.shape
        ((4, 32, 32), (4, 16, 16))
    """

    name = "Grad-CAM"

    def __init__(self, score="logit"):
        if score not in ("logit", "probability"):
            raise ValueError(f'score must be "logit" or "probability", got {score!r}.')
        self.score = score

    def weights(self, activations, grads):
        """α_k: the gradient averaged over the positions."""
        return tf.reduce_mean(grads, axis=(1, 2))


class GradCAMPlusPlus(LayerMethod):
    """Grad-CAM++ (Chattopadhay et al., 2018): pixel-weighted positive gradients.

    α_k(x, y) = g² / (2 g² + Σ_ab A_k(a, b) · g³) with g = dS/dA_k(x, y), and
    weight_k = Σ_xy α_k(x, y) · ReLU(g). This is the paper's closed form (its eq. 19)
    for the exponential of the score before softmax, without the exp(S) factor, which
    only scales each image's map. Where g = 0, α = 0.

    The peers differ in small ways: tf-keras-vis and the authors' code divide α by its
    spatial sum and keep exp(S); pytorch-grad-cam adds 1e-6 to the denominator, which
    changes its maps where the gradients are small.

    Example:
        >>> GradCAMPlusPlus()(model, images).shape
        (4, 16, 16)
    """

    name = "Grad-CAM++"

    def weights(self, activations, grads):
        """Σ_xy α_k(x, y) ReLU(g), with the closed-form α of the class docstring."""
        squared = grads**2
        total = tf.reduce_sum(activations, axis=(1, 2), keepdims=True)
        alpha = _safe_divide(squared, 2.0 * squared + total * squared * grads)
        return tf.reduce_sum(alpha * tf.nn.relu(grads), axis=(1, 2))


class LayerCAM(LayerMethod):
    """LayerCAM (Jiang et al., 2021): ReLU(Σ_k ReLU(dS/dA_k(x, y)) · A_k(x, y)).

    Each position keeps its own gradient instead of Grad-CAM's spatial mean, so maps from
    early layers stay sharp. At the layer feeding GAP → Dense, with a logit target, the
    gradient is w_k^c / (h w) everywhere and LayerCAM is ReLU(Σ_k max(w_k^c, 0) A_k)/(h w):
    CAM with the negative class weights clipped to zero.

    Example:
        >>> LayerCAM()(model, images, layer="block2_conv").shape
        (4, 32, 32)
    """

    name = "LayerCAM"

    def combine(self, activations, grads):
        """ReLU of the positive gradients times the activations, summed over channels."""
        return tf.nn.relu(tf.reduce_sum(tf.nn.relu(grads) * activations, axis=-1))


class HiResCAM(LayerMethod):
    """HiResCAM (Draelos & Carin, 2020): Σ_k dS/dA_k(x, y) · A_k(x, y), position by position.

    Grad-CAM averages each channel's gradient over the positions before it multiplies;
    HiResCAM multiplies first, so every position keeps its own gradient. When the score
    is a linear function of the layer (a flatten → Dense head, with no ReLU between),
    the signed map sums to the class score minus the Dense bias: it is an exact
    decomposition of the score, as CAM is on a GAP head. At the layer feeding GAP the
    gradient is the constant w_k^c / (h w), so HiResCAM there is ReLU(CAM) / (h w), the
    same as Grad-CAM.

    Args:
        relu: apply the ReLU, as the paper and pytorch-grad-cam do (default). With
            ``relu=False`` the map is signed, and its sum is the decomposed score.

    Example:
        >>> HiResCAM()(model, images).shape
        (4, 16, 16)
    """

    name = "HiResCAM"

    def __init__(self, relu=True):
        if not isinstance(relu, (bool, np.bool_)):
            raise ValueError(f"relu must be True or False, got {relu!r}.")
        self.relu = bool(relu)

    def combine(self, activations, grads):
        """The gradient times the activation at each position, summed over channels."""
        maps = tf.reduce_sum(grads * activations, axis=-1)
        return tf.nn.relu(maps) if self.relu else maps


class XGradCAM(LayerMethod):
    """XGrad-CAM (Fu et al., 2020): gradients averaged with the activations as weights.

    α_k = Σ_xy A_k(x, y) / Σ_ab A_k(a, b) · dS/dA_k(x, y), and the map is
    ReLU(Σ_k α_k A_k). The weights are chosen to satisfy the paper's *conservation*
    axiom: Σ_k α_k Σ_xy A_k(x, y) = Σ_xy Σ_k dS/dA_k · A_k, the sum of HiResCAM's
    signed map (the score itself for a layer the score is linear and bias-free in). A
    channel whose activations sum to zero gets α = 0. At the layer feeding GAP the
    gradient is constant, so XGrad-CAM equals Grad-CAM there.

    Example:
        >>> XGradCAM()(model, images, layer="block2_conv").shape
        (4, 32, 32)
    """

    name = "XGrad-CAM"

    def weights(self, activations, grads):
        """The activation-weighted mean of each channel's gradient."""
        total = tf.reduce_sum(activations, axis=(1, 2), keepdims=True)
        return tf.reduce_sum(_safe_divide(activations, total) * grads, axis=(1, 2))


#: How :class:`ScoreCAM` turns the scores of masked images into channel weights.
SCORE_WEIGHTINGS = ("probability", "channel-softmax")


class ScoreCAM(ProbeMethod):
    """Score-CAM (Wang et al., 2020): channels weighted by the score of masked images.

    Each channel's weight is the score of the image seen through that channel's mask.
    No gradients are taken.

    Each activation map A_k is scaled to [0, 1] at the layer's resolution, resized
    bilinearly to the image and multiplied into it; the model scores the masked image.
    (The authors' code and the peers resize first and then scale; the two orders give
    slightly different masks.) ``weighting`` says how scores become channel weights:

    - ``"probability"`` (default; the authors' code and tf-keras-vis): the probability
      of the class on the masked image (for a one-unit head, the sigmoid of its score);
    - ``"channel-softmax"`` (pytorch-grad-cam): a softmax over the channels of the
      class's scores before softmax.

    The map is ReLU(Σ_k weight_k A_k) at the layer's resolution. Masked images are built
    and scored in chunks of at most ``batch_size`` inputs per model call, so memory stays
    bounded however many channels and images there are; the chunk size does not change
    the result.

    Example:
        >>> ScoreCAM()(model, images[:1], batch_size=32).shape
        (1, 16, 16)
    """

    name = "Score-CAM"

    def __init__(self, weighting="probability"):
        if weighting not in SCORE_WEIGHTINGS:
            raise ValueError(f"weighting={weighting!r} must be one of {SCORE_WEIGHTINGS}.")
        self.weighting = weighting

    def inputs_per_image(self, model, site):
        """One masked image per channel of the layer."""
        channels = _site_channels(site)
        return channels if channels else 1

    def masks(self, activations, size):
        """Masks (n, H, W, c) from activation maps (n, h, w, c).

        Each map is scaled to [0, 1] (a constant map gives zeros), then resized
        bilinearly to the image.
        """
        low = tf.reduce_min(activations, axis=(1, 2), keepdims=True)
        high = tf.reduce_max(activations, axis=(1, 2), keepdims=True)
        scaled = _safe_divide(activations - low, high - low)
        return tf.image.resize(scaled, size, method="bilinear")

    def explain(self, probe):
        """ReLU(Σ_k weight_k A_k), the weights from the masked images' scores."""
        activations, images, classes = probe.activations, probe.images, probe.classes
        n = tf.shape(images)[0]
        channels = tf.shape(activations)[-1]
        size = tf.shape(images)[1:3]
        score_of = probe.probabilities if self.weighting == "probability" else probe.scores

        def scores(start, stop):
            masks = self.masks(activations[..., start:stop], size)
            masks = tf.transpose(masks, (0, 3, 1, 2))[..., None]  # (n, c, H, W, 1)
            shape = tf.concat([[-1], tf.shape(images)[1:]], 0)
            masked = tf.reshape(images[:, None] * masks, shape)
            return _class_of_each(score_of(masked), classes, stop - start)

        weights = _in_chunks(channels, probe.budget // n, scores)
        if self.weighting == "channel-softmax":
            weights = tf.nn.softmax(weights, axis=-1)
        return tf.nn.relu(tf.einsum("nhwk,nk->nhw", activations, weights))


class Saliency(LayerMethod):
    """Saliency (Simonyan et al., 2014): max over colour channels of ``|dS/dpixel|``.

    Example:
        >>> Saliency()(model, images).shape        # (N, H, W): image resolution
        (4, 64, 64)
    """

    name = "Saliency"
    on_pixels = True

    def combine(self, activations, grads):
        """The largest ``|dS/dpixel|`` over the colour channels."""
        return tf.reduce_max(tf.abs(grads), axis=-1)


@tf.custom_gradient
def _guided_relu(x):
    """ReLU whose backward pass keeps only positive gradients at positive inputs."""

    def backward(upstream):
        return upstream * tf.cast(x > 0, upstream.dtype) * tf.cast(upstream > 0, upstream.dtype)

    return tf.nn.relu(x), backward


@tf.custom_gradient
def _deconvnet_relu(x):
    """ReLU whose backward pass keeps the positive gradients, whatever the input was."""

    def backward(upstream):
        return tf.nn.relu(upstream)

    return tf.nn.relu(x), backward


@contextlib.contextmanager
def guided_relus(model):
    """Within the block, every ``activation="relu"`` of ``model`` passes back guided gradients.

    Each layer whose activation is ReLU (convolutions, Dense, ``Activation("relu")``,
    nested models included) gets a ReLU with the same forward pass whose backward pass
    lets through only positive gradients, and only where the input was positive
    (Springenberg et al., 2015). The layers get their own ReLU back at the end of the
    block. Used inside a traced pass, the change stays in the traced graph only.

    Raises:
        ValueError: a ``keras.layers.ReLU`` layer (its call cannot be changed this way;
            build the model with ``activation="relu"``), or no ReLU at all.
    """
    with _swapped_relus(model, _guided_relu, "guided backpropagation"):
        yield


@contextlib.contextmanager
def deconvnet_relus(model):
    """Within the block, every ``activation="relu"`` of ``model`` passes back as in a deconvnet.

    As :func:`guided_relus`, but the backward pass keeps the positive gradients wherever
    the forward input was, positive or not: the rule of Zeiler and Fergus's deconvolution
    network (2014), as Springenberg et al. (2015) write it.

    Raises:
        ValueError: a ``keras.layers.ReLU`` layer, or no ReLU at all.
    """
    with _swapped_relus(model, _deconvnet_relu, "the deconvnet"):
        yield


@contextlib.contextmanager
def _swapped_relus(model, replacement, method):
    """Every ``activation="relu"`` of ``model`` is ``replacement`` within the block."""
    relu = keras.activations.relu
    swapped = []
    try:
        for path, layer in graph.walk(model):
            if isinstance(layer, keras.layers.ReLU):
                raise ValueError(
                    f"Layer {path!r} is a keras.layers.ReLU, which {method} cannot change; "
                    "build the model with activation='relu' in its layers."
                )
            if getattr(layer, "activation", None) is relu:
                object.__setattr__(layer, "activation", replacement)
                swapped.append(layer)
        if not swapped:
            raise ValueError(f"The model has no ReLU, so {method} is plain saliency; use "
                             "Saliency instead.")
        yield
    finally:
        for layer in swapped:
            object.__setattr__(layer, "activation", relu)


class GuidedBackprop(Saliency):
    """Guided backpropagation (Springenberg et al., 2015): saliency through guided ReLUs.

    The pixel gradient of the class score, with every ReLU's backward pass changed so
    that only positive gradients pass, and only where the ReLU's input was positive
    (:func:`guided_relus`). The map is the largest ``|gradient|`` over the colour
    channels, as for :class:`Saliency`. Adebayo et al. (2018) found that these maps hardly
    change when the model's weights are randomised: they show the image's edges more
    than the model.

    Example:
        >>> GuidedBackprop()(model, images).shape
        (4, 64, 64)
    """

    name = "Guided Backprop"

    def forward_context(self, model):
        """Guided ReLUs during the forward call (see :func:`guided_relus`)."""
        return guided_relus(model)


class Deconvnet(Saliency):
    """The deconvnet of Zeiler and Fergus (2014), as a backward pass: the slides' DeconvNet.

    The pixel gradient of the class score, with every ReLU's backward pass changed so
    that only positive gradients pass, wherever the ReLU's input was
    (:func:`deconvnet_relus`). Saliency keeps the gradient where the input was positive;
    guided backpropagation needs both. Springenberg et al. (2015) show the three rules
    side by side. The map is the largest ``|gradient|`` over the colour channels.

    Zeiler and Fergus projected one unit of a chosen layer back to the pixels; this class
    starts from the class score, like the other methods, so that its map can be compared
    with theirs.

    Example:
        >>> Deconvnet()(model, images).shape
        (4, 64, 64)
    """

    name = "Deconvnet"

    def forward_context(self, model):
        """Deconvnet ReLUs during the forward call (see :func:`deconvnet_relus`)."""
        return deconvnet_relus(model)


class GuidedGradCAM:
    """Guided Grad-CAM (Selvaraju et al., 2017): guided backpropagation times Grad-CAM.

    The :class:`GuidedBackprop` map multiplied, pixel by pixel, by the Grad-CAM map
    upsampled to the image (bilinear, see :func:`camlib.maps.upsample`): sharp edges,
    kept where Grad-CAM points. It is made of two registered methods, so it is not in
    :data:`METHODS` itself; it takes the same arguments, and ``layer`` is Grad-CAM's.

    Example:
        >>> GuidedGradCAM()(model, images).shape
        (4, 64, 64)
    """

    on_pixels = True
    uses_gradients = True

    def __call__(self, model, images, class_index=None, layer=None, *,
                 batch_size=DEFAULT_BATCH_SIZE):
        """Maps (N, H, W): guided backpropagation times the upsampled Grad-CAM."""
        from camlib.maps import upsample

        guided = GuidedBackprop()(model, images, class_index, batch_size=batch_size)
        coarse = GradCAM()(model, images, class_index, layer, batch_size=batch_size)
        return (guided * upsample(coarse, guided.shape[1:3])).astype(np.float32)


class SmoothGrad(ProbeMethod):
    """SmoothGrad (Smilkov et al., 2017): the saliency map averaged over noisy copies.

    Each of ``samples`` copies adds Gaussian noise with standard deviation
    ``noise_level`` × (max − min) of the image; the map is the mean over copies of the
    largest ``|dS/dpixel|`` over colour channels, as in :func:`saliency`
    (tf-keras-vis instead takes the channel maximum of the mean gradient). The noise
    patterns are drawn once from ``seed`` and shared by all images, so a map does not
    depend on which batch its image came in.

    Example:
        >>> SmoothGrad(samples=4, noise_level=0.15)(model, images).shape
        (4, 64, 64)
    """

    name = "SmoothGrad"
    on_pixels = True
    uses_gradients = True  # of each noisy copy, inside explain

    def __init__(self, samples=25, noise_level=0.15, seed=0):
        self.samples = _check_whole(samples, "samples", 1)
        self.noise_level = _check_real(noise_level, "noise_level", 0.0)
        self.seed = _check_whole(seed, "seed", 0)

    def inputs_per_image(self, model, site):
        """One noisy copy per sample."""
        return self.samples

    def explain(self, probe):
        """The mean over noisy copies of the saliency map."""
        images = probe.images
        shape = tuple(images.shape[1:])
        noise = np.random.default_rng(self.seed).standard_normal((self.samples, *shape))
        noise = tf.constant(noise.astype(np.float32))
        spread = tf.reduce_max(images, axis=(1, 2, 3)) - tf.reduce_min(images, axis=(1, 2, 3))
        sigma = (self.noise_level * spread)[:, None, None, None, None]

        def noisy(start, stop):
            return images[:, None] + sigma * noise[None, start:stop]

        def saliency_of(grads):
            return tf.reduce_max(tf.abs(grads), axis=-1)

        return _sum_over_copies(probe, self.samples, noisy, saliency_of) / self.samples


#: The reference images :class:`IntegratedGradients` starts from.
IG_BASELINES = ("zero", "mean")


class IntegratedGradients(ProbeMethod):
    """Integrated Gradients (Sundararajan et al., 2017): gradients along a straight path.

    The attribution of pixel value x_i is (x_i − x'_i) · ∫₀¹ dS/dx_i(x' + t (x − x')) dt,
    from a baseline image x' to the image x. The integral is the mean of the gradient at
    ``steps`` points t = (j + ½) / steps (the midpoint rule; captum's default is
    Gauss–Legendre). The map is the signed attribution summed over the colour channels,
    at image resolution.

    *Completeness* is the method's axiom: the map sums to S(x) − S(x'), the class score
    (before softmax) of the image minus that of the baseline, up to the error of the
    integral, which shrinks as ``steps`` grows.

    Args:
        steps: points on the path (one gradient each), at least 1.
        baseline: ``"zero"`` (a black image, the usual choice and captum's default) or
            ``"mean"`` (each image's mean colour, a grey of the same brightness).

    Example:
        >>> IntegratedGradients(steps=8)(model, images).shape
        (4, 64, 64)
    """

    name = "Integrated Gradients"
    on_pixels = True
    uses_gradients = True  # along the path, inside explain

    def __init__(self, steps=32, baseline="zero"):
        self.steps = _check_whole(steps, "steps", 1)
        if baseline not in IG_BASELINES:
            raise ValueError(f"baseline={baseline!r} must be one of {IG_BASELINES}.")
        self.baseline = baseline

    def inputs_per_image(self, model, site):
        """One input per point on the path."""
        return self.steps

    def baselines(self, images):
        """The baseline image x' of each image."""
        if self.baseline == "mean":
            return tf.broadcast_to(tf.reduce_mean(images, axis=(1, 2), keepdims=True),
                                   tf.shape(images))
        return tf.zeros_like(images)

    def explain(self, probe):
        """(x − x') times the mean gradient on the path, summed over colour channels."""
        images = probe.images
        start_images = self.baselines(images)
        points = (tf.range(self.steps, dtype=tf.float32) + 0.5) / self.steps

        def path(start, stop):
            t = points[start:stop][None, :, None, None, None]
            return start_images[:, None] + t * (images - start_images)[:, None]

        total = _sum_over_copies(probe, self.steps, path, tf.identity)
        return tf.reduce_sum((images - start_images) * total / self.steps, axis=-1)


class Occlusion(ProbeMethod):
    """Occlusion sensitivity (Zeiler & Fergus, 2014): the score's drop under a patch.

    The map says how much the class score drops when a square patch of the image is
    covered.

    A ``patch`` × ``patch`` square slides with step ``stride``, filled with the image's
    mean colour (``fill="mean"``) or a constant. The last row and column of positions
    touch the image border, so that every pixel is covered; captum instead cuts the last
    window at the border. ``stride`` may not exceed ``patch``, which would leave pixels
    that no patch covers. The drop S(x) − S(x occluded) of the score before softmax
    (``score="logit"``) or of the class probability (``score="probability"``; the sigmoid
    for a one-unit head) is spread over the patch; each pixel's value is the mean drop
    over the patches that cover it. Maps are signed and at image resolution.

    Patches are built and scored in chunks of at most ``batch_size`` inputs, so memory
    grows with ``batch_size``, not with the number of positions.

    Example:
        >>> Occlusion(patch=16, stride=8)(model, images).shape
        (4, 64, 64)
    """

    name = "Occlusion"
    on_pixels = True

    def __init__(self, patch=16, stride=8, fill="mean", score="logit"):
        self.patch = _check_whole(patch, "patch", 1)
        self.stride = _check_whole(stride, "stride", 1)
        if self.stride > self.patch:
            raise ValueError(
                f"stride={self.stride} is larger than patch={self.patch}, so some pixels "
                "would never be covered and their map values would be undefined; use "
                "stride <= patch."
            )
        if isinstance(fill, str):
            if fill != "mean":
                raise ValueError(f'fill must be "mean" or a number, got {fill!r}.')
        else:
            fill = _check_real(fill, "fill")
        if score not in ("logit", "probability"):
            raise ValueError(f'score must be "logit" or "probability", got {score!r}.')
        self.fill, self.score = fill, score

    def starts(self, side):
        """The first pixel of each patch position along one side of ``side`` pixels."""
        if self.patch > side:
            raise ValueError(f"patch={self.patch} is larger than the image side {side}.")
        found = list(range(0, side - self.patch + 1, self.stride))
        return found if found[-1] == side - self.patch else found + [side - self.patch]

    def positions(self, height, width):
        """The patch masks, float32 (P, height, width), 1 inside the patch.

        For inspection and tests; :meth:`explain` builds them chunk by chunk.
        """
        masks = []
        for y in self.starts(height):
            for x in self.starts(width):
                mask = np.zeros((height, width), np.float32)
                mask[y : y + self.patch, x : x + self.patch] = 1.0
                masks.append(mask)
        return np.stack(masks)

    def _grid(self, height, width):
        """Top-left corners (P,) of every position, row-major, and the coverage (H, W)."""
        if height is None or width is None:
            raise ValueError("Occlusion needs a model with a fixed input height and width.")
        rows, cols = self.starts(height), self.starts(width)
        tops = np.repeat(rows, len(cols)).astype(np.int32)
        lefts = np.tile(cols, len(rows)).astype(np.int32)

        def covered(starts, side):
            count = np.zeros(side, np.float32)
            for start in starts:
                count[start : start + self.patch] += 1.0
            return count

        coverage = np.outer(covered(rows, height), covered(cols, width))
        return tops, lefts, coverage

    def inputs_per_image(self, model, site):
        """One occluded image per patch position."""
        height, width = tuple(model.inputs[0].shape)[1:3]
        return len(self._grid(height, width)[0])

    def _score(self, probe, images, classes, copies):
        values = probe.probabilities(images) if self.score == "probability" else (
            probe.scores(images))
        return _class_of_each(values, classes, copies)

    def explain(self, probe):
        """Each pixel's mean score drop over the patches that cover it."""
        images, classes = probe.images, probe.classes
        height, width = tuple(images.shape[1:3])
        tops, lefts, coverage = self._grid(height, width)
        count = len(tops)
        tops, lefts = tf.constant(tops), tf.constant(lefts)
        n = tf.shape(images)[0]
        if self.fill == "mean":
            fill = tf.reduce_mean(images, axis=(1, 2), keepdims=True)[:, None]
        else:
            fill = tf.fill([1, 1, 1, 1, 1], tf.constant(self.fill, tf.float32))
        base = self._score(probe, images, classes, 1)
        chunk = tf.maximum(probe.budget // n, 1)
        rows, cols = tf.range(height)[None], tf.range(width)[None]

        def step(start, total):
            stop = tf.minimum(start + chunk, count)
            top, left = tops[start:stop, None], lefts[start:stop, None]
            in_rows = (rows >= top) & (rows < top + self.patch)
            in_cols = (cols >= left) & (cols < left + self.patch)
            masks = tf.cast(in_rows[:, :, None] & in_cols[:, None, :], tf.float32)
            m = masks[None, ..., None]  # (1, c, H, W, 1)
            covered = images[:, None] * (1.0 - m) + fill * m
            covered = tf.reshape(covered, tf.concat([[-1], tf.shape(images)[1:]], 0))
            drops = base - self._score(probe, covered, classes, stop - start)
            return stop, total + tf.einsum("nc,chw->nhw", drops, masks)

        total = tf.zeros(tf.concat([[n], [height, width]], 0))
        _, total = tf.while_loop(lambda start, _: start < count, step,
                                 [tf.constant(0), total])
        return total / tf.constant(coverage)


# ---------------------------------------------------------------------------------------
# One function per method, for the common case
# ---------------------------------------------------------------------------------------


def grad_cam(model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE):
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
        >>> grad_cam(model, images, class_index=2).shape
        (4, 16, 16)
        >>> grad_cam(model, images, layer="block2_conv").shape
        (4, 32, 32)
    """
    return GradCAM()(model, images, class_index, layer, batch_size=batch_size)


def grad_cam_plus_plus(
    model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE
):
    """Grad-CAM++ maps (N, h, w); see :class:`GradCAMPlusPlus`.

    Example:
        >>> grad_cam_plus_plus(model, images).shape
        (4, 16, 16)
    """
    return GradCAMPlusPlus()(model, images, class_index, layer, batch_size=batch_size)


def layer_cam(model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE):
    """LayerCAM maps (N, h, w); see :class:`LayerCAM`.

    Example:
        >>> layer_cam(model, images, layer="block1_conv").shape
        (4, 64, 64)
    """
    return LayerCAM()(model, images, class_index, layer, batch_size=batch_size)


def hires_cam(model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE):
    """HiResCAM maps (N, h, w); see :class:`HiResCAM`.

    Example:
        >>> hires_cam(model, images, layer="block2_conv").shape
        (4, 32, 32)
    """
    return HiResCAM()(model, images, class_index, layer, batch_size=batch_size)


def xgrad_cam(model, images, class_index=None, layer=None, *, batch_size=DEFAULT_BATCH_SIZE):
    """XGrad-CAM maps (N, h, w); see :class:`XGradCAM`.

    Example:
        >>> xgrad_cam(model, images).shape
        (4, 16, 16)
    """
    return XGradCAM()(model, images, class_index, layer, batch_size=batch_size)


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
        >>> score_cam(model, images[:1], batch_size=16).shape
        (1, 16, 16)
    """
    return ScoreCAM(weighting)(model, images, class_index, layer, batch_size=batch_size)


def saliency(model, images, class_index=None, *, batch_size=DEFAULT_BATCH_SIZE):
    """Vanilla gradient saliency (Simonyan et al., 2014) at image resolution.

    The gradient of the class score before softmax with respect to the pixels; each map
    pixel is the largest ``|gradient|`` over the colour channels. float32 (N, H, W).

    Example:
        >>> saliency(model, images).shape
        (4, 64, 64)
    """
    return Saliency()(model, images, class_index, batch_size=batch_size)


def guided_backprop(model, images, class_index=None, *, batch_size=DEFAULT_BATCH_SIZE):
    """Guided backpropagation maps (N, H, W); see :class:`GuidedBackprop`.

    Example:
        >>> guided_backprop(model, images).shape
        (4, 64, 64)
    """
    return GuidedBackprop()(model, images, class_index, batch_size=batch_size)


def deconvnet(model, images, class_index=None, *, batch_size=DEFAULT_BATCH_SIZE):
    """Deconvnet maps (N, H, W); see :class:`Deconvnet`.

    Example:
        >>> deconvnet(model, images).shape
        (4, 64, 64)
    """
    return Deconvnet()(model, images, class_index, batch_size=batch_size)


def guided_grad_cam(model, images, class_index=None, layer=None, *,
                    batch_size=DEFAULT_BATCH_SIZE):
    """Guided Grad-CAM maps (N, H, W); see :class:`GuidedGradCAM`.

    Example:
        >>> guided_grad_cam(model, images).shape
        (4, 64, 64)
    """
    return GuidedGradCAM()(model, images, class_index, layer, batch_size=batch_size)


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
        >>> smooth_grad(model, images, samples=4).shape
        (4, 64, 64)
    """
    method = SmoothGrad(samples, noise_level, seed)
    return method(model, images, class_index, batch_size=batch_size)


def integrated_gradients(
    model, images, class_index=None, *, steps=32, baseline="zero",
    batch_size=DEFAULT_BATCH_SIZE,
):
    """Integrated Gradients maps (N, H, W), signed; see :class:`IntegratedGradients`.

    Example:
        >>> integrated_gradients(model, images, steps=8).shape
        (4, 64, 64)
    """
    method = IntegratedGradients(steps, baseline)
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
        >>> occlusion(model, images[:1], patch=8, stride=8).shape
        (1, 64, 64)
    """
    method = Occlusion(patch, stride, fill, score)
    return method(model, images, class_index, batch_size=batch_size)


__all__ += [type(method).__name__ for method in METHODS.values()]
