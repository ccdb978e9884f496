"""CAM on tiny random models: the identities the book relies on, batching, the cache."""

import gc
import weakref

import keras
import numpy as np
import pytest
from builders import gap_model, images, logits_of, nested_twin

from camlib import cam as C
from camlib import graph

SIZE, CLASSES = 12, 4


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
    """With a logit target, dS_c/dA_k = w_k^c / (h w) everywhere.

    So Grad-CAM is ReLU(CAM) / (h w).
    """
    model, x = gap_model(6, head), images(5, 6)
    h, w = SIZE // 2, SIZE // 2
    for class_index in (None, 1, [3, 2, 1, 0, 3]):
        expected = np.maximum(C.cam(model, x, class_index), 0) / (h * w)
        got = C.grad_cam(model, x, class_index)
        assert got.shape == (5, h, w) and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)




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




def test_logits_are_the_pre_softmax_scores():
    model, x = gap_model(30), images(4, 30)
    np.testing.assert_allclose(C.logits(model, x), logits_of(model, x), rtol=1e-5, atol=1e-5)
