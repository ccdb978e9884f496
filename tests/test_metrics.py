"""Measures of an explanation, on hand-made maps and models whose answers are known."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from camlib import cam as C  # noqa: E402
from camlib import metrics as M  # noqa: E402

BOX = (0, 0, 2, 2)  # the top-left 2×2 of a 4×4 image


def box_sum_model():
    """logit_0 = the sum of the pixels in BOX, logit_1 = 0, then softmax."""
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(2, activation="softmax", name="fc")
    outputs = dense(x)
    kernel = np.zeros((16, 2), np.float32)
    kernel[[0, 1, 4, 5], 0] = 1.0
    dense.set_weights([kernel, np.zeros(2, np.float32)])
    return keras.Model(inputs, outputs)


def box_first_map():
    m = np.zeros((1, 4, 4), np.float32)
    m[0, :2, :2] = 2.0
    m[0] += np.arange(16).reshape(4, 4) / 100  # no ties
    return m


# --- against a box --------------------------------------------------------------------


def test_pointing_game_hits_misses_flat_maps_and_tolerance():
    maps = np.zeros((4, 8, 8), np.float32)
    maps[0, 3, 3] = 1  # inside
    maps[1, 7, 7] = 1  # outside, 3√2 ≈ 4.24 pixels from the corner pixel (4, 4)
    maps[3, 5, 4] = 1  # just outside, one row below
    boxes = [(2, 2, 5, 5)] * 4
    np.testing.assert_array_equal(M.pointing_hits(maps, boxes), [True, False, False, False])
    np.testing.assert_array_equal(M.pointing_hits(maps, boxes, tolerance=1),
                                  [True, False, False, True])
    np.testing.assert_array_equal(M.pointing_hits(maps, boxes, tolerance=4.3),
                                  [True, True, False, True])
    assert M.pointing_game(maps, boxes) == 0.25


def test_pointing_game_upsamples_to_image_size():
    maps = np.zeros((1, 4, 4), np.float32)
    maps[0, 3, 0] = 1  # bottom-left cell of the map: image rows 12..15, columns 0..3
    assert M.pointing_game(maps, [(0, 12, 4, 16)], image_size=(16, 16)) == 1.0
    assert M.pointing_game(maps, [(12, 0, 16, 4)], image_size=16) == 0.0


def test_energy_in_box_counts_positive_mass_only():
    maps = np.zeros((3, 4, 4), np.float32)
    maps[0, :2, :2] = 1.0
    maps[1] = 1.0
    maps[2, :2, :2] = -5.0
    maps[2, 3, 3] = 2.0
    np.testing.assert_allclose(M.energy_in_box(maps, [BOX] * 3), [1.0, 0.25, 0.0])
    assert M.energy_in_box(-np.ones((1, 4, 4)), [BOX])[0] == 0.0


def test_localization_accuracy_uses_the_papers_rule():
    maps = np.zeros((2, 8, 8), np.float32)
    maps[0, 2:5, 2:5] = 1.0
    maps[1, 0:2, 6:8] = 1.0
    assert M.localization_accuracy(maps, [(2, 2, 5, 5)] * 2) == 0.5
    small = maps[:, ::2, ::2]  # the same maps at half resolution
    assert M.localization_accuracy(small, [(2, 2, 6, 6), (0, 0, 8, 8)], threshold=0.5,
                                   image_size=8) == 0.5


@pytest.mark.parametrize(
    "boxes, message",
    [
        ([BOX], "Got 1 boxes for 2 maps"),
        ([BOX, (-1, -1, -1, -1)], r"localize.NO_BOX = \(0, 0, 0, 0\)"),
        ([BOX, (0, 0, 5, 2)], r"outside the 4×4 image"),
        ([BOX, (2, 2, 2, 3)], r"empty \(NO_BOX\).*keep = localize.has_box\(boxes\)"),
        ([BOX, (2, 2, 1, 3)], r"not \(x, y, w, h\)"),
        (np.array([BOX, BOX]).T, "transposed"),
        ([BOX, (0.5, 0, 2, 2)], "whole pixel"),
        (np.zeros((2, 3)), r"\(N, 4\)"),
    ],
)
@pytest.mark.parametrize("metric", [M.pointing_game, M.energy_in_box, M.localization_accuracy])
def test_bad_boxes_are_refused(metric, boxes, message):
    with pytest.raises(ValueError, match=message):
        metric(np.ones((2, 4, 4)), boxes)


def test_bad_maps_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        M.pointing_game(np.full((1, 4, 4), np.nan), [BOX])
    with pytest.raises(ValueError, match=r"\(N, h, w\)"):
        M.energy_in_box(np.ones((1, 4, 4, 1)), [BOX])


# --- deletion and insertion -----------------------------------------------------------


def test_deletion_and_insertion_curves_on_a_model_with_a_known_answer():
    model, image = box_sum_model(), np.ones((1, 4, 4, 1), np.float32)
    good, bad = box_first_map(), -box_first_map()
    kwargs = dict(class_index=0, steps=4, baseline="zero", score="logit")
    np.testing.assert_allclose(M.deletion_curve(model, image, good, **kwargs), [[4, 0, 0, 0, 0]])
    np.testing.assert_allclose(M.deletion_curve(model, image, bad, **kwargs), [[4, 4, 4, 4, 0]])
    np.testing.assert_allclose(M.insertion_curve(model, image, good, **kwargs), [[0, 4, 4, 4, 4]])
    np.testing.assert_allclose(M.deletion_auc(model, image, good, **kwargs), [0.5])
    np.testing.assert_allclose(M.deletion_auc(model, image, bad, **kwargs), [3.5])
    np.testing.assert_allclose(M.insertion_auc(model, image, good, **kwargs), [3.5])
    np.testing.assert_allclose(M.insertion_auc(model, image, bad, **kwargs), [0.5])


def test_probability_curves_and_batching_do_not_change_the_answer():
    model = box_sum_model()
    rng = np.random.default_rng(0)
    images = rng.random((5, 4, 4, 1), dtype=np.float32)
    maps = rng.random((5, 2, 2), dtype=np.float32)  # upsampled to 4×4 inside
    curves = M.deletion_curve(model, images, maps, steps=8, baseline="mean")
    assert curves.shape == (5, 9)
    probabilities = C.logits(model, images)
    probabilities = np.exp(probabilities) / np.exp(probabilities).sum(1, keepdims=True)
    np.testing.assert_allclose(curves[:, 0], probabilities.max(1), rtol=1e-5)  # predicted class
    for batch_size in (1, 4, 9, 100):
        np.testing.assert_allclose(
            M.deletion_curve(model, images, maps, steps=8, baseline="mean",
                             batch_size=batch_size), curves, rtol=1e-6)


def test_ties_are_broken_at_random_not_by_position():
    flat = np.zeros((1, 8, 8), np.float32)
    ranks = M.pixel_ranks(flat, seed=0)
    assert sorted(ranks.ravel()) == list(range(64))
    assert ranks[0, :4].mean() > 10  # the top rows are not simply deleted first
    np.testing.assert_array_equal(ranks, M.pixel_ranks(flat, seed=0))


def test_baselines():
    images = np.random.default_rng(1).random((2, 16, 16, 3), dtype=np.float32)
    blurred = M.baseline_images(images, "blur")
    assert blurred.std() < images.std() / 3
    np.testing.assert_allclose(blurred.mean(axis=(1, 2)), images.mean(axis=(1, 2)), atol=1e-3)
    np.testing.assert_allclose(M.baseline_images(images, "mean")[:, 5, 7],
                               images.mean(axis=(1, 2)), rtol=1e-5)
    assert M.baseline_images(images, 0.5).mean() == 0.5
    with pytest.raises(ValueError, match="baseline='grey'"):
        M.baseline_images(images, "grey")
    with pytest.raises(ValueError, match="images' shape"):
        M.baseline_images(images, np.zeros((1, 16, 16, 3)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(steps=0), "steps"),
        (dict(batch_size=0), "batch_size"),
        (dict(score="rank"), "score"),
        (dict(class_index=5), "out of range"),
    ],
)
def test_bad_curve_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        M.deletion_curve(box_sum_model(), np.ones((1, 4, 4, 1)), box_first_map(), **kwargs)


def test_curves_need_one_map_per_image():
    with pytest.raises(ValueError, match="2 images but 1 maps"):
        M.insertion_auc(box_sum_model(), np.ones((2, 4, 4, 1)), box_first_map())


def test_area_under():
    np.testing.assert_allclose(M.area_under([[1.0, 0.5, 0.0]]), [0.5])
    with pytest.raises(ValueError, match="at least 2 points"):
        M.area_under([[1.0]])


# --- the sanity check -----------------------------------------------------------------


def small_gap_model(seed=0):
    init = keras.initializers.GlorotUniform(seed)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c1",
                            kernel_initializer=init)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c2",
                            kernel_initializer=keras.initializers.GlorotUniform(seed + 1))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="fc")(x)
    return keras.Model(inputs, outputs)


def test_randomize_top_cascades_from_the_output_and_leaves_the_original_alone():
    model = small_gap_model()
    before = [w.copy() for w in model.get_weights()]
    head = M.randomize_top(model, layers=1, seed=3)
    two = M.randomize_top(model, layers=2, seed=3)
    for original, now in zip(before, model.get_weights()):
        np.testing.assert_array_equal(original, now)
    names = lambda m: {x.name: x.get_weights() for x in m.layers if x.weights}  # noqa: E731
    original, head, two = names(model), names(head), names(two)
    np.testing.assert_array_equal(head["c2"][0], original["c2"][0])
    assert not np.allclose(head["fc"][0], original["fc"][0])
    np.testing.assert_array_equal(head["fc"][1], 0)
    assert not np.allclose(two["c2"][0], original["c2"][0])
    np.testing.assert_array_equal(two["c1"][0], original["c1"][0])
    with pytest.raises(ValueError, match=r"layers must be a whole number in 1\.\.3"):
        M.randomize_top(model, layers=4)


def test_rank_correlation():
    a = np.arange(16.0).reshape(1, 4, 4)
    np.testing.assert_allclose(M.rank_correlation(a, np.exp(a)), [1.0])
    np.testing.assert_allclose(M.rank_correlation(a, -a), [-1.0])
    np.testing.assert_allclose(M.rank_correlation(a, np.zeros_like(a)), [0.0])
    with pytest.raises(ValueError, match="pair up"):
        M.rank_correlation(a, a[:, :2])


def test_sanity_check_passes_a_map_of_the_model_and_fails_one_of_the_image():
    model = small_gap_model(4)
    x = np.random.default_rng(4).random((6, 12, 12, 3), dtype=np.float32)

    def edges(model, images, class_index=None):  # ignores the model entirely
        return np.abs(np.diff(images.mean(-1), axis=1))

    np.testing.assert_allclose(M.sanity_check(edges, model, x), 1.0)
    changed = M.sanity_check(C.cam, model, x, layers=1)
    assert changed.shape == (6,) and changed.mean() < 0.9


def test_evaluate_reports_every_measure():
    model = small_gap_model(5)
    x = np.random.default_rng(5).random((4, 12, 12, 3), dtype=np.float32)
    boxes = [(0, 0, 6, 6)] * 4
    report = M.evaluate(C.grad_cam, model, x, boxes, 1, steps=4)
    assert set(report) == {"localization", "pointing", "energy", "deletion", "insertion",
                           "sanity", "seconds_per_image", "deletion_curve",
                           "insertion_curve"}
    assert report["deletion_curve"].shape == (5,)
    assert report["deletion"] == pytest.approx(M.area_under(report["deletion_curve"][None])[0])
    maps = C.grad_cam(model, x, 1)
    assert report["pointing"] == M.pointing_game(maps, boxes, image_size=12)
    assert report["deletion"] == pytest.approx(
        M.deletion_auc(model, x, maps, 1, steps=4).mean())
    assert report["seconds_per_image"] > 0


def test_sanity_check_cascades_and_reuses_maps():
    model = small_gap_model(6)
    x = np.random.default_rng(6).random((3, 12, 12, 3), dtype=np.float32)
    cascade = M.sanity_check(C.grad_cam, model, x, 0, layers=[1, 2])
    assert cascade.shape == (2, 3)
    np.testing.assert_allclose(cascade[1], M.sanity_check(C.grad_cam, model, x, 0, layers=2))
    given = M.sanity_check(C.grad_cam, model, x, 0, maps=C.grad_cam(model, x, 0))
    np.testing.assert_allclose(given, cascade[0])
    with pytest.raises(ValueError, match="3 images but 2 maps"):
        M.sanity_check(C.grad_cam, model, x, 0, maps=np.ones((2, 12, 12)))


# --- binary (one-unit sigmoid) heads, accuracy and memory -------------------------------


def one_unit_model(seed=0):
    """An untrained but random binary classifier: Conv2D, GAP, Dense(1, sigmoid)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="fc")(x)
    return keras.Model(inputs, outputs)


def test_curves_of_a_one_unit_sigmoid_model_are_probabilities_not_a_flat_one():
    model = one_unit_model()
    x = np.random.default_rng(0).random((3, 12, 12, 3)).astype(np.float32)
    maps = np.random.default_rng(1).random((3, 6, 6)).astype(np.float32)
    p = model.predict(x, verbose=0)[:, 0].astype(np.float64)
    own_class = np.where(p > 0.5, p, 1 - p)   # the probability of the predicted class
    for curve_of in (M.deletion_curve, M.insertion_curve):
        curves = curve_of(model, x, maps, steps=6, baseline="zero")
        assert curves.shape == (3, 7)
        assert (np.ptp(curves, axis=1) > 1e-4).all()        # not constant
        assert ((curves > 0) & (curves < 1)).all()
    deletion = M.deletion_curve(model, x, maps, steps=6, baseline="zero")
    np.testing.assert_allclose(deletion[:, 0], own_class, rtol=1e-5)
    class_one = M.deletion_curve(model, x, maps, 1, steps=6, baseline="zero")
    np.testing.assert_allclose(class_one[:, 0], p, rtol=1e-5)


def test_accuracy_is_the_share_of_predicted_classes_that_match():
    binary = one_unit_model()
    x = np.random.default_rng(2).random((20, 12, 12, 3)).astype(np.float32)
    p = binary.predict(x, verbose=0)[:, 0]
    labels = np.arange(20) % 2
    assert M.accuracy(binary, x, labels) == pytest.approx(np.mean((p > 0.5) == labels))
    model = box_sum_model()
    images = np.random.default_rng(3).random((10, 4, 4, 1)).astype(np.float32) - 0.5
    labels = np.arange(10) % 2
    said = model.predict(images, verbose=0).argmax(axis=1)
    assert M.accuracy(model, images, labels, batch_size=3) == pytest.approx(
        np.mean(said == labels))


def test_deletion_memory_follows_batch_size_not_steps(monkeypatch):
    from camlib import graph

    sizes = []
    logits = graph.logits

    def counting(model, images, **kwargs):
        sizes.append(len(images))
        return logits(model, images, **kwargs)

    monkeypatch.setattr(graph, "logits", counting)
    model = box_sum_model()
    images = np.random.default_rng(4).random((3, 4, 4, 1)).astype(np.float32)
    curves = M.deletion_curve(model, images, box_first_map().repeat(3, 0), 0, steps=40,
                              batch_size=8, baseline="zero")
    assert curves.shape == (3, 41)
    assert max(sizes) <= 8 and sum(sizes) == 3 * 41


@pytest.mark.parametrize("name", ["CAM", "Grad-CAM", "Grad-CAM++", "LayerCAM", "Score-CAM",
                                  "Saliency", "SmoothGrad", "Occlusion"])
def test_a_binary_head_goes_through_every_measure_with_every_method(name):
    """The slides' lane-change network is a one-unit sigmoid classifier: every method,
    then every measure of evaluate, gives finite values that are not the constant a
    softmax over one score would give (deletion and insertion flat at 1)."""
    from builders import binary_cnn, images

    from camlib import methods

    model = binary_cnn(70, size=16)
    x = images(6, 70, size=16)
    boxes = np.tile([2, 2, 10, 10], (6, 1))
    method = {"Occlusion": methods.Occlusion(patch=4, stride=4),
              "SmoothGrad": methods.SmoothGrad(samples=4)}.get(name, methods.METHODS[name])
    found = M.evaluate(method, model, x, boxes, steps=4, repeats=1)
    values = [v for v in found.values() if isinstance(v, float)]
    assert values and all(np.isfinite(v) for v in values)
    maps = method(model, x)
    curves = M.deletion_curve(model, x, maps, steps=4)
    assert not np.allclose(curves, 1.0)
    assert np.all((curves >= 0) & (curves <= 1))
