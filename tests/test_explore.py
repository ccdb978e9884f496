"""camlib.explore on the Python side: what each explorer exports, and the input it refuses.

What the browser does with the data is tested in ``tests/browser/test_explorers.py``.
"""

import json

import numpy as np
import pytest
from builders import small_cnn
from explorer_driver import decode_png, tiles, unit

from camlib import cam, explore, filters, graph, localize


def test_an_explorer_is_html_with_its_data_the_runtime_and_a_fallback():
    explorer = explore.filters({"ramp": np.tile(np.linspace(0, 1, 8), (8, 1))})
    html = explorer._repr_html_()
    assert html.count('class="cam-explore"') == 1 and "<noscript>" in html
    assert "camExplore.mount" in html and "window.camExplore" in html
    start = html.index('class="cam-explore-data">') + len('class="cam-explore-data">')
    data = json.loads(html[start:html.index("</script>", start)])
    assert data == explorer.data and data["kind"] == "filters"
    assert "http" not in html.replace("http-equiv", "")  # nothing to fetch
    assert explorer.data_bytes == len(json.dumps(data, separators=(",", ":")).encode())


def test_two_explorers_on_one_page_have_different_ids():
    image = {"a": np.zeros((4, 4))}
    first, second = explore.filters(image), explore.filters(image)
    ids = [e.html.split('id="')[1].split('"')[0] for e in (first, second)]
    assert ids[0] != ids[1]


def test_a_closing_script_tag_in_a_name_cannot_end_the_data_block():
    explorer = explore.filters({"</script><b>": np.zeros((4, 4))})
    assert explorer.html.count("</script>") == 2  # the data block's and the runtime's


def test_filters_sends_the_photo_as_lossless_8_bit_grey():
    photo = np.random.default_rng(0).random((20, 30))
    data = explore.filters({"p": photo}).data
    sent = decode_png(data["images"][0]["png"])
    assert sent.shape == (20, 30) and sent.dtype == np.uint8
    assert np.array_equal(sent, np.round(photo * 255))
    big = explore.filters({"p": np.zeros((300, 200))}, size=64).data
    assert decode_png(big["images"][0]["png"]).shape == (64, 43)
    assert [k["name"] for k in data["kernels"]] == list(filters.KERNELS)


@pytest.mark.parametrize("bad, match", [
    ({}, "non-empty"),
    ({"a": np.full((4, 4), np.nan)}, "NaN"),
    ({"a": np.full((4, 4), 1.5)}, r"\[0, 1\]"),
    ({"a": "photo"}, "numeric"),
])
def test_filters_refuses_bad_images(bad, match):
    with pytest.raises(ValueError, match=match):
        explore.filters(bad)


def test_filters_refuses_bad_kernels_and_sizes():
    with pytest.raises(ValueError, match="3×3"):
        explore.filters({"a": np.zeros((4, 4))}, {"k": np.ones((2, 2))})
    with pytest.raises(ValueError, match="size"):
        explore.filters({"a": np.zeros((4, 4))}, size=0)


def test_map_to_box_sends_min_max_scaled_maps_and_camlibs_sweep():
    rng = np.random.default_rng(1)
    maps = {"m": rng.normal(size=(5, 4, 4))}
    boxes = np.array([[0, 0, 8, 8]] * 5)
    explorer = explore.map_to_box(rng.random((5, 16, 16, 3)), maps, boxes, shown=3)
    data = explorer.data
    assert len(data["images"]) == len(data["maps"]["m"]) == 3 and data["n_images"] == 5
    for sent, raw in zip(data["maps"]["m"], cam.upsample(maps["m"][:3], 16)):
        values = decode_png(sent)
        assert values.min() == 0 and values.max() == 255
        assert np.abs(unit(sent) - cam.min_max(raw)).max() <= 0.5 / 255 + 1e-6
    expected = localize.threshold_sweep(maps["m"], boxes, data["thresholds"], image_size=16)
    assert np.allclose(data["curves"]["m"], expected)


@pytest.mark.parametrize("maps, boxes, match", [
    ({}, [[0, 0, 2, 2]] * 2, "non-empty"),
    ({"m": np.zeros((3, 4, 4))}, [[0, 0, 2, 2]] * 2, "3 maps for 2 images"),
    ({"m": np.ones((2, 4, 4))}, [[0, 0, 2, 2]] * 2, "flat"),
    ({"m": np.eye(4)[None].repeat(2, 0)}, [[0, 0, 2, 2]], "boxes"),
])
def test_map_to_box_refuses_bad_input(maps, boxes, match):
    with pytest.raises(ValueError, match=match):
        explore.map_to_box(np.zeros((2, 8, 8, 3)), maps, boxes)


def test_methods_needs_a_threshold_for_every_method():
    maps = {"a": np.eye(4)[None].repeat(2, 0), "b": np.eye(4)[None].repeat(2, 0)}
    with pytest.raises(ValueError, match="one threshold per method"):
        explore.methods(np.zeros((2, 8, 8, 3)), maps, [[0, 0, 4, 4]] * 2,
                        thresholds={"a": 0.5})


@pytest.fixture(scope="module")
def model():
    return small_cnn(size=16, channels=(6, 5), classes=3, seed=3)


def test_cam_sum_exports_each_channel_and_the_models_logits(model):
    images = np.random.default_rng(2).random((2, 16, 16, 3)).astype("float32")
    data = explore.cam_sum(model, images, class_names=["a", "b", "c"]).data
    head = cam.find_cam_head(model)
    assert np.allclose(data["weights"], head.dense.get_weights()[0])
    assert np.allclose([p["logits"] for p in data["per_image"]],
                       graph.logits(model, images), atol=1e-5)
    h, w = data["map_shape"]
    exact = np.asarray(cam.cam(model, images, 1))
    for i, per_image in enumerate(data["per_image"]):
        f = tiles(per_image["maps"], w) * np.array(per_image["top"])[:, None, None]
        rebuilt = np.tensordot(np.array(data["weights"])[:, 1], f, axes=1)
        scale = np.abs(data["weights"]).sum(axis=0)[1] * max(per_image["top"])
        assert np.abs(rebuilt - exact[i]).max() <= scale / 510 + 1e-6


def test_cam_sum_refuses_a_model_without_a_cam_head_and_wrong_class_names(model):
    import keras

    inputs = keras.Input((8, 8, 3))
    flat = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="CAM head"):
        explore.cam_sum(flat, np.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match="3 names"):
        explore.cam_sum(model, np.zeros((1, 16, 16, 3)), class_names=["a"])


def test_activations_sends_each_layers_field_and_stride(model):
    from camlib.activations import receptive_field

    images = np.random.default_rng(3).random((2, 16, 16, 3)).astype("float32")
    data = explore.activations(model, images, ["c1", "c2"], channels=2).data
    for layer in data["layers"]:
        assert (layer["field"], layer["stride"]) == receptive_field(model, layer["name"])
        assert len(layer["maps"]) == 2 and len(layer["top"]) == 2
    with pytest.raises(ValueError, match="no spatial maps"):
        explore.activations(model, images, ["gap"])
    with pytest.raises(ValueError, match="layer names"):
        explore.activations(model, images, [])


def test_an_explorer_that_would_make_the_page_heavy_is_refused():
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="fewer images"):
        explore.map_to_box(rng.random((60, 64, 64, 3)), {"m": rng.random((60, 64, 64))},
                           [[0, 0, 9, 9]] * 60, shown=60)
