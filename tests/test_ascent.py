"""Gradient ascent on tiny random models: update rule, batching, seeds, dead channels."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import nested_twin, small_cnn

from camlib import ascent as G

SIZE = 16


def small_model(seed=0):
    return small_cnn(
        size=SIZE, channels=(6, 5), classes=3, seed=seed,
        conv_bias=lambda s: keras.initializers.Constant(0.05),
        dense_kernel=keras.initializers.GlorotUniform(seed + 2), name=f"small_{seed}",
    )


@pytest.fixture(scope="module")
def model():
    return small_model()


@pytest.fixture(scope="module")
def dead_model():
    model = small_model(seed=4)
    kernel, bias = model.get_layer("c2").get_weights()
    kernel[..., 2], bias[2] = 0.0, -1.0  # channel 2 of c2 is zero after its ReLU, always
    model.get_layer("c2").set_weights([kernel, bias])
    return model


def test_one_step_is_the_slides_update_rule(model):
    rate = 0.05
    result = G.maximize(model, "c2", [1], steps=1, learning_rate=rate, progress=False)
    start = tf.constant(result.start_images)
    sub = keras.Model(model.inputs, model.get_layer("c2").output)
    with tf.GradientTape() as tape:
        tape.watch(start)
        activation = tf.reduce_mean(sub(start)[..., 1])
    grad = tape.gradient(activation, start).numpy()
    expected = np.clip(start.numpy() + rate * grad / np.sqrt(np.mean(grad**2)), 0, 1)
    np.testing.assert_allclose(result.images, expected, atol=1e-5)
    assert np.isclose(result.start_activation[0], activation.numpy(), atol=1e-6)


def test_ascent_raises_every_channel(model):
    result = G.maximize(model, "c2", steps=40, progress=False)
    assert result.images.shape == (5, SIZE, SIZE, 3)
    assert result.channels.tolist() == [0, 1, 2, 3, 4]
    assert 0.0 <= result.images.min() and result.images.max() <= 1.0
    assert np.all(result.gain > 2), result.gain
    assert not result.pre_activation.any()
    assert result.history.shape == (40, 5)
    assert np.all(result.history[-1] > result.history[0])


def test_the_same_seed_gives_the_same_images(model):
    first = G.maximize(
        model, "c1", [0, 3], steps=5, transforms=True, seed=7, progress=False
    )
    again = G.maximize(
        model, "c1", [0, 3], steps=5, transforms=True, seed=7, progress=False
    )
    other = G.maximize(
        model, "c1", [0, 3], steps=5, transforms=True, seed=8, progress=False
    )
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.allclose(first.images, other.images)


def test_a_channel_does_not_depend_on_its_batch(model):
    together = G.maximize(
        model, "c2", [0, 1, 2, 3], steps=10, batch_size=3, progress=False
    )
    alone = G.maximize(model, "c2", [2], steps=10, progress=False)
    np.testing.assert_array_equal(together.start_images[2], alone.start_images[0])
    np.testing.assert_allclose(together.images[2], alone.images[0], atol=1e-4)


def test_nested_model_gives_the_same_result(model):
    flat = G.maximize(model, "c2", [3], steps=5, progress=False)
    nested = G.maximize(nested_twin(model, SIZE), "backbone/c2", [3], steps=5, progress=False)
    np.testing.assert_allclose(nested.images, flat.images, atol=1e-5)


@pytest.mark.parametrize(
    "settings",
    [
        dict(parameterization="fourier"),
        dict(parameterization="fourier", transforms=True),
        dict(transforms=G.Transforms(jitter=2, scale=0.1, degrees=15)),
    ],
)
def test_regularised_ascent_gives_valid_images_that_activate(model, settings):
    result = G.maximize(model, "c2", [0, 4], steps=30, progress=False, **settings)
    assert result.images.shape == (2, SIZE, SIZE, 3)
    assert 0.0 <= result.images.min() and result.images.max() <= 1.0
    assert np.all(result.activation > result.start_activation)


def test_fourier_images_are_smoother_than_pixel_images(model):
    pixel = G.maximize(model, "c2", [0, 1], steps=30, progress=False)
    fourier = G.maximize(
        model, "c2", [0, 1], steps=30, parameterization="fourier", progress=False
    )
    assert np.all(
        G.high_frequency_share(fourier.images) < G.high_frequency_share(pixel.images)
    )


def test_a_class_is_maximised_through_its_score_before_softmax(model):
    result = G.maximize(model, "fc", steps=20, progress=False)
    assert result.pre_activation.all()
    logits = (
        keras.Model(model.inputs, model.get_layer("gap").output).predict(
            result.images, verbose=0
        )
        @ model.get_layer("fc").get_weights()[0]
    )
    logits += model.get_layer("fc").get_weights()[1]
    np.testing.assert_allclose(
        result.activation, logits[np.arange(3), [0, 1, 2]], atol=1e-4
    )
    assert np.all(result.activation > result.start_activation)


def test_a_dead_channel_is_refused_by_default(dead_model):
    with pytest.raises(G.DeadChannelError, match=r"Channels \[2\].*pre_activation"):
        G.maximize(dead_model, "c2", [1, 2], steps=3, progress=False)
    assert issubclass(G.DeadChannelError, ValueError)


def test_a_dead_channel_can_be_maximised_before_its_relu(dead_model):
    result = G.maximize(
        dead_model, "c2", [1, 2], steps=10, on_dead="pre_activation", progress=False
    )
    assert result.pre_activation.tolist() == [False, True]
    assert np.isclose(result.start_activation[1], -1.0)
    # A zero kernel ignores the image: the value before the ReLU stays at its bias.
    assert np.isclose(result.activation[1], -1.0)
    assert result.activation[0] > result.start_activation[0]


def test_pre_activation_on_request(model):
    result = G.maximize(model, "c2", [0], steps=5, pre_activation=True, progress=False)
    assert result.pre_activation.tolist() == [True]


@pytest.mark.parametrize(
    "channels, message",
    [
        ([5], r"channels \[5\] out of range.*0\.\.4"),
        ([-1], "out of range"),
        ([], "empty"),
        ([0.5], "ints"),
        ("all", "ints"),
    ],
)
def test_bad_channels_are_refused(model, channels, message):
    with pytest.raises(ValueError, match=message):
        G.maximize(model, "c2", channels, steps=1, progress=False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(layer="conv9"), "Unknown layer 'conv9'"),
        (dict(layer="pool", pre_activation=True), "no activation of its own"),
        (dict(layer="c1", parameterization="wavelet"), "parameterization"),
        (dict(layer="c1", on_dead="ignore"), "on_dead"),
        (dict(layer="c1", transforms="jitter"), "transforms"),
        (dict(layer="c1", steps=0), "steps"),
        (dict(layer="c1", size=(8, 8)), "does not fit"),
    ],
)
def test_bad_requests_are_refused(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        G.maximize(model, channels=[0], progress=False, **kwargs)


def test_the_progress_bar_stays_quiet_outside_a_notebook(model, capsys):
    G.maximize(model, "c1", [0], steps=2, progress="auto")
    assert capsys.readouterr().out == ""


def test_high_frequency_share():
    rng = np.random.default_rng(0)
    flat = np.full((1, 32, 32, 3), 0.3)
    noise = rng.random((4, 64, 64, 3))
    rows = np.arange(64)[:, None, None] * np.ones((64, 64, 3))
    smooth = 0.5 + 0.5 * np.sin(2 * np.pi * rows / 32)
    assert G.high_frequency_share(flat)[0] == 0.0
    assert np.all(np.abs(G.high_frequency_share(noise) - 0.80) < 0.03)
    assert G.high_frequency_share(smooth)[0] < 1e-6
    with pytest.raises(ValueError):
        G.high_frequency_share(np.zeros((4, 4)))
    with pytest.raises(ValueError):
        G.high_frequency_share(noise, cutoff=0.0)


def test_radial_spectrum_is_flat_for_noise_and_falls_for_smooth_images():
    rng = np.random.default_rng(1)
    frequencies, noise_power = G.radial_spectrum(rng.random((8, 32, 32, 3)), bins=8)
    assert frequencies.shape == noise_power.shape == (8,)
    assert np.isclose(frequencies[0], 1 / 32) and np.isclose(
        frequencies[-1], 0.5 - 1 / 32
    )
    assert noise_power.max() / noise_power.min() < 1.5
    rows = np.arange(32)[:, None, None] * np.ones((32, 32, 3))
    _, smooth_power = G.radial_spectrum(np.sin(2 * np.pi * rows / 32)[None], bins=8)
    assert smooth_power.argmax() == 0 and smooth_power[3:].max() < 1e-6 * smooth_power[0]
    _, fine = G.radial_spectrum(rng.random((2, 32, 32, 3)), bins=16)
    assert np.all(np.isfinite(fine))
    with pytest.raises(ValueError, match="bins"):
        G.radial_spectrum(rng.random((2, 32, 32, 3)), bins=17)
