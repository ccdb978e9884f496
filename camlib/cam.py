"""Class activation maps (chapter 4): CAM, its head finder, and the family's names.

CAM (Zhou et al., 2016) needs a model whose last feature map ``f_k`` is averaged by
global average pooling and turned into class scores by one Dense layer with weights
``w^c``. Then M_c(x, y) = Σ_k w_k^c f_k(x, y), and the class logit is the mean of M_c
plus the bias: S_c = mean_xy M_c + b_c.

- :func:`find_cam_head` finds that GAP → Dense head, or says why a model has none;
- :func:`cam` computes the maps in one compiled, batched forward pass.

Conventions, shared by every map in camlib:

- Maps are float32 arrays of shape (N, h, w) at the resolution of the captured layer.
- ``class_index=None`` is each image's predicted class; an int is one class for every
  image; a length-N sequence is one class per image.
- Images must carry a batch axis: a single image is passed as ``image[None]``.
- The class score is taken **before** softmax (and before a sigmoid).

For the notebooks' convenience this module also gives the names of the rest of the
family (:mod:`camlib.methods`: ``grad_cam``, ``METHODS`` …), of map post-processing
(:mod:`camlib.maps`: ``upsample``, ``normalize``, ``min_max``) and of :func:`camlib.graph.logits`,
so that ``cam.grad_cam`` and ``cam.upsample`` keep working. They are defined in those
modules.

Example:
    >>> maps = cam(model, images)
    >>> heat = normalize(upsample(maps, images.shape[1:3]))
    >>> maps.shape, heat.shape, float(heat.max())
    ((4, 16, 16), (4, 64, 64), 1.0)
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf

from camlib import graph
from camlib.graph import DEFAULT_BATCH_SIZE, conv_layer_names, logits
from camlib.maps import min_max, normalize, upsample

# The family's names (everything in camlib.methods.__all__) are re-exported on first
# use: camlib.methods imports this module, so importing it here at load time would be
# circular.
# Only CAM's own names: the re-exported ones are documented where they are defined.
__all__ = ["cam", "find_cam_head", "CamHead"]

# Importing these here keeps ``cam.upsample`` and friends working for the notebooks.
_REEXPORTED = (DEFAULT_BATCH_SIZE, conv_layer_names, logits, min_max, normalize, upsample)


def __getattr__(name):
    if not name.startswith("_"):
        from camlib import methods

        if name in methods.__all__:
            return getattr(methods, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    from camlib import methods

    return sorted([*globals(), *methods.__all__])


class CamHead(NamedTuple):
    """Where a CAM model's head sits.

    Attributes:
        pooling: the layer that averages ``features`` over the positions.
        dense: the Dense layer that turns the pooled vector into class scores.
        features: the symbolic tensor of the last feature map, the f_k of CAM.
    """

    pooling: keras.layers.Layer
    dense: keras.layers.Dense
    features: object


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
        >>> head = find_cam_head(model)
        >>> head.pooling.name, head.dense.name, tuple(head.dense.kernel.shape)
        ('gap', 'fc', (64, 4))
    """
    graph.check_model(model)
    hint = (
        "CAM needs a model that ends in GlobalAveragePooling2D → Dense; "
        "for any other CNN use grad_cam(model, images)."
    )
    dense, dense_input = graph.source(model.outputs[0])
    found = graph.score_site(model)
    if found.site is not None and found.site.where == "input":  # a final softmax layer
        dense, dense_input = graph.source(dense_input)
    if not isinstance(dense, keras.layers.Dense):
        found = type(dense).__name__ if dense is not None else "nothing"
        raise ValueError(
            f"Model {model.name!r} has no CAM head: its class scores come from "
            f"{found}, not from a Dense layer. {hint}"
        )
    layer, features = graph.source(dense_input)
    while isinstance(layer, graph.IDENTITY_AT_INFERENCE):
        layer, features = graph.source(features)
    if layer is None or not _is_global_average(layer, features):
        found = type(layer).__name__ if layer is not None else "nothing"
        raise ValueError(
            f"Model {model.name!r} has no CAM head: Dense layer {dense.name!r} is fed "
            f"by {found}, not by global average pooling over a feature map. {hint}"
        )
    return CamHead(layer, dense, features)


def _make_cam_pass(model_ref, head, spec):
    site = graph.Site(head.pooling, "input")
    score_site = graph.score_site(model_ref()).site
    sites = [site] + ([score_site] if score_site is not None else [])

    @tf.function(input_signature=[spec, tf.TensorSpec([None], tf.int32)])
    def run(images, classes):
        with graph.capturing(sites) as captured:
            outputs = model_ref()(images, training=False)
        scores = captured[score_site] if score_site is not None else outputs
        scores = graph.two_class_scores(tf.cast(scores, tf.float32))
        classes = graph.chosen_classes(scores, classes)
        features = tf.cast(captured[site], tf.float32)
        # A one-unit head is two classes, -S and S (see camlib.graph): weights -w and w.
        kernel = graph.two_class_scores(tf.cast(head.dense.kernel, tf.float32))
        class_weights = tf.gather(kernel, classes, axis=1)
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
        ValueError: the model has no GAP → Dense head (use :func:`camlib.methods.grad_cam`), or the
            images / class indices do not fit the model.

    Example:
        >>> from camlib.graph import logits
        >>> scores = logits(model, images)
        >>> classes = scores.argmax(axis=1)
        >>> maps = cam(model, images)            # each image's predicted class
        >>> maps.shape
        (4, 16, 16)
        >>> bias = model.get_layer("fc").bias.numpy()
        >>> chosen = scores[np.arange(4), classes]
        >>> np.allclose(maps.mean(axis=(1, 2)) + bias[classes], chosen, atol=1e-5)
        True
    """
    graph.check_model(model)
    head = find_cam_head(model)
    images = graph.check_images(model, images)
    classes = graph.check_classes(model, class_index, len(images))
    run = graph.compiled(
        model, ("cam",), lambda ref: _make_cam_pass(ref, head, graph.image_spec(model))
    )
    return graph.run_batched(run, images, classes, batch_size)

