"""camlib.explore's explorers driven in headless Chromium, offline, against camlib itself.

Each explorer is built from test data, written to a page served from localhost, and driven
the way a reader drives it: a menu is picked, a kernel typed, a slider moved, a weight
dragged, a map cell hovered. What the browser computes is then compared with what camlib
computes from the same exported data: the filter response with ``correlate2d``, the box
and IoU with ``box_from_map`` and ``iou``, M_c and S_c with the CAM sum, the receptive
field with ``receptive_field``.
"""

import functools
import http.server
import socketserver
import threading

import numpy as np
import pytest
from builders import small_cnn
from explorer_driver import (
    CHROMIUM,
    Visit,
    control,
    explorer_data,
    offline_browser,
    state,
    tiles,
    unit,
    updates,
    wait_for_explorers,
)

from camlib import explore, filters, localize

if not CHROMIUM:
    pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explorers")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    with offline_browser() as chromium:
        yield chromium


@pytest.fixture
def open_explorer(site, browser, request):
    folder, url = site
    visits = []

    def opener(explorer):
        name = f"{request.node.name}-{len(visits)}.html".replace("[", "_").replace("]", "")
        (folder / name).write_text(
            f"<!doctype html><html><meta charset='utf-8'><body>{explorer.html}</body></html>",
            encoding="utf-8")
        visit = Visit(browser, f"{url}/{name}")
        wait_for_explorers(visit.page)
        visits.append(visit)
        return visit.page

    yield opener
    for visit in visits:
        assert not visit.errors, visit.errors
        assert not visit.blocked, f"an explorer asked the network for {visit.blocked}"
        visit.close()


def blobs(n=4, size=32, seed=0):
    """Maps with a few Gaussian blobs, so that thresholds give several regions."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size]
    maps = np.zeros((n, size, size))
    for i in range(n):
        for _ in range(3):
            cy, cx = rng.uniform(4, size - 4, 2)
            maps[i] += rng.uniform(0.3, 1) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 18)
    return maps


def test_filter_explorer_matches_correlate2d_for_presets_typed_kernels_and_sobel(open_explorer):
    rng = np.random.default_rng(1)
    photo = rng.random((30, 41))  # not square, so rows and columns cannot be swapped
    page = open_explorer(explore.filters({"noise": photo}))
    image = unit(explorer_data(page)["images"][0]["png"])
    kernels = explorer_data(page)["kernels"]
    for index, kernel in enumerate(kernels):
        control(page, 0, "kernel").select_option(str(index))
        shown = state(page)
        expected = filters.correlate2d(image, np.reshape(kernel["values"], (3, 3)))
        response = np.reshape(shown["response"], image.shape)
        assert np.abs(response - expected).max() < 1e-5, kernel["name"]
        assert shown["signed"] == (abs(sum(kernel["values"])) < 1e-6)
    # Typing one weight turns the menu to "your own" and filters with the typed kernel.
    control(page, 0, "kernel").select_option("0")
    before = updates(page)
    control(page, 0, "k2").fill("2.5")
    assert updates(page) > before
    assert control(page, 0, "kernel").input_value() == str(len(kernels))
    typed = np.reshape(state(page)["kernel"], (3, 3))
    assert typed[0, 2] == 2.5
    response = np.reshape(state(page)["response"], image.shape)
    assert np.abs(response - filters.correlate2d(image, typed)).max() < 1e-5
    gx, gy = filters.sobel(image)
    shown = state(page)
    assert np.abs(np.reshape(shown["gx"], image.shape) - gx).max() < 1e-5
    assert np.abs(np.reshape(shown["gy"], image.shape) - gy).max() < 1e-5
    magnitude = filters.gradient_magnitude(gx, gy)
    assert np.abs(np.reshape(shown["magnitude"], image.shape) - magnitude).max() < 1e-5


def test_filter_explorer_refuses_kernels_it_cannot_edit():
    with pytest.raises(ValueError, match="3×3"):
        explore.filters({"a": np.zeros((8, 8))}, {"big": np.ones((5, 5))})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        explore.filters({"a": np.full((8, 8), 2.0)})


def test_map_to_box_draws_camlibs_box_and_iou_at_every_threshold(open_explorer):
    rng = np.random.default_rng(2)
    maps = {"blobs": blobs(4, 32), "noise": rng.random((4, 8, 8))}
    images = rng.random((4, 32, 32, 3))
    boxes = np.array([[4, 6, 20, 22], [10, 0, 32, 12], [0, 0, 16, 16], [8, 8, 24, 30]])
    page = open_explorer(explore.map_to_box(images, maps, boxes, shown=4))
    data = explorer_data(page)
    for method_index, name in enumerate(maps):
        control(page, 0, "method").select_option(str(method_index))
        for image_index in range(4):
            control(page, 0, "image").select_option(str(image_index))
            scaled = unit(data["maps"][name][image_index])
            for threshold in (0.05, 0.2, 0.37, 0.5, 0.8, 0.99):
                control(page, 0, "threshold").fill(str(threshold))
                shown = state(page)
                assert shown["threshold"] == pytest.approx(threshold)
                box = localize.box_from_map(scaled, threshold)
                assert tuple(shown["box"]) == box, (name, image_index, threshold)
                expected = localize.iou(box, tuple(boxes[image_index]))
                assert shown["iou"] == pytest.approx(expected, abs=1e-12)
                text = control(page, 0, "iou").inner_text()
                assert text == f"{expected:.3f}"
    # The accuracy curve is camlib's sweep over every image, on the float maps.
    sweep = localize.threshold_sweep(maps["blobs"], boxes, data["thresholds"],
                                     image_size=(32, 32))
    assert np.allclose(data["curves"]["blobs"], sweep)


def test_map_to_box_breaks_ties_as_box_from_map_does(open_explorer):
    # Two regions of equal area: the one with the larger summed value wins; with equal
    # sums too, the first in row-major order.
    tie = np.zeros((2, 16, 16))
    tie[0, 1:4, 1:4], tie[0, 10:13, 10:13] = 0.6, 1.0
    tie[1, 1:4, 10:13], tie[1, 10:13, 1:4] = 1.0, 1.0
    images = np.zeros((2, 16, 16, 3))
    boxes = np.array([[0, 0, 8, 8], [0, 0, 8, 8]])
    page = open_explorer(explore.map_to_box(images, {"tie": tie}, boxes, shown=2))
    data = explorer_data(page)
    for index in range(2):
        control(page, 0, "image").select_option(str(index))
        control(page, 0, "threshold").fill("0.5")
        expected = localize.box_from_map(unit(data["maps"]["tie"][index]), 0.5)
        assert tuple(state(page)["box"]) == expected
    assert expected == (10, 1, 13, 4)


def test_map_to_box_refuses_flat_maps_and_mismatched_boxes():
    images = np.zeros((2, 8, 8, 3))
    with pytest.raises(ValueError, match="flat"):
        explore.map_to_box(images, {"flat": np.ones((2, 4, 4))}, [[0, 0, 4, 4]] * 2)
    with pytest.raises(ValueError, match="boxes"):
        explore.map_to_box(images, {"m": blobs(2, 8)}, [[0, 0, 4, 4]] * 3)


@pytest.fixture(scope="module")
def model():
    return small_cnn(size=16, channels=(6, 5), classes=3, seed=3)


def test_cam_sum_moves_map_and_score_by_the_dragged_weight(open_explorer, model):
    images = np.random.default_rng(4).random((3, 16, 16, 3)).astype("float32")
    page = open_explorer(explore.cam_sum(model, images, class_names=["a", "b", "c"],
                                         channels=3))
    data = explorer_data(page)
    height, width = data["map_shape"]
    weights, bias = np.array(data["weights"]), np.array(data["bias"])
    for image_index in range(3):
        control(page, 0, "image").select_option(str(image_index))
        for cls in range(3):
            control(page, 0, "class").select_option(str(cls))
            per_image = data["per_image"][image_index]
            f = tiles(per_image["maps"], width) * np.array(per_image["top"])[:, None, None]
            expected_map = np.tensordot(weights[:, cls], f, axes=1)
            shown = state(page)
            assert np.abs(np.reshape(shown["map"], (height, width)) - expected_map).max() < 1e-9
            assert shown["score"] == pytest.approx(expected_map.mean() + bias[cls], abs=1e-9)
            # The 8-bit maps keep S_c within half a step of each channel's scale.
            bound = np.abs(weights[:, cls]) @ np.array(per_image["top"]) / 510
            assert abs(shown["score"] - per_image["logits"][cls]) <= bound + 1e-6
    # Drag the weight of the first tile: M_c moves by Δ·f_k, S_c by Δ·mean(f_k).
    before = state(page)
    k = before["shown"][0]
    step = 0.37
    handle = control(page, 0, f"weight-{k}")
    new_value = float(handle.input_value()) + step
    handle.fill(str(new_value))
    after = state(page)
    moved = float(handle.input_value()) - (new_value - step)
    assert moved == pytest.approx(step)
    per_image = data["per_image"][2]
    f_k = tiles(per_image["maps"], width)[k] * per_image["top"][k]
    change = np.reshape(after["map"], (height, width)) - np.reshape(before["map"],
                                                                     (height, width))
    assert np.abs(change - moved * f_k).max() < 1e-9
    assert after["score"] - before["score"] == pytest.approx(moved * f_k.mean(), abs=1e-9)


def test_activation_explorer_draws_each_cells_receptive_field(open_explorer, model):
    from camlib.activations import feature_maps, receptive_field

    images = np.random.default_rng(5).random((2, 16, 16, 3)).astype("float32")
    page = open_explorer(explore.activations(model, images, ["c1", "c2"], channels=4))
    data = explorer_data(page)
    maps = feature_maps(model, images, ["c1", "c2"])
    for layer_index, name in enumerate(["c1", "c2"]):
        control(page, 0, "layer").select_option(str(layer_index))
        control(page, 0, "channel").fill("2")
        size, stride = receptive_field(model, name)
        shape = data["layers"][layer_index]["shape"]
        shown = state(page)
        top = data["layers"][layer_index]["top"][2]
        expected = maps[name][0, ..., 2] / top
        assert np.abs(np.reshape(shown["values"], shape) - expected).max() <= 0.5 / 255 + 1e-9
        for row, col in [(0, 0), (shape[0] - 1, shape[1] - 1), (shape[0] // 2, 1)]:
            page.evaluate(f"document.querySelector('.cam-explore').api.hover({row}, {col})")
            centre_x, centre_y = (col + 0.5) * stride - 0.5, (row + 0.5) * stride - 0.5
            box = [max(0, round(centre_x - size / 2 + 0.5)),
                   max(0, round(centre_y - size / 2 + 0.5)),
                   min(16, round(centre_x + size / 2 + 0.5)),
                   min(16, round(centre_y + size / 2 + 0.5))]
            assert state(page)["field"] == box
            assert box[2] - box[0] == min(size, 16) or box[0] == 0 or box[2] == 16


def test_methods_explorer_shows_camlibs_hits_and_boxes(open_explorer):
    from camlib.metrics import pointing_hits

    rng = np.random.default_rng(6)
    maps = {"blobs": blobs(5, 16), "noise": rng.random((5, 16, 16))}
    boxes = np.array([[2, 2, 10, 10]] * 5)
    page = open_explorer(explore.methods(rng.random((5, 16, 16, 3)), maps, boxes,
                                         thresholds={"blobs": 0.3, "noise": 0.5}))
    for index in range(5):
        control(page, 0, "image").select_option(str(index))
        hits = state(page)["hits"]
        for name, values in maps.items():
            assert hits[name] == bool(pointing_hits(values[index:index + 1],
                                                    boxes[index:index + 1])[0])


def test_explorers_stay_small():
    rng = np.random.default_rng(7)
    explorer = explore.map_to_box(rng.random((8, 64, 64, 3)),
                                  {"m": blobs(8, 64)}, np.zeros((8, 4)) + [0, 0, 9, 9])
    assert explorer.data_bytes < explore.MAX_DATA_BYTES
    with pytest.raises(ValueError, match="bytes"):
        explore.map_to_box(rng.random((60, 64, 64, 3)), {"m": rng.random((60, 64, 64))},
                           np.zeros((60, 4)) + [0, 0, 9, 9], shown=60)
