"""The family beyond CAM on tiny random models: each method against its definition."""

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import binary_cnn, gap_model, images, nested_twin

from camlib import cam as C
from camlib import graph

SIZE, CLASSES = 12, 4


def test_grad_cam_matches_a_hand_written_tape_on_a_non_gap_model():
    inputs = keras.Input((SIZE, SIZE, 3))
    features = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten()(features)
    outputs = keras.layers.Dense(CLASSES, activation="softmax", name="fc")(x)
    model = keras.Model(inputs, outputs)
    x_in = images(3, 7)
    # Reference: the conv features, then the pre-softmax head written out by hand.
    activations = keras.Model(inputs, features)(x_in)
    fc = model.get_layer("fc")
    with tf.GradientTape() as tape:
        tape.watch(activations)
        logits = tf.matmul(tf.reshape(activations, (3, -1)), fc.kernel) + fc.bias
        score = logits[:, 2]
    grads = tape.gradient(score, activations).numpy()
    alpha = grads.mean(axis=(1, 2))
    expected = np.maximum(np.einsum("nhwk,nk->nhw", activations.numpy(), alpha), 0)
    np.testing.assert_allclose(C.grad_cam(model, x_in, 2), expected, rtol=1e-4, atol=1e-7)


def test_grad_cam_on_nested_model_equals_flat_model():
    flat, x = gap_model(8), images(4, 8)
    nested = nested_twin(flat, SIZE)
    classes = [0, 1, 2, 3]
    np.testing.assert_allclose(C.grad_cam(nested, x, classes), C.grad_cam(flat, x, classes),
                               atol=1e-7)
    early = C.grad_cam(flat, x, classes, layer="c1")
    assert early.shape == (4, SIZE, SIZE)
    np.testing.assert_allclose(C.grad_cam(nested, x, classes, layer="backbone/c1"), early,
                               atol=1e-7)
    np.testing.assert_allclose(C.grad_cam(nested, x, classes, layer="c1"), early, atol=1e-7)


def test_grad_cam_on_nested_sequential_backbone():
    flat, x = gap_model(9), images(3, 9)
    backbone = keras.Sequential(
        [keras.Input((SIZE, SIZE, 3))] + [flat.get_layer(n) for n in ("c1", "pool", "c2")],
        name="backbone",
    )
    outer = keras.Sequential([keras.Input((SIZE, SIZE, 3)), backbone,
                              keras.layers.GlobalAveragePooling2D(), flat.get_layer("fc")])
    np.testing.assert_allclose(C.grad_cam(outer, x), C.grad_cam(flat, x), atol=1e-7)
    np.testing.assert_allclose(C.grad_cam(outer, x, layer="backbone/c1"),
                               C.grad_cam(flat, x, layer="c1"), atol=1e-7)
    assert C.conv_layer_names(outer) == ["backbone/c1", "backbone/c2"]


def test_saliency_is_the_pre_softmax_pixel_gradient():
    model, x = gap_model(10), images(2, 10)
    fc = model.get_layer("fc")
    pooled_model = keras.Model(model.inputs[0], model.get_layer("gap").output)
    x_t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        score = (tf.matmul(pooled_model(x_t), fc.kernel) + fc.bias)[:, 1]
    expected = np.abs(tape.gradient(score, x_t).numpy()).max(axis=-1)
    np.testing.assert_allclose(C.saliency(model, x, 1), expected, rtol=1e-4, atol=1e-8)


def test_a_new_method_only_defines_how_to_combine():
    class ActivationTimesGradient(C.LayerMethod):
        def combine(self, activations, grads):
            return tf.reduce_sum(activations * grads, axis=-1)

    class MeanGradient(C.LayerMethod):
        def weights(self, activations, grads):
            return tf.reduce_mean(grads, axis=(1, 2))

    class PowerOfGradient(C.LayerMethod):
        def __init__(self, power):
            self.power = power

        def weights(self, activations, grads):
            return tf.reduce_mean(grads, axis=(1, 2)) ** self.power

    model, x = gap_model(11), images(3, 11)
    once, cubed = PowerOfGradient(1)(model, x, 0), PowerOfGradient(3)(model, x, 0)
    assert not np.allclose(once, cubed)  # settings are part of the cache key
    summed = ActivationTimesGradient()(model, x, 0)
    h, w = summed.shape[1:]
    np.testing.assert_allclose(summed, C.cam(model, x, 0) / (h * w), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(MeanGradient()(model, x, 0), C.grad_cam(model, x, 0), atol=1e-7)
    np.testing.assert_allclose(once, C.grad_cam(model, x, 0), atol=1e-7)


# --- batches and the compiled-function cache ------------------------------------------




# --- the rest of the family -----------------------------------------------------------


def pre_softmax(model, x):
    """Logits of a gap_model with a softmax head, straight from the layers."""
    x = tf.constant(x)
    features = keras.Model(model.inputs[0], model.get_layer("c2").output)(x)
    fc = model.get_layer("fc")
    return features, tf.matmul(tf.reduce_mean(features, axis=(1, 2)), fc.kernel) + fc.bias


def test_layer_cam_at_the_gap_layer_is_cam_with_negative_weights_clipped():
    """With a logit target dS_c/dA_k(x, y) = w_k^c / (h w) at every position, so
    LayerCAM = ReLU(Σ_k max(w_k^c, 0) A_k) / (h w): the CAM of the same network after
    its negative class weights are set to zero. As A ≥ 0 after ReLU, it is ≥ Grad-CAM."""
    model, x = gap_model(20), images(6, 20)
    h, w = SIZE // 2, SIZE // 2
    clipped = keras.models.clone_model(model)
    clipped.set_weights(model.get_weights())
    kernel, bias = clipped.get_layer("fc").get_weights()
    clipped.get_layer("fc").set_weights([np.maximum(kernel, 0), bias])
    classes = [0, 1, 2, 3, 0, 1]
    got = C.layer_cam(model, x, classes)
    np.testing.assert_allclose(got, np.maximum(C.cam(clipped, x, classes), 0) / (h * w),
                               rtol=1e-4, atol=1e-7)
    assert np.all(got >= C.grad_cam(model, x, classes) - 1e-7)
    assert np.any(got > C.grad_cam(model, x, classes) + 1e-5)


def test_layer_cam_uses_the_gradient_at_each_position():
    model, x = gap_model(21), images(3, 21)
    features = keras.Model(model.inputs[0], model.get_layer("c1").output)
    x_t = tf.constant(x)
    with tf.GradientTape() as tape:
        activations = features(x_t)
        tape.watch(activations)
        rest = activations
        for name in ("pool", "c2", "gap"):
            rest = model.get_layer(name)(rest)
        fc = model.get_layer("fc")
        score = (tf.matmul(rest, fc.kernel) + fc.bias)[:, 1]
    grads = tape.gradient(score, activations).numpy()
    expected = np.maximum((np.maximum(grads, 0) * activations.numpy()).sum(-1), 0)
    np.testing.assert_allclose(C.layer_cam(model, x, 1, layer="c1"), expected, rtol=1e-4,
                               atol=1e-8)


def test_grad_cam_plus_plus_matches_the_closed_form():
    model, x = gap_model(22), images(4, 22)
    x_t = tf.constant(x)
    with tf.GradientTape() as tape:
        activations, logits = pre_softmax(model, x_t)
        score = logits[:, 2]
    a = activations.numpy().astype(np.float64)
    g = tape.gradient(score, activations).numpy().astype(np.float64)
    denominator = 2 * g**2 + a.sum(axis=(1, 2), keepdims=True) * g**3
    alpha = np.where(g != 0, g**2 / np.where(denominator != 0, denominator, 1), 0)
    weights = (alpha * np.maximum(g, 0)).sum(axis=(1, 2))
    expected = np.maximum(np.einsum("nhwk,nk->nhw", a, weights), 0)
    np.testing.assert_allclose(C.grad_cam_plus_plus(model, x, 2), expected, rtol=1e-3,
                               atol=1e-6)


@pytest.mark.parametrize("weighting", ["probability", "channel-softmax"])
def test_score_cam_matches_a_channel_by_channel_loop(weighting):
    model, x = gap_model(23), images(3, 23)
    features = keras.Model(model.inputs[0], model.get_layer("c2").output)(x).numpy()
    classes = np.array([0, 3, 1])
    expected = []
    for i in range(len(x)):
        scores = []
        for k in range(features.shape[-1]):
            a = features[i, :, :, k]
            span = a.max() - a.min()
            mask = (a - a.min()) / span if span > 0 else np.zeros_like(a)
            mask = tf.image.resize(mask[None, :, :, None], (SIZE, SIZE)).numpy()[0]
            logits = pre_softmax(model, x[i : i + 1] * mask)[1].numpy()[0]
            probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
            scores.append(probabilities[classes[i]] if weighting == "probability"
                          else logits[classes[i]])
        scores = np.array(scores)
        if weighting == "channel-softmax":
            scores = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
        expected.append(np.maximum(np.einsum("hwk,k->hw", features[i], scores), 0))
    got = C.score_cam(model, x, classes, weighting=weighting)
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-4, atol=1e-6)


def test_score_cam_is_the_same_for_every_chunk_size():
    model, x = gap_model(24), images(5, 24)
    reference = C.score_cam(model, x, batch_size=10_000)  # every mask of a batch at once
    channels = 6
    for batch_size in (1, 2, 5, channels, channels + 1, 2 * channels, 3 * channels - 1):
        np.testing.assert_allclose(C.score_cam(model, x, batch_size=batch_size), reference,
                                   rtol=1e-5, atol=1e-7)


class BatchLimit(keras.layers.Layer):
    """Identity that fails the run if a model call ever sees more than ``limit`` inputs."""

    def __init__(self, limit, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit

    def call(self, inputs):
        check = tf.debugging.assert_less_equal(tf.shape(inputs)[0], self.limit)
        with tf.control_dependencies([check]):
            return tf.identity(inputs)


def limited(model, limit):
    inputs = keras.Input((SIZE, SIZE, 3))
    x = BatchLimit(limit)(inputs)
    for name in ("c1", "pool", "c2", "gap", "fc"):
        x = model.get_layer(name)(x)
    return keras.Model(inputs, x)


@pytest.mark.parametrize("name, inputs_per_image", [("Score-CAM", 6), ("SmoothGrad", 5),
                                                    ("Integrated Gradients", 5),
                                                    ("Occlusion", 9)])
def test_perturbation_methods_never_call_the_model_with_more_than_batch_size_inputs(
    name, inputs_per_image
):
    model, x = gap_model(25), images(7, 25)
    method = {"Score-CAM": C.score_cam,
              "SmoothGrad": functools.partial(C.smooth_grad, samples=5),
              "Integrated Gradients": functools.partial(C.integrated_gradients, steps=5),
              "Occlusion": functools.partial(C.occlusion, patch=4, stride=4)}[name]
    reference = method(model, x, batch_size=1000)
    for batch_size in (1, 4, inputs_per_image + 1, 2 * inputs_per_image):
        got = method(limited(model, batch_size), x, batch_size=batch_size)
        np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-7)
    with pytest.raises(tf.errors.InvalidArgumentError):
        method(limited(model, 3), x, batch_size=4)  # the limit does bite


def test_occlusion_matches_a_patch_by_patch_loop():
    model, x = gap_model(26), images(2, 26)
    patch, stride = 5, 4  # positions 0, 4 and the border 7 along each axis
    classes = np.array([1, 2])
    base = pre_softmax(model, x)[1].numpy()[np.arange(2), classes]
    total = np.zeros((2, SIZE, SIZE))
    count = np.zeros((SIZE, SIZE))
    for y in (0, 4, 7):
        for x0 in (0, 4, 7):
            covered = x.copy()
            covered[:, y : y + patch, x0 : x0 + patch] = x.mean(axis=(1, 2))[:, None, None]
            drop = base - pre_softmax(model, covered)[1].numpy()[np.arange(2), classes]
            total[:, y : y + patch, x0 : x0 + patch] += drop[:, None, None]
            count[y : y + patch, x0 : x0 + patch] += 1
    got = C.occlusion(model, x, classes, patch=patch, stride=stride)
    assert got.shape == (2, SIZE, SIZE)
    np.testing.assert_allclose(got, total / count, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(C.occlusion(model, x, classes, patch=patch, stride=stride,
                                           batch_size=3), got, rtol=1e-5, atol=1e-7)


def test_smooth_grad_is_the_mean_saliency_of_noisy_copies():
    model, x = gap_model(27), images(3, 27)
    samples, level = 4, 0.2
    noise = np.random.default_rng(5).standard_normal((samples, SIZE, SIZE, 3))
    spread = x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))
    expected = np.mean([C.saliency(model, x + level * spread[:, None, None, None] * noise[s], 0)
                        for s in range(samples)], axis=0)
    got = C.smooth_grad(model, x, 0, samples=samples, noise_level=level, seed=5)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(C.smooth_grad(model, x, 0, samples=1, noise_level=0.0),
                               C.saliency(model, x, 0), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", ["Grad-CAM++", "LayerCAM", "HiResCAM", "XGrad-CAM",
                                  "Score-CAM", "SmoothGrad", "Integrated Gradients",
                                  "Occlusion"])
def test_new_methods_work_on_batches_nested_models_and_logit_heads(name):
    method = C.METHODS[name]
    if name == "Occlusion":
        method = functools.partial(C.occlusion, patch=4, stride=4)
    if name == "SmoothGrad":
        method = functools.partial(C.smooth_grad, samples=3)
    if name == "Integrated Gradients":
        method = functools.partial(C.integrated_gradients, steps=4)
    flat, x = gap_model(28), images(5, 28)
    classes = np.array([3, 0, 2, 1, 3])
    batch = method(flat, x, classes)
    singles = np.concatenate([method(flat, x[i : i + 1], classes[i]) for i in range(5)])
    np.testing.assert_allclose(batch, singles, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(method(nested_twin(flat, SIZE), x, classes), batch, rtol=1e-5,
                               atol=1e-7)
    linear = keras.Model(flat.inputs, flat.get_layer("fc").output)  # fc still has softmax
    np.testing.assert_allclose(method(linear, x, classes), batch, rtol=1e-5, atol=1e-7)
    assert np.isfinite(batch).all() and batch.dtype == np.float32


def test_the_registry_names_every_method_and_each_takes_the_same_arguments():
    assert list(C.METHODS) == ["CAM", "Grad-CAM", "Grad-CAM++", "LayerCAM", "HiResCAM",
                               "XGrad-CAM", "Score-CAM", "Saliency", "Guided Backprop",
                               "Deconvnet", "SmoothGrad", "Integrated Gradients",
                               "Occlusion"]
    model, x = gap_model(29), images(2, 29)
    for name, method in C.METHODS.items():
        if name == "Occlusion":
            method = C.Occlusion(patch=6, stride=6)
        on_pixels = getattr(method, "on_pixels", False)
        assert method(model, x, 1).shape[0] == 2
        assert method(model, x, 1).shape[1:] == ((SIZE, SIZE) if on_pixels else (6, 6))




@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: C.ScoreCAM("softmax"), "weighting"),
        (lambda: C.SmoothGrad(samples=0), "samples"),
        (lambda: C.SmoothGrad(noise_level=-1), "noise_level"),
        (lambda: C.Occlusion(patch=0), "patch must be a whole number"),
        (lambda: C.Occlusion(patch=4, stride=5), "stride=5 is larger than patch=4"),
        (lambda: C.Occlusion(fill="grey"), "fill"),
        (lambda: C.Occlusion(score="rank"), "score"),
        (lambda: C.HiResCAM(relu="yes"), "relu must be True or False"),
        (lambda: C.IntegratedGradients(steps=0), "steps"),
        (lambda: C.IntegratedGradients(baseline="blur"), "baseline"),
    ],
)
def test_bad_settings_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --- HiResCAM, XGrad-CAM and Integrated Gradients: each method's identity or axiom ---


def flatten_head(seed):
    """conv → flatten → Dense softmax: no GAP, so CAM does not apply but Grad-CAM does."""
    inputs = keras.Input((SIZE, SIZE, 3))
    init = keras.initializers.HeNormal(seed=seed)
    features = keras.layers.Conv2D(4, 3, activation="relu", kernel_initializer=init,
                                   name="conv")(inputs)
    x = keras.layers.Flatten()(features)
    outputs = keras.layers.Dense(
        CLASSES, activation="softmax", name="fc",
        kernel_initializer=keras.initializers.GlorotNormal(seed=seed),
        bias_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=seed))(x)
    return keras.Model(inputs, outputs), inputs, features


def flatten_head_tape(seed, x_in, classes):
    """Activations, gradients, logits and the Dense bias, written out by hand."""
    model, inputs, features = flatten_head(seed)
    activations = keras.Model(inputs, features)(x_in)
    kernel, bias = model.get_layer("fc").get_weights()
    with tf.GradientTape() as tape:
        tape.watch(activations)
        logits = tf.matmul(tf.reshape(activations, (len(x_in), -1)), kernel) + bias
        score = tf.gather(logits, classes, batch_dims=1)
    grads = tape.gradient(score, activations).numpy()
    return model, activations.numpy(), grads, score.numpy(), bias[classes]


def test_hires_cam_at_the_gap_layer_is_relu_cam_over_hw_like_grad_cam():
    model, x = gap_model(50), images(6, 50)
    classes = [0, 1, 2, 3, 0, 1]
    hw = (SIZE // 2) ** 2
    got = C.hires_cam(model, x, classes)
    np.testing.assert_allclose(got, np.maximum(C.cam(model, x, classes), 0) / hw,
                               rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(got, C.grad_cam(model, x, classes), rtol=1e-4, atol=1e-7)


def test_hires_cam_decomposes_the_score_on_a_flatten_head_and_grad_cam_does_not():
    """Score = Σ_xy Σ_k w_k(x, y) A_k(x, y) + b for a flatten → Dense head, and the
    gradient is w itself: the signed HiResCAM map sums to the score minus the bias."""
    x_in, classes = images(5, 51), np.array([0, 1, 2, 3, 0])
    model, activations, grads, score, bias = flatten_head_tape(51, x_in, classes)
    signed = C.HiResCAM(relu=False)(model, x_in, classes)
    np.testing.assert_allclose(signed, (grads * activations).sum(-1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(signed.sum(axis=(1, 2)), score - bias, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(C.hires_cam(model, x_in, classes), np.maximum(signed, 0),
                               atol=1e-7)
    # Grad-CAM averages the gradient first: on this head its map is another map.
    grad = C.grad_cam(model, x_in, classes)
    assert not np.allclose(grad, C.hires_cam(model, x_in, classes), rtol=1e-2, atol=1e-4)


def test_xgrad_cam_follows_its_formula_and_its_conservation_axiom():
    x_in, classes = images(5, 52), np.array([3, 2, 1, 0, 3])
    model, activations, grads, score, bias = flatten_head_tape(52, x_in, classes)
    totals = activations.sum(axis=(1, 2), keepdims=True)
    share = np.divide(activations, totals, out=np.zeros_like(activations),
                      where=totals != 0)
    alpha = (share * grads).sum(axis=(1, 2))
    expected = np.maximum(np.einsum("nhwk,nk->nhw", activations, alpha), 0)
    np.testing.assert_allclose(C.xgrad_cam(model, x_in, classes), expected, rtol=1e-4,
                               atol=1e-6)
    # Conservation: Σ_k α_k Σ_xy A_k is the score minus the bias on this linear head.
    conserved = (alpha * activations.sum(axis=(1, 2))).sum(axis=-1)
    np.testing.assert_allclose(conserved, score - bias, rtol=1e-4, atol=1e-5)
    # At the GAP layer the gradient is constant, and XGrad-CAM is Grad-CAM.
    gap, x = gap_model(52), images(4, 52)
    np.testing.assert_allclose(C.xgrad_cam(gap, x), C.grad_cam(gap, x), rtol=1e-4,
                               atol=1e-7)


@pytest.mark.parametrize("baseline", ["zero", "mean"])
def test_integrated_gradients_is_complete(baseline):
    """Completeness: the attributions sum to S(x) − S(x'), up to the midpoint rule's
    error, which falls as steps grows."""
    model, x = gap_model(53), images(4, 53)
    classes = np.array([0, 1, 2, 3])
    start = np.zeros_like(x) if baseline == "zero" else np.broadcast_to(
        x.mean(axis=(1, 2), keepdims=True), x.shape)
    difference = (pre_softmax(model, x)[1].numpy()
                  - pre_softmax(model, np.ascontiguousarray(start))[1].numpy())
    expected = difference[np.arange(4), classes]
    errors = {}
    for steps in (2, 64):
        maps = C.integrated_gradients(model, x, classes, steps=steps, baseline=baseline)
        assert maps.shape == (4, SIZE, SIZE) and maps.dtype == np.float32
        errors[steps] = np.abs(maps.sum(axis=(1, 2)) - expected).max()
    scale = np.abs(expected).max()
    assert errors[64] <= 1e-2 * scale + 1e-5
    if baseline == "zero":
        # The convolutions have no bias, so the ReLU network is positively homogeneous:
        # along the path from black the score is linear in t, and two steps are exact.
        assert errors[2] <= 1e-5 * scale + 1e-6
    else:
        assert errors[64] < errors[2]


def test_integrated_gradients_with_one_step_is_the_gradient_at_the_midpoint():
    model, x = gap_model(54), images(3, 54)
    x_half = tf.constant(x / 2)
    with tf.GradientTape() as tape:
        tape.watch(x_half)
        score = pre_softmax(model, x_half)[1][:, 2]
    grads = tape.gradient(score, x_half).numpy()
    np.testing.assert_allclose(C.integrated_gradients(model, x, 2, steps=1),
                               (x * grads).sum(-1), rtol=1e-4, atol=1e-6)


def test_integrated_gradients_is_complete_for_both_classes_of_a_binary_head():
    model, x = binary_cnn(55), images(3, 55)
    # The two-class view of a one-unit head: columns -S and S.
    difference = graph.logits(model, x) - graph.logits(model, np.zeros_like(x))
    assert np.allclose(difference[:, 0], -difference[:, 1])
    for cls in (0, 1):
        maps = C.integrated_gradients(model, x, cls, steps=32)
        np.testing.assert_allclose(maps.sum(axis=(1, 2)), difference[:, cls], rtol=1e-3,
                                   atol=1e-5)


# --- Guided Backprop and Guided Grad-CAM ---------------------------------------------


def dense_relu_model(seed, pixels_layer=None):
    """image (4, 4, 1) → flatten → Dense(5, relu) → Dense(3): one ReLU, easy to write out."""
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Flatten()(inputs)
    init = keras.initializers.RandomNormal(stddev=1.0, seed=seed)
    hidden = keras.layers.Dense(5, kernel_initializer=init, bias_initializer=init,
                                name="hidden", activation=None if pixels_layer else "relu")(x)
    if pixels_layer:
        hidden = pixels_layer(hidden)
    outputs = keras.layers.Dense(3, kernel_initializer=init, name="out")(hidden)
    return keras.Model(inputs, outputs)


def test_guided_backprop_follows_the_guided_relu_rule():
    """d S_c / d x through a guided ReLU: W1 (1[z > 0] · 1[g > 0] · g) with g = W2[:, c],
    where plain saliency has W1 (1[z > 0] · g)."""
    model = dense_relu_model(60)
    x = np.random.default_rng(60).standard_normal((3, 4, 4, 1)).astype(np.float32)
    w1, b1 = model.get_layer("hidden").get_weights()
    w2, _ = model.get_layer("out").get_weights()
    z = x.reshape(3, -1) @ w1 + b1
    for c in range(3):
        g = w2[:, c]
        guided = ((z > 0) * (g > 0) * g) @ w1.T
        plain = ((z > 0) * g) @ w1.T
        np.testing.assert_allclose(C.guided_backprop(model, x, c),
                                   np.abs(guided).reshape(3, 4, 4), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(C.saliency(model, x, c), np.abs(plain).reshape(3, 4, 4),
                                   rtol=1e-5, atol=1e-6)


def test_deconvnet_follows_its_relu_rule_whatever_the_input():
    """d S_c / d x through a deconvnet ReLU: W1 (1[g > 0] · g), the forward sign ignored."""
    model = dense_relu_model(63)
    x = np.random.default_rng(63).standard_normal((3, 4, 4, 1)).astype(np.float32)
    w1, b1 = model.get_layer("hidden").get_weights()
    w2, _ = model.get_layer("out").get_weights()
    z = x.reshape(3, -1) @ w1 + b1
    assert (z < 0).any()  # some hidden units are off, so the rules differ
    for c in range(3):
        g = w2[:, c]
        rule = np.broadcast_to((g > 0) * g, z.shape) @ w1.T
        np.testing.assert_allclose(C.deconvnet(model, x, c), np.abs(rule).reshape(3, 4, 4),
                                   rtol=1e-5, atol=1e-6)
    # One map for every image: the deconvnet ignores where the forward pass was off.
    maps = C.deconvnet(model, x, 0)
    np.testing.assert_allclose(maps[0], maps[1], rtol=1e-5)
    assert not np.allclose(maps, C.guided_backprop(model, x, 0))


def test_deconvnet_refuses_a_relu_layer_and_a_model_without_relu():
    with pytest.raises(ValueError, match="deconvnet cannot change"):
        C.deconvnet(dense_relu_model(64, keras.layers.ReLU()), np.zeros((1, 4, 4, 1)), 0)
    with pytest.raises(ValueError, match="no ReLU"):
        C.deconvnet(dense_relu_model(64, keras.layers.Identity()), np.zeros((1, 4, 4, 1)), 0)


def test_guided_relus_are_undone_after_the_pass():
    model, x = gap_model(61), images(3, 61)
    before = C.saliency(model, x, 1)
    guided = C.guided_backprop(model, x, 1)
    assert not np.allclose(guided, before)
    relus = [layer for _, layer in graph.walk(model)
             if getattr(layer, "activation", None) is keras.activations.relu]
    assert len(relus) >= 2  # the convolutions have their own ReLU back
    np.testing.assert_allclose(C.Saliency()(model, x, 1, batch_size=2), before, rtol=1e-5,
                               atol=1e-7)


def test_guided_backprop_refuses_a_relu_layer_and_a_model_without_relu():
    with pytest.raises(ValueError, match="keras.layers.ReLU"):
        C.guided_backprop(dense_relu_model(62, keras.layers.ReLU()), np.zeros((1, 4, 4, 1)), 0)
    linear = dense_relu_model(62, keras.layers.Identity())
    with pytest.raises(ValueError, match="no ReLU"):
        C.guided_backprop(linear, np.zeros((1, 4, 4, 1)), 0)


def test_guided_grad_cam_is_guided_backprop_times_the_upsampled_grad_cam():
    model, x = gap_model(63), images(4, 63)
    classes = np.array([0, 1, 2, 3])
    expected = C.guided_backprop(model, x, classes) * C.upsample(
        C.grad_cam(model, x, classes), (SIZE, SIZE))
    got = C.guided_grad_cam(model, x, classes)
    assert got.shape == (4, SIZE, SIZE) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)
    early = C.guided_grad_cam(model, x, classes, layer="c1", batch_size=3)
    np.testing.assert_allclose(early, C.guided_backprop(model, x, classes) * C.upsample(
        C.grad_cam(model, x, classes, layer="c1"), (SIZE, SIZE)), rtol=1e-5, atol=1e-8)
    assert "Guided Grad-CAM" not in C.METHODS  # made of two registered methods


def test_pixel_methods_refuse_a_layer_and_occlusion_a_patch_too_big():
    model = gap_model(31)
    with pytest.raises(ValueError, match="input pixels"):
        C.SmoothGrad()(model, images(1), layer="c1")
    with pytest.raises(ValueError, match="larger than the image side 12"):
        C.occlusion(model, images(1), patch=13)


# --- every registered method, the same contract ---------------------------------------

# Settings that fit the 12×12 test images; every other method runs with its defaults.
SMALL = {"Occlusion": C.Occlusion(patch=4, stride=2), "SmoothGrad": C.SmoothGrad(samples=4),
         "Integrated Gradients": C.IntegratedGradients(steps=8)}


def registered(name):
    return SMALL.get(name, C.METHODS[name])


def test_a_class_with_a_name_joins_the_registry_and_one_without_does_not():
    class Unnamed(C.LayerMethod):
        def combine(self, activations, grads):
            return tf.reduce_sum(activations * grads, axis=-1)

    class ActivationTimesGradient(Unnamed):
        name = "Activation × gradient (test)"

    try:
        assert "Activation × gradient (test)" in C.METHODS
        assert not any(isinstance(m, Unnamed) and type(m) is Unnamed
                       for m in C.METHODS.values())
        model, x = gap_model(40), images(2, 40)
        maps = C.METHODS["Activation × gradient (test)"](model, x, 1)
        np.testing.assert_allclose(maps, C.cam(model, x, 1) / 36, rtol=1e-4, atol=1e-7)
    finally:
        del C.METHODS["Activation × gradient (test)"]


@pytest.mark.parametrize("name", list(C.METHODS))
def test_every_method_is_deterministic_finite_and_independent_of_the_batch(name):
    method, model, x = registered(name), gap_model(41), images(6, 41)
    maps = method(model, x, 2)
    assert maps.dtype == np.float32 and np.isfinite(maps).all()
    # Thread scheduling may change the order of float32 sums: a tolerance at the map's
    # scale, not bit equality.
    tolerance = 1e-5 * np.abs(maps).max()
    np.testing.assert_allclose(method(model, x, 2), maps, rtol=1e-5, atol=tolerance)
    np.testing.assert_allclose(method(model, x, 2, batch_size=5), maps, rtol=1e-5,
                               atol=tolerance)


@pytest.mark.parametrize("name", list(C.METHODS))
def test_every_method_gives_no_flat_map_for_the_predicted_class(name):
    method, model, x = registered(name), gap_model(41), images(6, 41)
    maps = method(model, x)
    assert np.isfinite(maps).all()
    assert np.ptp(maps.reshape(len(maps), -1), axis=1).min() > 0


@pytest.mark.parametrize("name", list(C.METHODS))
def test_every_method_gives_meaningful_maps_for_a_binary_sigmoid_head(name):
    """A one-unit sigmoid head (the slides' lane-change network is one): maps vary
    with the image, and the probability-based methods are not constant."""
    method, model, x = registered(name), binary_cnn(42), images(6, 42)
    maps = method(model, x)
    assert maps.shape[0] == 6 and np.isfinite(maps).all()
    assert np.ptp(maps.reshape(6, -1), axis=1).min() > 0
    assert not np.allclose(maps[0], maps[1])


def test_probability_scores_of_a_binary_head_use_the_sigmoid():
    model, x = binary_cnn(43), images(5, 43)
    by_probability = C.ScoreCAM()(model, x)
    masked_weights_not_all_one = by_probability.std() > 0
    assert masked_weights_not_all_one
    drops = C.Occlusion(patch=4, stride=4, score="probability")(model, x)
    assert np.abs(drops).max() > 0  # a softmax over one score would drop by 0 always


@pytest.mark.parametrize("name", list(C.METHODS))
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m, model, x: m(model, x[0]), "without a batch axis"),
        (lambda m, model, x: m(model, x * 255), "expects"),
        (lambda m, model, x: m(model, x, 7), "out of range"),
        (lambda m, model, x: m(model, x, "1"), "integers"),
        (lambda m, model, x: m(model, x, batch_size=0), "at least 1"),
        (lambda m, model, x: m(model, x, batch_size=None), "whole number"),
        (lambda m, model, x: m(model, x, batch_size=float("inf")), "whole number"),
        (lambda m, model, x: m(model, x, batch_size="8"), "whole number"),
        (lambda m, model, x: m("not a model", x), "must be a Keras model"),
    ],
)
def test_every_method_refuses_bad_input_with_the_fix(name, call, message):
    model = graph.declare_input_range(gap_model(44), 0.0, 1.0)
    with pytest.raises(ValueError, match=message):
        call(registered(name), model, images(2, 44))


@pytest.mark.parametrize("name", [n for n in C.METHODS if not C.METHODS[n].on_pixels])
@pytest.mark.parametrize(
    "layer, message",
    [("nope", "Unknown layer"), ("gap", "4-D"), (3, "layer must be a layer name")],
)
def test_layer_methods_refuse_a_layer_that_is_not_a_feature_map(name, layer, message):
    if name == "CAM":
        message = "CAM always uses"
    with pytest.raises(ValueError, match=message):
        C.METHODS[name](gap_model(45), images(2, 45), layer=layer)


# --- the score before softmax ---------------------------------------------------------


def test_probability_grad_cam_follows_the_softmax_chain_rule():
    """dP_c/dA_k = P_c (w_k^c − Σ_j P_j w_k^j) / Z: Grad-CAM of the probability."""
    model, x = gap_model(46), images(5, 46)
    classes = np.array([0, 1, 2, 3, 0])
    features = keras.Model(model.inputs[0], model.get_layer("c2").output)(x).numpy()
    p = keras.ops.convert_to_numpy(model(x))
    kernel = model.get_layer("fc").get_weights()[0]
    mixed = kernel[:, classes].T - p @ kernel.T
    z = features.shape[1] * features.shape[2]
    p_c = p[np.arange(5), classes][:, None, None]
    expected = p_c * np.maximum(np.einsum("nhwk,nk->nhw", features, mixed), 0) / z
    got = C.GradCAM(score="probability")(model, x, classes)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-8)


class _SubclassedSoftmax(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(4, 3, activation="relu")
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.fc = keras.layers.Dense(3, activation="softmax")

    def call(self, x):
        return self.fc(self.pool(self.conv(x)))


def test_a_softmax_camlib_cannot_switch_off_is_refused():
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    x = keras.layers.Dense(3)(x)
    lambda_head = keras.Model(inputs, keras.layers.Lambda(keras.ops.softmax)(x))
    wrapped = keras.Sequential([keras.Input((SIZE, SIZE, 3)), _SubclassedSoftmax()])
    for model in (lambda_head, wrapped):
        with pytest.raises(ValueError, match="cannot switch the softmax off"):
            C.grad_cam(model, images(2, 47))
        with pytest.raises(ValueError, match="cannot switch the softmax off"):
            C.logits(model, images(2, 47))


def test_a_lambda_head_that_is_not_a_softmax_is_explained():
    inputs = keras.Input((SIZE, SIZE, 3))
    features = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(features))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: 2.0 * t)(x))
    maps = C.grad_cam(model, images(2, 48), 1, layer="conv")
    assert maps.shape == (2, 10, 10) and np.isfinite(maps).all()


# --- occlusion's memory and coverage --------------------------------------------------


def test_occlusion_refuses_gaps_between_patches():
    with pytest.raises(ValueError, match="never be covered"):
        C.occlusion(gap_model(49), images(1, 49), patch=2, stride=3)


def test_occlusion_memory_follows_batch_size_not_the_number_of_patches():
    """patch 1, stride 1: 144 positions; no model call may see more than batch_size."""
    model, x = gap_model(50), images(2, 50)
    method = C.Occlusion(patch=1, stride=1)
    reference = method(model, x, batch_size=1000)
    np.testing.assert_allclose(method(limited(model, 8), x, batch_size=8), reference,
                               rtol=1e-5, atol=1e-7)


def test_a_binary_head_is_two_classes_minus_s_and_s():
    model, x = binary_cnn(51), images(8, 51)
    kernel, bias = model.get_layer("fc").get_weights()
    middle = np.median(C.logits(model, x)[:, 1])
    model.get_layer("fc").set_weights([kernel, bias - middle - 1e-3])  # both classes occur
    scores = C.logits(model, x)
    assert scores.shape == (8, 2)
    np.testing.assert_allclose(scores[:, 0], -scores[:, 1])
    bias = model.get_layer("fc").get_weights()[1][0]
    positive = C.cam(model, x, 1)
    np.testing.assert_allclose(positive.mean(axis=(1, 2)) + bias, scores[:, 1], rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(C.cam(model, x, 0), -positive, atol=1e-6)
    predicted = (scores[:, 1] > 0).astype(int)
    assert 0 < predicted.sum() < 8  # both classes occur, so the test can tell them apart
    np.testing.assert_array_equal(C.cam(model, x), C.cam(model, x, predicted))
    with pytest.raises(ValueError, match="valid indices are 0..1"):
        C.grad_cam(model, x, 2)
