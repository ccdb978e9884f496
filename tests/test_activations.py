"""Feature maps, dead channels, receptive fields and filter grids on tiny models."""

import keras
import numpy as np
import pytest
from builders import images, nested_twin, small_cnn

from camlib import activations as A

SIZE = 12


def small_model(seed=0, pooling=keras.layers.MaxPooling2D, activation="relu"):
    return small_cnn(
        size=SIZE, channels=(8, 6), classes=3, seed=seed, activation=activation,
        last_activation=activation, pooling=pooling,
        conv_bias=lambda s: keras.initializers.RandomNormal(0.0, 0.3, s),
        name=f"small_{seed}",
    )


def reference(model, layer, batch):
    return keras.Model(model.inputs, model.get_layer(layer).output).predict(
        batch, verbose=0
    )


@pytest.fixture(scope="module")
def model():
    return small_model()


def test_one_layer_matches_a_keras_sub_model(model):
    batch = images()
    maps = A.feature_maps(model, batch, "c2")
    assert maps.shape == (5, 6, 6, 6) and maps.dtype == np.float32
    np.testing.assert_allclose(maps, reference(model, "c2", batch), atol=1e-6)


def test_several_layers_come_back_as_a_dict_in_order(model):
    batch = images()
    maps = A.feature_maps(model, batch, ["c2", "c1", "fc"])
    assert list(maps) == ["c2", "c1", "fc"]
    assert maps["c1"].shape == (5, SIZE, SIZE, 8) and maps["fc"].shape == (5, 3)
    np.testing.assert_allclose(maps["c1"], reference(model, "c1", batch), atol=1e-6)


def test_layer_objects_are_keyed_by_path(model):
    maps = A.feature_maps(model, images(2), [model.get_layer("c1")])
    assert list(maps) == ["c1"]


def test_batches_give_the_same_maps(model):
    batch = images(7)
    np.testing.assert_allclose(
        A.feature_maps(model, batch, "c1", batch_size=3),
        A.feature_maps(model, batch, "c1"),
        atol=1e-6,
    )


def test_nested_models_by_path_and_by_plain_name(model):
    nested = nested_twin(model, SIZE)
    batch = images()
    expected = reference(model, "c2", batch)
    np.testing.assert_allclose(
        A.feature_maps(nested, batch, "backbone/c2"), expected, atol=1e-6
    )
    np.testing.assert_allclose(A.feature_maps(nested, batch, "c2"), expected, atol=1e-6)


def test_pre_activation_is_the_value_before_relu(model):
    batch = images()
    pre = A.feature_maps(model, batch, ["c1", "c2"], pre_activation=True)
    post = A.feature_maps(model, batch, ["c1", "c2"])
    for name in ("c1", "c2"):
        assert pre[name].min() < 0
        np.testing.assert_allclose(np.maximum(pre[name], 0), post[name], atol=1e-6)


def test_pre_activation_of_a_layer_without_activation_is_refused(model):
    with pytest.raises(ValueError, match="no activation of its own"):
        A.feature_maps(model, images(), "pool", pre_activation=True)


def test_unknown_layer_lists_the_convolutions(model):
    with pytest.raises(ValueError, match=r"Unknown layer 'conv9'.*\['c1', 'c2'\]"):
        A.feature_maps(model, images(), "conv9")
    with pytest.raises(ValueError, match="Unknown layer"):
        A.feature_maps(model, images(), ["c1", "conv9"])


def test_empty_layer_list_is_refused(model):
    with pytest.raises(ValueError, match="layers is empty"):
        A.feature_maps(model, images(), [])


@pytest.mark.parametrize(
    "bad, message",
    [
        (images(1)[0], r"images\[None\]"),
        (images(2, size=SIZE + 2), "expects"),
        (np.zeros((2, SIZE, SIZE, 1), np.float32), "expects"),
        (np.full((1, SIZE, SIZE, 3), np.nan, np.float32), "non-finite"),
    ],
)
def test_images_that_do_not_fit_are_refused(model, bad, message):
    with pytest.raises(ValueError, match=message):
        A.feature_maps(model, bad, "c1")


def test_dead_channels_are_found():
    model = small_model(seed=3)
    kernel, bias = model.get_layer("c1").get_weights()
    kernel[..., 5], bias[5] = 0.0, -1.0  # channel 5 is always zero after its ReLU
    model.get_layer("c1").set_weights([kernel, bias])
    batch = images(8)
    assert A.dead_channels(model, batch, "c1").tolist() == [5]
    pre = A.feature_maps(model, batch, "c1", pre_activation=True)
    assert np.allclose(pre[..., 5], -1.0)


def test_receptive_field_counts_kernels_and_strides():
    model = small_model(pooling=keras.layers.AveragePooling2D)
    assert A.receptive_field(model, "c1") == (3, 1)
    assert A.receptive_field(model, "pool") == (4, 2)
    assert A.receptive_field(model, "c2") == (8, 2)
    assert A.receptive_field(nested_twin(model, SIZE), "backbone/c2") == (8, 2)


def test_receptive_field_is_the_support_of_the_input_gradient():
    import tensorflow as tf

    model = small_model(pooling=keras.layers.AveragePooling2D, activation=None)
    size, stride = A.receptive_field(model, "c2")
    sub = keras.Model(model.inputs, model.get_layer("c2").output)
    batch = tf.constant(images(1))
    with tf.GradientTape() as tape:
        tape.watch(batch)
        centre = sub(batch)[0, 3, 3, 0]
    support = np.abs(tape.gradient(centre, batch).numpy()[0]).sum(-1) > 0
    rows, cols = np.flatnonzero(support.any(1)), np.flatnonzero(support.any(0))
    assert rows.max() - rows.min() + 1 == size and cols.max() - cols.min() + 1 == size


def test_filter_weights_and_their_errors(model):
    assert A.filter_weights(model, "c2").shape == (3, 3, 8, 6)
    with pytest.raises(ValueError, match="no 2-D convolution kernel"):
        A.filter_weights(model, "fc")


def test_filter_grid_of_a_first_layer_is_rgb_with_zero_at_grey():
    kernel = np.random.default_rng(0).standard_normal((3, 3, 3, 8)).astype(np.float32)
    kernel[1, 1, :, 0] = 0.0
    grid = A.filter_grid(kernel, ncols=4, pad=1)
    assert grid.shape == (2 * 3 + 1, 4 * 3 + 3, 3)
    assert 0.0 <= grid.min() and grid.max() <= 1.0
    assert np.allclose(grid[1, 1], 0.5)  # a zero weight is mid-grey
    first = grid[:3, :3]
    assert np.isclose(np.abs(first - 0.5).max(), 0.5)  # each filter spans its own range


def test_filter_grid_of_a_deeper_layer_is_grey_filters_by_channels():
    grid = A.filter_grid(np.ones((3, 3, 16, 32)), pad=1, zoom=2)
    assert grid.shape == (32 * 7 - 1, 16 * 7 - 1)


@pytest.mark.parametrize(
    "bad", [np.ones((3, 3)), np.ones((1, 3, 3, 3, 3)), np.full((3, 3, 3, 2), np.inf)]
)
def test_filter_grid_refuses_bad_kernels(bad):
    with pytest.raises(ValueError):
        A.filter_grid(bad)


def test_vgg16_structure_and_preprocessing_offline():
    model = A.vgg16_for_images(input_shape=(32, 32, 3))
    names = A.conv_layer_names(model)
    assert len(names) == 13 and names[0] == "vgg16/block1_conv1"
    assert A.receptive_field(model, "block5_conv3") == (196, 16)
    batch = images(2, size=32)
    backbone = model.get_layer("vgg16")
    first = keras.Model(backbone.inputs, backbone.get_layer("block1_conv1").output)
    expected = first.predict(
        keras.applications.vgg16.preprocess_input(batch * 255.0), verbose=0
    )
    np.testing.assert_allclose(
        A.feature_maps(model, batch, "block1_conv1"), expected, rtol=1e-4, atol=1e-3
    )


def test_vgg16_download_failure_says_what_to_do(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(keras.applications, "VGG16", offline)
    with pytest.raises(RuntimeError, match="internet access"):
        A.vgg16_for_images(imagenet=True)


def test_layer_maps_figure_has_one_row_per_layer(model):
    import matplotlib

    matplotlib.use("Agg")
    from camlib.plot import layer_maps

    batch = images(1)
    maps = A.feature_maps(model, batch, ["c1", "c2"])
    fig = layer_maps(batch[0], {name: m[0] for name, m in maps.items()}, channels=6)
    assert len(fig.axes) == 2 * 7 + 2  # two rows of panels, one colour bar per row
    assert fig.axes[7].get_title() == "c2\n6×6×6"
    with pytest.raises(ValueError):
        layer_maps(batch[0], {"c1": maps["c1"]})


def test_activation_browser_follows_the_layer(model):
    import matplotlib

    matplotlib.use("Agg")
    from camlib.widgets import activation_browser

    browser = activation_browser(model, images(3), ["c1", "c2"])
    layer_menu, channel_slider, image_menu = browser.children[0].children
    assert channel_slider.max == 7 and len(image_menu.options) == 3
    channel_slider.value = 7
    layer_menu.value = "c2"
    assert channel_slider.max == 5 and channel_slider.value == 5
    with pytest.raises(ValueError, match="image_titles"):
        activation_browser(model, images(3), "c1", image_titles=["a"])


def test_channel_grid_shares_one_scale(model):
    import matplotlib

    matplotlib.use("Agg")
    from camlib.plot import channel_grid

    batch = images(1)
    maps = A.feature_maps(model, batch, "c1")[0]
    fig = channel_grid(maps, batch[0], channels=8, ncols=3)
    shown = [ax for ax in fig.axes if ax.images][1:]
    assert len(shown) == 8
    assert {ax.images[0].get_clim() for ax in shown} == {(0.0, float(maps.max()))}
    with pytest.raises(ValueError):
        channel_grid(maps[0])
