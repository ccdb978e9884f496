"""camlib's public API against bad input.

Each case ends in a ValueError that names the problem and the fix, or in a documented,
sensible result; none in a traceback from deep inside TensorFlow.
"""

import os
import warnings

import keras
import numpy as np
import pytest

from camlib import activations, cam, data, filters, graph, localize, metrics, models


@pytest.fixture(scope="module")
def model():
    """The zoo's architecture, untrained: the input checks need no trained weights."""
    return models.build("shapes-gap")


@pytest.fixture(scope="module")
def images():
    return data.shapes(4, seed=5)[0]


MAP_NAMES = ["cam", "grad_cam", "saliency", "feature_maps"]
MAP_FUNCTIONS = [cam.cam, cam.grad_cam, cam.saliency,
                 lambda m, x: activations.feature_maps(m, x, "conv_cam")]


@pytest.mark.parametrize("explain", MAP_FUNCTIONS, ids=MAP_NAMES)
def test_uint8_images_are_refused_with_the_conversion(model, images, explain):
    with pytest.raises(ValueError, match=r"uint8.*astype\('float32'\) / 255"):
        explain(model, (images * 255).astype(np.uint8))


@pytest.mark.parametrize("explain", MAP_FUNCTIONS, ids=MAP_NAMES)
def test_0_to_255_floats_are_refused_for_a_model_that_expects_0_to_1(model, images, explain):
    with pytest.raises(ValueError, match=r"\[0, 1\].*/ 255"):
        explain(model, images * 255.0)


def test_a_model_of_ones_own_keeps_its_own_input_range(images):
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    plain = keras.Model(inputs, outputs)
    as_bytes = (images * 255).astype(np.uint8)
    maps = cam.cam(plain, as_bytes)  # converted to float32, values kept
    assert maps.shape == (4, 64, 64) and maps.dtype == np.float32
    as_floats = as_bytes.astype(np.float32)
    np.testing.assert_allclose(maps, cam.cam(plain, as_floats), rtol=1e-5, atol=1e-4)


def test_the_input_range_survives_clone_model(model, images):
    clone = keras.models.clone_model(model)
    assert graph.input_range(clone) == (0.0, 1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\].*/ 255"):
        cam.cam(clone, images * 255.0)


def test_channels_first_images_get_the_transpose(model, images):
    with pytest.raises(ValueError, match=r"channels-first.*np.moveaxis\(images, 1, -1\)"):
        cam.cam(model, np.moveaxis(images, -1, 1))


@pytest.mark.parametrize("gray", [lambda x: x[..., 0], lambda x: x[..., :1]], ids=["NHW", "NHW1"])
def test_grayscale_images_for_an_rgb_model_get_the_conversion(model, images, gray):
    with pytest.raises(ValueError, match=r"3 colour channels.*np.repeat"):
        cam.grad_cam(model, gray(images))


def test_a_single_image_needs_a_batch_axis(model, images):
    with pytest.raises(ValueError, match=r"images\[None\]"):
        cam.cam(model, images[0])


def test_nan_is_refused(model, images):
    broken = images.copy()
    broken[0, 3, 3, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        cam.cam(model, broken)


def test_a_model_without_a_convolution_layer_is_named_as_such():
    flat = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no convolution layer"):
        cam.grad_cam(flat, np.zeros((1, 8, 8, 3), "float32"))
    with pytest.raises(ValueError, match="grad_cam"):
        cam.cam(flat, np.zeros((1, 8, 8, 3), "float32"))


def test_a_sequential_model_that_was_never_built_is_explained():
    unbuilt = keras.Sequential([keras.layers.Conv2D(2, 3), keras.layers.GlobalAveragePooling2D(),
                                keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"keras.Input"):
        cam.grad_cam(unbuilt, np.zeros((1, 8, 8, 3), "float32"))


@pytest.mark.parametrize("class_index", [4, -2, [0, 1, 2, 9]])
def test_a_class_index_out_of_range_lists_the_valid_ones(model, images, class_index):
    with pytest.raises(ValueError, match=r"valid indices are 0\.\.3"):
        cam.cam(model, images, class_index)


def test_filters_accept_uint8_as_numbers_and_refuse_colour():
    gray = (np.arange(64).reshape(8, 8) * 4).astype(np.uint8)
    gx, _ = filters.sobel(gray)
    np.testing.assert_allclose(gx, filters.sobel(gray.astype(np.float32))[0])
    with pytest.raises(ValueError, match="to_gray"):
        filters.sobel(np.zeros((8, 8, 3), np.uint8))


def test_maps_with_nan_are_refused_by_boxes_and_metrics():
    with pytest.raises(ValueError, match="NaN"):
        localize.box_from_map(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        metrics.energy_in_box(np.full((1, 4, 4), np.nan), [(0, 0, 2, 2)])


TINY = {"dataset": "shapes", "n_train": 64, "n_val": 32, "n_test": 32, "epochs": 1,
        "model_kwargs": {"width": 4, "depth": 2}}


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_an_unwritable_cache_folder_costs_the_cache_not_the_model(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    with pytest.warns(UserWarning, match="could not cache.*CAMLIB_CACHE_DIR"):
        model = models.get(TINY, cache_dir=folder, verbose=0)
    assert model.output.shape[-1] == 4


def test_a_full_or_unwritable_cache_costs_the_cache_not_the_model(tmp_path, monkeypatch):
    def no_space(tmp):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save_weights", lambda self, path: no_space(path))
    with pytest.warns(UserWarning, match="could not cache.*No space left on device"):
        model = models.get(TINY, cache_dir=tmp_path, verbose=0)
    assert model.output.shape[-1] == 4
    assert not list(tmp_path.glob("*.weights.h5")) and not list(tmp_path.glob("*.json"))
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        models.get(TINY, cache_dir=tmp_path / "fresh", verbose=0)  # a writable folder: no warning
