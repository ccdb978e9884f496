"""The zoo's other tasks and heads: a dense head, a finer map, a box model, permuted labels.

Chapter 5 compares CAM's GAP head with a Flatten → Dense head, a map with one pool fewer
and a model trained on the true boxes; chapter 7's data randomization test trains on
permuted labels. These tests check each option on tiny models, and that the cache key
follows only the code that a config's training runs.
"""

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from camlib import architectures, cam, data, localize, models, zoo  # noqa: E402

TINY = {"n_train": 64, "n_val": 32, "n_test": 32, "epochs": 1, "batch_size": 32,
        "model_kwargs": {"width": 4, "depth": 2}}
TINY_BOXES = {**TINY, "model": "box_cnn", "task": "boxes", "epochs": 3}


# --- architectures ------------------------------------------------------------------------


def test_flatten_head_has_one_weight_per_position_and_channel():
    model = models.gap_cnn((64, 64, 3), 4, pooling="flatten")
    assert model.get_layer("flatten").input.shape == (None, 16, 16, 64)
    assert tuple(model.get_layer("fc").kernel.shape) == (16 * 16 * 64, 4)
    gap = models.gap_cnn((64, 64, 3), 4)
    assert model.count_params() - gap.count_params() == (16 * 16 - 1) * 64 * 4


def test_cam_refuses_the_flatten_head_and_grad_cam_explains_it():
    model = models.gap_cnn((32, 32, 3), 4, pooling="flatten", width=4, depth=2)
    images = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    with pytest.raises(ValueError):
        cam.cam(model, images)
    assert cam.grad_cam(model, images).shape == (2, 8, 8)


def test_fewer_pools_give_a_finer_map_with_the_same_weights():
    default = models.gap_cnn((64, 64, 3), 4)
    finer = models.gap_cnn((64, 64, 3), 4, pools=1)
    assert finer.get_layer("conv_cam").output.shape == (None, 32, 32, 64)
    assert [w.shape for w in finer.weights] == [w.shape for w in default.weights]
    assert "block2_pool" not in [layer.name for layer in finer.layers]
    assert models.gap_cnn((64, 64, 3), 4, pools=0).get_layer("conv_cam").output.shape[1] == 64
    with pytest.raises(ValueError, match="at most downsample"):
        models.gap_cnn((64, 64, 3), 4, pools=3)


def test_dilated_cnn_keeps_the_field_and_the_weights_with_a_finer_map():
    from camlib.activations import receptive_field

    pooled = models.gap_cnn((64, 64, 3), 4)
    dilated = architectures.dilated_cnn((64, 64, 3), 4)
    assert dilated.get_layer("conv_cam").output.shape == (None, 32, 32, 64)
    assert [w.shape for w in dilated.weights] == [w.shape for w in pooled.weights]
    rates = {layer.name: layer.dilation_rate for layer in dilated.layers
             if isinstance(layer, keras.layers.Conv2D)}
    assert rates == {"block1_conv": (1, 1), "block2_conv": (1, 1), "block3_conv1": (2, 2),
                     "block3_conv2": (2, 2), "block3_conv3": (2, 2), "conv_cam": (2, 2)}
    # The field loses only the 2x2 window of the removed pool; without dilation it halves.
    field = receptive_field(dilated, "conv_cam")[0]
    assert receptive_field(pooled, "conv_cam")[0] - field == 2
    assert receptive_field(models.gap_cnn((64, 64, 3), 4, pools=1), "conv_cam")[0] <= 0.6 * field
    # Two pools removed: the stack is dilated by 4.
    none = architectures.dilated_cnn((64, 64, 3), 4, pools=0)
    assert none.get_layer("conv_cam").dilation_rate == (4, 4)
    assert none.get_layer("block2_conv").dilation_rate == (2, 2)
    images = np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32)
    assert cam.cam(dilated, images).shape == (2, 32, 32)


def test_box_cnn_shares_the_convolutions_and_predicts_fractions():
    boxes = models.box_cnn((64, 64, 3), 4)
    gap = models.gap_cnn((64, 64, 3), 4)
    convs = [w.shape for w in gap.weights][:-2]  # all but fc
    assert [w.shape for w in boxes.weights][:-2] == convs
    assert boxes.output.shape == (None, 4)
    assert boxes.get_layer("box").activation.__name__ == "sigmoid"


# --- configs ------------------------------------------------------------------------------


@pytest.mark.parametrize("change, fragment", [
    ({"task": "boxes"}, "does not fit"),
    ({"model": "box_cnn"}, "does not fit"),
    ({"task": "regression"}, "task"),
    ({"labels": "shuffled"}, "labels"),
    ({"model": "box_cnn", "task": "boxes", "augment": "cutmix"}, "true boxes"),
    ({"model": "box_cnn", "task": "boxes", "labels": "permuted"}, "true boxes"),
])
def test_task_and_labels_are_checked(change, fragment):
    with pytest.raises(ValueError, match=fragment):
        zoo.config({**TINY, **change})


def test_zoo_names_the_chapter_5_and_7_models():
    assert zoo.config("shapes-fc")["model_kwargs"] == {"pooling": "flatten"}
    assert zoo.config("shapes-gap-32")["model_kwargs"]["pools"] == 1
    assert zoo.config("shapes-boxes")["task"] == "boxes"
    assert zoo.config("shapes-gap-permuted")["labels"] == "permuted"
    assert zoo.config("shapes-gap-32-dilated")["model"] == "dilated_cnn"
    for name in ("shapes-fc", "shapes-gap-32", "shapes-gap-permuted"):
        differs = {k for k, v in zoo.config(name).items()
                   if v != zoo.config("shapes-gap").get(k)} - {"name"}
        assert len(differs) == 1, (name, differs)  # one change from shapes-gap


# --- training -----------------------------------------------------------------------------


def test_permuted_labels_keep_the_counts_and_change_the_pairs():
    labels = np.arange(200) % 4
    permuted = zoo._training_labels(labels, zoo.config({**TINY, "labels": "permuted"}))
    assert np.array_equal(np.bincount(permuted), np.bincount(labels))
    assert np.mean(permuted == labels) < 0.5
    again = zoo._training_labels(labels, zoo.config({**TINY, "labels": "permuted"}))
    assert np.array_equal(permuted, again)
    assert zoo._training_labels(labels, zoo.config(TINY)) is labels


def test_permuted_labels_change_the_weights_and_not_the_images():
    _, true_record = zoo.train(TINY, verbose=0)
    permuted_model, record = zoo.train({**TINY, "labels": "permuted"}, verbose=0)
    true_model, _ = zoo.train(TINY, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in
               zip(true_model.get_weights(), permuted_model.get_weights(), strict=True))
    # the same first weights are drawn: only the labels differ
    assert record["config"]["labels"] == "permuted"
    assert true_record["config"]["labels"] == "true"


def test_a_box_model_learns_boxes_and_reports_its_localization():
    model, record = zoo.train(TINY_BOXES, verbose=0)
    losses = record["history"]["loss"]
    assert losses[-1] < losses[0]
    images, _, boxes = zoo.dataset(TINY_BOXES, "val")
    predicted = localize.boxes_from_fractions(model.predict(images, verbose=0), 64)
    share = float(np.mean(localize.paired_ious(predicted, boxes) >= 0.5))
    assert record["val_accuracy"] == share


def test_box_targets_are_fractions_of_the_side():
    targets = zoo._box_targets([(16, 0, 48, 32)], (64, 64))
    np.testing.assert_allclose(targets, [[0.25, 0.0, 0.75, 0.5]])
    with pytest.raises(ValueError):
        zoo._box_targets([localize.NO_BOX], (64, 64))


# --- the cache key follows the code that training runs ------------------------------------


def _edited(tmp_path, module, edit):
    path = tmp_path / Path(module.__file__).name
    path.write_text(edit(Path(module.__file__).read_text()))
    return str(path)


def test_a_data_function_that_training_does_not_use_keeps_every_key(tmp_path, monkeypatch):
    before = {name: zoo.cache_key(name) for name in ("shapes-gap", "lanes-gap")}
    unused = "\n\ndef an_unused_drawing(n):\n    return n + 1\n"
    monkeypatch.setattr(data, "__file__", _edited(tmp_path, data, lambda t: t + unused))
    assert {name: zoo.cache_key(name) for name in before} == before


def test_a_helper_of_the_dataset_changes_its_key_only(tmp_path, monkeypatch):
    before = {name: zoo.cache_key(name) for name in ("shapes-gap", "lanes-gap")}
    source = Path(data.__file__).read_text()
    assert "def _texture(" in source
    edit = lambda t: t.replace("def _texture(rng, n, size, contrast):",  # noqa: E731
                               "def _texture(rng, n, size, contrast=0.5):")
    monkeypatch.setattr(data, "__file__", _edited(tmp_path, data, edit))
    after = {name: zoo.cache_key(name) for name in before}
    uses_texture = "_texture" in zoo._reachable(
        __import__("ast").parse(source), ["lane_scenes"])
    assert after["shapes-gap"] != before["shapes-gap"]
    assert (after["lanes-gap"] != before["lanes-gap"]) == uses_texture


def test_another_builder_keeps_the_key_of_gap_cnn(tmp_path, monkeypatch):
    before = zoo.cache_key("shapes-gap"), zoo.cache_key("shapes-boxes")
    edit = lambda t: t.replace('outputs = layers.Dense(4, activation="sigmoid", '  # noqa: E731
                               'name="box")(x)',
                               'outputs = layers.Dense(4, activation="relu", name="box")(x)')
    edited = _edited(tmp_path, architectures, edit)
    assert Path(edited).read_text() != Path(architectures.__file__).read_text()
    monkeypatch.setattr(architectures, "__file__", edited)
    assert zoo.cache_key("shapes-gap") == before[0]
    assert zoo.cache_key("shapes-boxes") != before[1]


# --- boxes from a box model ---------------------------------------------------------------


def test_boxes_from_fractions_round_clip_and_order_the_corners():
    fractions = [[0.25, 0.0, 0.75, 0.5], [0.9, 0.9, 0.1, 0.1], [-0.2, 0.5, 1.3, 0.51]]
    assert localize.boxes_from_fractions(fractions, 64).tolist() == [
        [16, 0, 48, 32], [6, 6, 58, 58], [0, 32, 64, 33]]
    assert localize.boxes_from_fractions([0.0, 0.0, 0.5, 0.5], (32, 64)).tolist() == [
        [0, 0, 32, 16]]


@pytest.mark.parametrize("fractions, fragment", [
    ([[0.1, 0.2, np.nan, 0.4]], "NaN"),
    ([[0.1, 0.2, 0.3]], r"\(N, 4\)"),
    ("box", "numeric"),
])
def test_boxes_from_fractions_refuses_bad_input(fractions, fragment):
    with pytest.raises(ValueError, match=fragment):
        localize.boxes_from_fractions(fractions, 64)


def test_paired_ious_pair_the_boxes_in_order():
    a = [(0, 0, 4, 4), (0, 0, 2, 2), localize.NO_BOX]
    b = [(2, 0, 6, 4), (0, 0, 2, 2), (0, 0, 2, 2)]
    np.testing.assert_allclose(localize.paired_ious(a, b), [1 / 3, 1.0, 0.0])
    with pytest.raises(ValueError):
        localize.paired_ious(a, b[:2])
