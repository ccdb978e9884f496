"""CAM and Grad-CAM on tiny random models: the identities the book relies on."""

import functools
import gc
import os
import weakref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from camlib import cam as C  # noqa: E402
from camlib import graph  # noqa: E402
from builders import nested_twin

SIZE, CLASSES = 12, 4


def images(n=5, seed=0, size=SIZE):
    return np.random.default_rng(seed).random((n, size, size, 3), dtype=np.float32)


def random_bias(seed):
    return keras.initializers.RandomNormal(stddev=0.5, seed=seed)


def backbone_layers(seed, last_activation="relu"):
    return [
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1",
                            kernel_initializer=keras.initializers.GlorotUniform(seed)),
        keras.layers.MaxPooling2D(name="pool"),
        keras.layers.Conv2D(6, 3, padding="same", activation=last_activation, name="c2",
                            kernel_initializer=keras.initializers.GlorotUniform(seed + 1)),
    ]


def gap_model(seed=0, head="softmax"):
    """Functional conv → GAP → Dense model. head: softmax | linear | activation."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = inputs
    for layer in backbone_layers(seed, last_activation=None if head == "linear" else "relu"):
        x = layer(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    dense_activation = "softmax" if head == "softmax" else None
    x = keras.layers.Dense(CLASSES, activation=dense_activation, name="fc",
                           bias_initializer=random_bias(seed))(x)
    if head == "activation":
        x = keras.layers.Activation("softmax", name="probs")(x)
    return keras.Model(inputs, x, name=f"gap_{head}_{seed}")


def logits_of(model, x):
    """Pre-softmax class scores, straight from the pooled features and the Dense weights."""
    pooled = keras.Model(model.inputs[0], model.get_layer("gap").output)(x).numpy()
    kernel, bias = model.get_layer("fc").get_weights()
    return pooled.astype(np.float64) @ kernel + bias


# --- the CAM identity ------------------------------------------------------------------


@pytest.mark.parametrize("head", ["softmax", "linear", "activation"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cam_identity_mean_of_map_plus_bias_is_the_logit(seed, head):
    model, x = gap_model(seed, head), images(6, seed)
    logits = logits_of(model, x)
    bias = model.get_layer("fc").get_weights()[1]
    for c in range(CLASSES):
        maps = C.cam(model, x, class_index=c)
        assert maps.shape == (6, SIZE // 2, SIZE // 2) and maps.dtype == np.float32
        np.testing.assert_allclose(maps.mean(axis=(1, 2)) + bias[c], logits[:, c], atol=1e-5)


def test_cam_default_class_is_the_prediction():
    model, x = gap_model(3), images(8, 3)
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    np.testing.assert_array_equal(C.cam(model, x), C.cam(model, x, class_index=predicted))


def test_cam_is_raw_and_can_be_negative():
    model, x = gap_model(4, "linear"), images(4, 4)
    maps = np.stack([C.cam(model, x, class_index=c) for c in range(CLASSES)])
    assert maps.min() < 0 < maps.max()


def test_cam_accepts_vggcam_average_pooling_and_dropout():
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="conv_cam")(inputs)
    x = keras.layers.AveragePooling2D((SIZE, SIZE), name="avg_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(CLASSES, activation="softmax", name="fc_cam")(x)
    model = keras.Model(inputs, outputs)
    x_in = images(3)
    features = keras.Model(inputs, model.get_layer("conv_cam").output)(x_in).numpy()
    kernel = model.get_layer("fc_cam").get_weights()[0]
    expected = np.einsum("nhwk,k->nhw", features, kernel[:, 2])
    np.testing.assert_allclose(C.cam(model, x_in, class_index=2), expected, atol=1e-5)


def test_cam_on_sequential_and_nested_models_matches_functional():
    flat, x = gap_model(5), images(4, 5)
    sequential = keras.Sequential(
        [keras.Input((SIZE, SIZE, 3))]
        + [flat.get_layer(n) for n in ("c1", "pool", "c2", "gap", "fc")]
    )
    expected = C.cam(flat, x)
    np.testing.assert_array_equal(C.cam(sequential, x), expected)
    np.testing.assert_array_equal(C.cam(nested_twin(flat, SIZE), x), expected)


# --- Grad-CAM --------------------------------------------------------------------------


@pytest.mark.parametrize("head", ["softmax", "linear", "activation"])
def test_grad_cam_is_relu_cam_over_area_on_gap_models(head):
    """With a logit target, dS_c/dA_k = w_k^c / (h w) everywhere, so Grad-CAM is ReLU(CAM)/(h w)."""
    model, x = gap_model(6, head), images(5, 6)
    h, w = SIZE // 2, SIZE // 2
    for class_index in (None, 1, [3, 2, 1, 0, 3]):
        expected = np.maximum(C.cam(model, x, class_index), 0) / (h * w)
        got = C.grad_cam(model, x, class_index)
        assert got.shape == (5, h, w) and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)


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


@pytest.mark.parametrize("method", [C.cam, C.grad_cam, C.saliency])
def test_batched_maps_equal_maps_one_image_at_a_time(method):
    model, x = gap_model(12), images(5, 12)
    classes = np.array([3, 0, 2, 1, 3])
    batch = method(model, x, classes)
    singles = np.concatenate([method(model, x[i : i + 1], classes[i]) for i in range(5)])
    np.testing.assert_allclose(batch, singles, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(method(model, x, classes, batch_size=2), batch, rtol=1e-5,
                               atol=1e-7)


def test_compiled_functions_are_cached_and_not_retraced():
    model, x = gap_model(13), images(7, 13)
    C.cam(model, x)
    C.grad_cam(model, x)
    functions = dict(graph._CACHE[model])
    assert len(functions) == 2
    C.cam(model, x[:3], class_index=1)
    C.grad_cam(model, x, class_index=2, batch_size=4)  # chunks of 4 and 3
    assert graph._CACHE[model] == functions
    assert [f.experimental_get_tracing_count() for f in functions.values()] == [1, 1]
    C.grad_cam(model, x, layer="c1")
    assert len(graph._CACHE[model]) == 3


def test_the_cache_does_not_keep_a_model_alive():
    model = gap_model(18)
    C.cam(model, images(2))
    C.grad_cam(model, images(2))
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_the_model_leaves_no_trace_of_the_capture():
    model = gap_model(14)
    before = model.predict(images(3), verbose=0)
    C.grad_cam(model, images(3))
    assert all("call" not in layer.__dict__ for layer in model.layers)
    assert model.get_layer("fc").activation.__name__ == "softmax"
    np.testing.assert_allclose(model.predict(images(3), verbose=0), before, atol=1e-6)


# --- upsample and normalize -----------------------------------------------------------


def test_upsample_keeps_values_and_shape():
    maps = np.array([[[-1.0, 1.0], [1.0, -1.0]]], dtype=np.float32)
    big = C.upsample(maps, (8, 8))
    assert big.shape == (1, 8, 8) and big.dtype == np.float32
    assert big.min() == -1.0 and big.max() == 1.0  # corners keep the raw, signed values
    np.testing.assert_allclose(C.upsample(np.full((3, 3), 2.5), 9), np.full((9, 9), 2.5))


def test_normalize_maps_each_map_to_unit_range_without_nan():
    maps = np.stack([np.arange(9.0).reshape(3, 3) - 2, np.zeros((3, 3)), -np.ones((3, 3)),
                     np.full((3, 3), 4.0)])
    out = C.normalize(maps)
    assert not np.isnan(out).any()
    assert out[0].min() == 0.0 and out[0].max() == 1.0
    np.testing.assert_array_equal(out[1:], 0.0)


# --- refusing bad input ---------------------------------------------------------------


def flatten_model():
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(CLASSES, activation="softmax")(x))


def test_cam_refuses_a_model_without_gap_head_and_points_to_grad_cam():
    with pytest.raises(ValueError, match="not by global average pooling.*grad_cam"):
        C.cam(flatten_model(), images(2))

    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.GlobalMaxPooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    gmp = keras.Model(inputs, keras.layers.Dense(CLASSES)(x))
    with pytest.raises(ValueError, match="GlobalMaxPooling2D.*grad_cam"):
        C.cam(gmp, images(2))
    assert C.grad_cam(gmp, images(2)).shape == (2, SIZE - 2, SIZE - 2)


def test_unknown_layer_lists_the_convolution_layers():
    nested = nested_twin(gap_model(15), SIZE)
    with pytest.raises(ValueError, match="Unknown layer 'conv9'") as error:
        C.grad_cam(nested, images(2), layer="conv9")
    assert "backbone/c1" in str(error.value) and "backbone/c2" in str(error.value)
    with pytest.raises(ValueError, match=r"4-D \(N, h, w, K\)"):
        C.grad_cam(gap_model(15), images(2), layer="fc")


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, SIZE, SIZE + 1, 3)), r"shape \(2, 12, 13, 3\).*expects \(N, 12, 12, 3\)"),
        (np.zeros((2, SIZE, SIZE)), r"expects \(N, 12, 12, 3\)"),
        (np.zeros((SIZE, SIZE, 3)), r"single image.*images\[None\]"),
        (np.zeros((0, SIZE, SIZE, 3)), "empty batch"),
        (np.full((1, SIZE, SIZE, 3), np.nan), "NaN"),
    ],
)
@pytest.mark.parametrize("method", [C.cam, C.grad_cam])
def test_bad_images_are_refused_with_the_reason(method, bad, message):
    with pytest.raises(ValueError, match=message):
        method(gap_model(16), bad)


@pytest.mark.parametrize(
    "class_index, message",
    [(4, r"out of range.*0\.\.3"), (-1, r"out of range.*0\.\.3"), ([0, 1], r"one class per image"),
     (1.5, "integers")],
)
@pytest.mark.parametrize("method", [C.cam, C.grad_cam])
def test_bad_class_index_is_refused_with_the_valid_range(method, class_index, message):
    with pytest.raises(ValueError, match=message):
        method(gap_model(17), images(3), class_index)


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
                                                    ("Occlusion", 9)])
def test_perturbation_methods_never_call_the_model_with_more_than_batch_size_inputs(
    name, inputs_per_image
):
    model, x = gap_model(25), images(7, 25)
    method = {"Score-CAM": C.score_cam,
              "SmoothGrad": functools.partial(C.smooth_grad, samples=5),
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


@pytest.mark.parametrize("name", ["Grad-CAM++", "LayerCAM", "Score-CAM", "SmoothGrad",
                                  "Occlusion"])
def test_new_methods_work_on_batches_nested_models_and_logit_heads(name):
    method = C.METHODS[name]
    if name == "Occlusion":
        method = functools.partial(C.occlusion, patch=4, stride=4)
    if name == "SmoothGrad":
        method = functools.partial(C.smooth_grad, samples=3)
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
    assert list(C.METHODS) == ["CAM", "Grad-CAM", "Grad-CAM++", "LayerCAM", "Score-CAM",
                               "Saliency", "SmoothGrad", "Occlusion"]
    model, x = gap_model(29), images(2, 29)
    for name, method in C.METHODS.items():
        if name == "Occlusion":
            method = C.Occlusion(patch=6, stride=6)
        on_pixels = getattr(method, "on_pixels", False)
        assert method(model, x, 1).shape[0] == 2
        assert method(model, x, 1).shape[1:] == ((SIZE, SIZE) if on_pixels else (6, 6))


def test_logits_are_the_pre_softmax_scores():
    model, x = gap_model(30), images(4, 30)
    np.testing.assert_allclose(C.logits(model, x), logits_of(model, x), rtol=1e-5, atol=1e-5)


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
    ],
)
def test_bad_settings_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_pixel_methods_refuse_a_layer_and_occlusion_a_patch_too_big():
    model = gap_model(31)
    with pytest.raises(ValueError, match="input pixels"):
        C.SmoothGrad()(model, images(1), layer="c1")
    with pytest.raises(ValueError, match="larger than the image side 12"):
        C.occlusion(model, images(1), patch=13)
