"""A sweep of bad input across the map side of camlib: graph, cam, methods, maps, ascent.

Each row is one call that a user could make by mistake, and the start of the message
that must come back: a ValueError that names what was wrong and the fix. A row whose
message is ``None`` is a documented conversion, and must return without an error.
"""

import keras
import numpy as np
import pytest
from builders import binary_cnn, gap_model, images

from camlib import ascent, cam, graph, maps, methods, notebook

MODEL = graph.declare_input_range(gap_model(60), 0.0, 1.0)
X = images(3, 60)
MAP = np.random.default_rng(0).random((2, 6, 6)).astype(np.float32)


def unbuilt():
    return keras.Sequential([keras.layers.Dense(2)])


def two_outputs():
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inputs))
    return keras.Model(inputs, [keras.layers.Dense(2)(x), keras.layers.Dense(3)(x)])


def per_pixel():
    inputs = keras.Input((12, 12, 3))
    return keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same")(inputs))


def ragged():
    return [np.zeros((12, 12, 3)), np.zeros((10, 10, 3))]


CASES = {
    # graph: the model
    "graph.check_model(str)": (lambda: graph.check_model("model"), "must be a Keras model"),
    "graph.check_model(unbuilt)": (lambda: graph.check_model(unbuilt()), "no symbolic inputs"),
    "graph.check_model(two outputs)": (lambda: graph.check_model(two_outputs()),
                                       "1 inputs and 2 outputs"),
    "graph.check_model(per-pixel)": (lambda: graph.check_model(per_pixel()), "per-pixel"),
    "graph.find_layer(int)": (lambda: graph.find_layer(MODEL, 3), "layer must be a layer name"),
    "graph.find_layer(None)": (lambda: graph.find_layer(MODEL, None), "layer must be"),
    "graph.find_layer(unknown)": (lambda: graph.find_layer(MODEL, "c9"), "Unknown layer"),
    "graph.find_layer(foreign)": (lambda: graph.find_layer(MODEL, gap_model(61).layers[1]),
                                  "is not part of model"),
    "graph.find_layer(input, refused)": (
        lambda: graph.find_layer(MODEL, MODEL.layers[0], allow_input=False),
        "is the model's input"),
    "graph.feature_map_site(Dense)": (lambda: graph.feature_map_site(MODEL, "fc"), "4-D"),
    "graph.declare_input_range(high < low)": (
        lambda: graph.declare_input_range(gap_model(62), 1, 0), "low < high"),
    "graph.declare_input_range(inf)": (
        lambda: graph.declare_input_range(gap_model(62), 0, np.inf), "finite"),
    "graph.declare_input_range(str)": (
        lambda: graph.declare_input_range(gap_model(62), "0", "x"), "numbers"),
    # graph: the images
    "images: ragged list": (lambda: graph.check_images(MODEL, ragged()), "one numeric array"),
    "images: strings": (lambda: graph.check_images(MODEL, np.full((1, 12, 12, 3), "a")),
                        "numeric"),
    "images: bool": (lambda: graph.check_images(MODEL, X > 0.5), "real numbers"),
    "images: complex": (lambda: graph.check_images(MODEL, X.astype(complex)), "real numbers"),
    "images: empty": (lambda: graph.check_images(MODEL, X[:0]), "empty batch"),
    "images: NaN": (lambda: graph.check_images(MODEL, np.where(X > 0.9, np.nan, X)),
                    "non-finite"),
    "images: inf": (lambda: graph.check_images(MODEL, np.where(X > 0.9, np.inf, X)),
                    "non-finite"),
    "images: uint8": (lambda: graph.check_images(MODEL, (X * 255).astype(np.uint8)),
                      "astype"),
    "images: 0-255 floats": (lambda: graph.check_images(MODEL, X * 255), "/ 255"),
    "images: one image": (lambda: graph.check_images(MODEL, X[0]), "images\\[None\\]"),
    "images: channels first": (lambda: graph.check_images(MODEL, np.moveaxis(X, -1, 1)),
                               "moveaxis"),
    "images: grayscale": (lambda: graph.check_images(MODEL, X[..., 0]), "np.repeat"),
    "images: wrong size": (lambda: graph.check_images(MODEL, images(2, 0, 16)), "expects"),
    "images: float64 list": (lambda: graph.check_images(MODEL, X.astype(float).tolist()),
                             None),
    # graph: classes and batch sizes
    "class_index: str": (lambda: graph.check_classes(MODEL, "1", 3), "the string"),
    "class_index: 1.5": (lambda: graph.check_classes(MODEL, 1.5, 3), "integers"),
    "class_index: NaN": (lambda: graph.check_classes(MODEL, np.nan, 3), "integers"),
    "class_index: wrong length": (lambda: graph.check_classes(MODEL, [0, 1], 3), "shape"),
    "class_index: negative": (lambda: graph.check_classes(MODEL, -1, 3), "out of range"),
    "class_index: too large": (lambda: graph.check_classes(MODEL, 4, 3), "valid indices"),
    "class_index: nested list": (lambda: graph.check_classes(MODEL, [[0, 1]], 3), "shape"),
    "class_index: 2.0": (lambda: graph.check_classes(MODEL, 2.0, 3), None),
    "class_index: np.int64": (lambda: graph.check_classes(MODEL, np.int64(2), 3), None),
    "class_index: binary 2": (lambda: graph.check_classes(binary_cnn(63), 2, 3),
                              "0..1"),
    "batch_size: 0": (lambda: graph.check_batch_size(0), "at least 1"),
    "batch_size: -4": (lambda: graph.check_batch_size(-4), "at least 1"),
    "batch_size: None": (lambda: graph.check_batch_size(None), "whole number"),
    "batch_size: inf": (lambda: graph.check_batch_size(float("inf")), "whole number"),
    "batch_size: NaN": (lambda: graph.check_batch_size(float("nan")), "whole number"),
    "batch_size: 2.5": (lambda: graph.check_batch_size(2.5), "whole number"),
    "batch_size: '8'": (lambda: graph.check_batch_size("8"), "whole number"),
    "batch_size: True": (lambda: graph.check_batch_size(True), "whole number"),
    "batch_size: np.int64": (lambda: graph.check_batch_size(np.int64(8)), None),
    "batch_size: 8.0": (lambda: graph.check_batch_size(8.0), None),
    "graph.logits(batch_size=0)": (lambda: graph.logits(MODEL, X, batch_size=0), "at least 1"),
    # cam
    "cam.cam(no GAP head)": (lambda: cam.cam(keras.Sequential(
        [keras.Input((12, 12, 3)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
         keras.layers.Dense(2)]), X), "no CAM head"),
    "cam.cam(batch_size=None)": (lambda: cam.cam(MODEL, X, batch_size=None), "whole number"),
    "cam.find_cam_head(str)": (lambda: cam.find_cam_head("model"), "must be a Keras model"),
    # methods: settings
    "ScoreCAM(weighting)": (lambda: methods.ScoreCAM("softmax"), "weighting"),
    "SmoothGrad(samples=0)": (lambda: methods.SmoothGrad(samples=0), "samples"),
    "SmoothGrad(samples=2.5)": (lambda: methods.SmoothGrad(samples=2.5), "samples"),
    "SmoothGrad(noise_level=inf)": (lambda: methods.SmoothGrad(noise_level=np.inf),
                                    "finite"),
    "SmoothGrad(noise_level=-1)": (lambda: methods.SmoothGrad(noise_level=-1), "at least"),
    "SmoothGrad(noise_level='x')": (lambda: methods.SmoothGrad(noise_level="x"), "number"),
    "SmoothGrad(seed=-1)": (lambda: methods.SmoothGrad(seed=-1), "seed"),
    "Occlusion(patch=0)": (lambda: methods.Occlusion(patch=0), "patch"),
    "Occlusion(stride=None)": (lambda: methods.Occlusion(stride=None), "stride"),
    "Occlusion(stride > patch)": (lambda: methods.Occlusion(patch=2, stride=3),
                                  "never be covered"),
    "Occlusion(fill=nan)": (lambda: methods.Occlusion(fill=np.nan), "finite"),
    "Occlusion(fill='grey')": (lambda: methods.Occlusion(fill="grey"), "fill"),
    "Occlusion(score='rank')": (lambda: methods.Occlusion(score="rank"), "score"),
    "Occlusion(patch > image)": (lambda: methods.occlusion(MODEL, X, patch=13), "larger"),
    "GradCAM(score='loss')": (lambda: methods.GradCAM(score="loss"), "score"),
    "Saliency(layer=)": (lambda: methods.Saliency()(MODEL, X, layer="c1"), "input pixels"),
    "CAM(layer=)": (lambda: methods.CAM()(MODEL, X, layer="c1"), "CAM always uses"),
    "grad_cam(layer=InputLayer)": (lambda: methods.grad_cam(MODEL, X, layer=MODEL.layers[0]),
                                   None),
    # maps
    "maps.normalize(NaN)": (lambda: maps.normalize(np.where(MAP > 0.9, np.nan, MAP)),
                            "NaN or inf"),
    "maps.normalize(1-D)": (lambda: maps.normalize(np.ones(3)), "\\(h, w\\)"),
    "maps.normalize(empty)": (lambda: maps.normalize(np.ones((0, 2, 2))), "empty"),
    "maps.upsample(size=0)": (lambda: maps.upsample(MAP, 0), "size must be"),
    "maps.upsample(size=None)": (lambda: maps.upsample(MAP, None), "size must be"),
    "maps.upsample(size='8')": (lambda: maps.upsample(MAP, "8"), "size must be"),
    "maps.min_max(inf)": (lambda: maps.min_max(np.where(MAP > 0.9, np.inf, MAP)),
                          "NaN or inf"),
    "maps.min_max(list)": (lambda: maps.min_max(MAP.tolist()), None),
    # ascent
    "maximize(InputLayer)": (lambda: ascent.maximize(MODEL, MODEL.layers[0], 0, steps=1),
                             "is the model's input"),
    "maximize(channel 99)": (lambda: ascent.maximize(MODEL, "c2", 99, steps=1),
                             "out of range"),
    "maximize(channels=[])": (lambda: ascent.maximize(MODEL, "c2", [], steps=1), "empty"),
    "maximize(channels=1.5)": (lambda: ascent.maximize(MODEL, "c2", 1.5, steps=1),
                               "int or a list"),
    "maximize(steps=0)": (lambda: ascent.maximize(MODEL, "c2", 0, steps=0), "steps"),
    "maximize(steps='5')": (lambda: ascent.maximize(MODEL, "c2", 0, steps="5"), "steps"),
    "maximize(learning_rate=0)": (lambda: ascent.maximize(MODEL, "c2", 0, learning_rate=0),
                                  "learning_rate"),
    "maximize(learning_rate=nan)": (
        lambda: ascent.maximize(MODEL, "c2", 0, learning_rate=np.nan), "learning_rate"),
    "maximize(batch_size=0)": (lambda: ascent.maximize(MODEL, "c2", 0, batch_size=0),
                               "at least 1"),
    "maximize(parameterization)": (
        lambda: ascent.maximize(MODEL, "c2", 0, parameterization="fft"), "parameterization"),
    "maximize(transforms)": (lambda: ascent.maximize(MODEL, "c2", 0, transforms="yes"),
                             "transforms"),
    "maximize(on_dead)": (lambda: ascent.maximize(MODEL, "c2", 0, on_dead="skip"), "on_dead"),
    "maximize(seed=-1)": (lambda: ascent.maximize(MODEL, "c2", 0, steps=1, seed=-1), "seed"),
    "maximize(size)": (lambda: ascent.maximize(MODEL, "c2", 0, steps=1, size=(8, 8)),
                       "does not fit"),
    "radial_spectrum(bins=0)": (lambda: ascent.radial_spectrum(X, bins=0), "bins"),
    "radial_spectrum(bins='4')": (lambda: ascent.radial_spectrum(X, bins="4"), "bins"),
    "radial_spectrum(2-D)": (lambda: ascent.radial_spectrum(np.ones((4, 4))), "images must"),
    "high_frequency_share(cutoff=1)": (lambda: ascent.high_frequency_share(X, cutoff=1),
                                       "cutoff"),
    "high_frequency_share(cutoff=None)": (lambda: ascent.high_frequency_share(X, cutoff=None),
                                          "cutoff"),
    # notebook
    "notebook.glue_key()": (lambda: notebook.glue_key(), "non-empty strings"),
    "notebook.glue_key(1)": (lambda: notebook.glue_key("loc", 1), "non-empty strings"),
    "notebook.markdown_table(short row)": (
        lambda: notebook.markdown_table([[1]], ["a", "b"]), "1 cells but there are 2"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_ends_in_a_clear_value_error_or_a_documented_conversion(case):
    call, message = CASES[case]
    if message is None:
        call()
        return
    with pytest.raises(ValueError, match=message):
        call()


def test_the_sweep_covers_every_module_of_the_map_side():
    modules = {case.split(".")[0].split("(")[0].split(":")[0] for case in CASES}
    assert {"graph", "images", "class_index", "batch_size", "cam", "maps",
            "notebook"} <= modules
