"""Tests of camlib.architectures and camlib.zoo, through camlib.models as notebooks use them.

The cache tests train one tiny model (64 images, one epoch) once per session into a
temporary folder and copy that entry wherever a test needs a cached model.
"""

import ast
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from camlib import activations, architectures, data, graph, models, zoo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = {"n_train": 64, "n_val": 32, "n_test": 32, "epochs": 1, "batch_size": 32,
        "model_kwargs": {"width": 4, "depth": 2}}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMLIB_CACHE_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def trained_entry(tmp_path_factory):
    """A folder holding TINY's cache entry (weights and record), trained once."""
    folder = tmp_path_factory.mktemp("tiny-entry")
    model = models.get(TINY, cache_dir=folder, verbose=0)
    return folder, [w.copy() for w in model.get_weights()]


def entry_files(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def copy_entry(source, target):
    for path in source.iterdir():
        if not path.name.startswith("."):
            shutil.copy2(path, target / path.name)


def no_training(monkeypatch):
    monkeypatch.setattr(zoo, "train", lambda *a, **k: pytest.fail("retrained a cached model"))


def assert_same_weights(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


# --- architectures ------------------------------------------------------------------------


@pytest.mark.parametrize("pooling, layer", [("avg", "gap"), ("max", "gmp")])
def test_gap_cnn_has_the_cam_head(pooling, layer):
    model = models.gap_cnn((64, 64, 3), 4, pooling=pooling)
    assert model.get_layer("conv_cam").output.shape == (None, 16, 16, 64)
    assert model.get_layer("conv_cam").activation.__name__ == "relu"
    assert model.get_layer(layer).input.shape == model.get_layer("conv_cam").output.shape
    fc = model.get_layer("fc")
    assert fc.activation.__name__ == "softmax" and model.layers[-1] is fc
    assert model.output.shape == (None, 4)


def test_vggcam_follows_vgg16_layout():
    model = models.vggcam((64, 64, 3), 5, width=0.125)
    names = [layer.name for layer in model.layers]
    convs = [n for n in names if n.startswith("block") and "conv" in n]
    assert convs[0] == "block1_conv1" and convs[-1] == "block5_conv3" and len(convs) == 13
    assert "block4_pool" in names and "block5_pool" not in names
    assert [model.get_layer(f"block{b}_conv1").filters for b in range(1, 6)] == [8, 16, 32, 64, 64]
    assert model.get_layer("conv_cam").output.shape == (None, 4, 4, 128)
    assert names[-2:] == ["gap", "fc"]
    assert model.get_layer("fc").count_params() == 128 * 5 + 5


def test_vggcam_full_size_structure_and_cam_channels():
    model = models.vggcam((224, 224, 3), 10)  # the slides' network: 14×14 map, 1024 maps
    assert model.get_layer("conv_cam").output.shape == (None, 14, 14, 1024)
    assert model.get_layer("fc").count_params() == 1024 * 10 + 10
    narrow = models.vggcam((224, 224, 3), 10, cam_channels=512, width=0.5)
    assert narrow.get_layer("conv_cam").filters == 256  # cam_channels scales with width


def test_every_builder_takes_input_shape_then_n_classes():
    import inspect

    for builder in (*architectures.ARCHITECTURES.values(), architectures.vgg16_for_images):
        parameters = list(inspect.signature(builder).parameters.values())
        assert [p.name for p in parameters[:2]] == ["input_shape", "n_classes"]
        assert all(p.kind is p.KEYWORD_ONLY for p in parameters[2:]), builder.__name__


@pytest.mark.parametrize("builder", [models.gap_cnn, models.vggcam])
def test_one_class_is_refused_because_its_softmax_is_constant(builder):
    with pytest.raises(ValueError, match="always outputs 1.0"):
        builder((64, 64, 3), 1)


def test_the_slides_positional_order_is_refused_with_the_new_form():
    with pytest.raises(ValueError, match=r"vggcam\(\(224, 224, 3\), 4\)"):
        models.vggcam(4, 1024)


def test_models_declare_their_input_range_so_that_0_255_images_fail():
    for model in (models.gap_cnn((32, 32, 3), 3), models.vggcam((32, 32, 3), 3, width=0.125)):
        assert graph.input_range(model) == (0.0, 1.0)
        with pytest.raises(ValueError):
            graph.check_images(model, np.full((1, 32, 32, 3), 200.0, np.float32))


@pytest.mark.parametrize("call, flag", [
    (lambda: models.vggcam((224, 224, 3), 2, weights="imagenet"), "weights=None"),
    (lambda: models.vgg16_for_images(imagenet=True), "imagenet=False"),
])
def test_imagenet_offline_fails_with_one_message(monkeypatch, call, flag):
    def no_internet(*args, **kwargs):
        raise OSError("URL fetch failure: no route to host")

    monkeypatch.setattr(keras.applications, "VGG16", no_internet)
    with pytest.raises(RuntimeError, match="need internet access") as err:
        call()
    assert flag in str(err.value) and "shapes-vggcam" in str(err.value)


def test_vggcam_imagenet_needs_the_full_width():
    with pytest.raises(ValueError, match="width=1.0"):
        models.vggcam((224, 224, 3), 2, weights="imagenet", width=0.5)


def test_vgg16_for_images_has_no_classes():
    assert activations.vgg16_for_images is architectures.vgg16_for_images
    with pytest.raises(ValueError, match="no classifier"):
        models.vgg16_for_images((32, 32, 3), 10)


def test_layers_without_positions_see_the_whole_image():
    keras.utils.set_random_seed(0)
    model = models.gap_cnn((48, 48, 3), 3, width=4, depth=2)
    side = model.input.shape[1]
    conv_field, conv_stride = activations.receptive_field(model, "conv_cam")
    assert conv_field < side and conv_stride == 4
    assert activations.receptive_field(model, "gap") == (side, side)
    assert activations.receptive_field(model, "fc") == (side, side)
    # Every input pixel moves the class score: the gradient reaches all four corners.
    image = keras.ops.convert_to_tensor(np.random.default_rng(0).random((1, side, side, 3)),
                                        "float32")
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(image)
        score = model(image)[0, 0]
    grad = np.abs(tape.gradient(score, image).numpy()[0]).sum(-1)
    assert all(grad[y, x] > 0 for y in (0, side - 1) for x in (0, side - 1))


# --- configurations and data --------------------------------------------------------------


def test_config_rejects_unknown_names_and_keys():
    with pytest.raises(ValueError, match="unknown model"):
        models.config("no-such-model")
    with pytest.raises(ValueError, match="unknown config keys"):
        models.config({"epochz": 3})


def test_numpy_numbers_are_converted_to_python_ones():
    cfg = models.config({"epochs": np.int64(2), "learning_rate": np.float32(0.5),
                         "model_kwargs": {"width": np.int64(4)}})
    assert type(cfg["epochs"]) is int and type(cfg["learning_rate"]) is float
    assert type(cfg["model_kwargs"]["width"]) is int
    plain = {"epochs": 2, "learning_rate": float(np.float32(0.5)), "model_kwargs": {"width": 4}}
    assert models.cache_key(cfg) == models.cache_key(plain)


def test_zoo_has_the_documented_models():
    assert {"shapes-gap", "shapes-gmp", "lanes-gap", "shapes-vggcam"} <= set(models.ZOO)
    for name in models.ZOO:
        assert models.build(name).output.shape[-1] == len(models.CLASSES[models.config(name)
                                                                        ["dataset"]])


def test_dataset_splits_are_distinct_and_reproducible():
    train = models.dataset("shapes-gap", "train", n=20)[0]
    val = models.dataset("shapes-gap", "val", n=20)[0]
    np.testing.assert_array_equal(val, models.dataset("shapes-gap", "val", n=20)[0])
    assert not np.array_equal(train, val)
    with pytest.raises(ValueError, match="split"):
        models.dataset("shapes-gap", "dev")


def test_dataset_returns_the_info_of_the_same_images():
    seed = models.split_seed("lanes-gap", "test")
    images, labels, boxes, info = models.dataset("lanes-gap", "test", n=12, return_info=True)
    expected = data.lane_scenes(12, seed=seed, return_info=True)
    np.testing.assert_array_equal(images, expected[0])
    assert sorted(info) == sorted(expected[3])
    np.testing.assert_array_equal(info["kind"], expected[3]["kind"])
    shapes = models.dataset("shapes-gap", "val", n=6, return_info=True)
    masks = shapes[3]["masks"]
    np.testing.assert_array_equal(shapes[0], models.dataset("shapes-gap", "val", n=6)[0])
    ys, xs = np.nonzero(masks[0])
    assert tuple(shapes[2][0]) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_cutmix_pastes_a_partner_box_and_mixes_labels_by_area():
    images, labels, _ = data.shapes(6, seed=0)
    onehot = np.eye(4, dtype=np.float32)[labels]
    mixed, soft = models.cutmix(images, onehot, np.random.default_rng(3))
    again = models.cutmix(images, onehot, np.random.default_rng(3))
    np.testing.assert_array_equal(mixed, again[0])
    np.testing.assert_allclose(soft.sum(axis=1), 1, atol=1e-6)
    changed = np.any(mixed != images, axis=-1).mean(axis=(1, 2))
    own = soft[np.arange(6), labels]
    # The label keeps the share of pixels that stayed, unless the partner has the same class.
    different = labels != labels[np.random.default_rng(3).permutation(6)]
    assert np.all(own[different] <= 1 - changed[different] + 1e-6)


# --- training -----------------------------------------------------------------------------


def test_training_is_deterministic():
    first, _ = models.train(TINY, verbose=0)
    second, _ = models.train(TINY, verbose=0)
    assert_same_weights(first.get_weights(), second.get_weights())


def test_cutmix_changes_what_is_learned(trained_entry):
    model, record = models.train({**TINY, "augment": "cutmix"}, verbose=0)
    assert record["config"]["augment"] == "cutmix"
    plain = trained_entry[1]
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), plain))


# --- the cache key ------------------------------------------------------------------------


def _edited_copy(tmp_path, module, edit):
    path = tmp_path / Path(module.__file__).name
    path.write_text(edit(Path(module.__file__).read_text()))
    return str(path)


@pytest.mark.parametrize("module", [data, architectures, zoo])
def test_comments_and_docstrings_do_not_change_the_key(tmp_path, monkeypatch, module):
    before = models.cache_key(TINY)

    def comment(text):
        text = text.replace('"""', '"""Edited. ', 1)  # the module docstring
        return "# a new comment\n" + text.replace("\n\n\n", "\n\n\n# between definitions\n")

    monkeypatch.setattr(module, "__file__", _edited_copy(tmp_path, module, comment))
    assert models.cache_key(TINY) == before


@pytest.mark.parametrize(
    "old, new, changes",
    [
        # inside train: it shapes the weights
        ("    cfg = config(name_or_config)\n    verbose = _resolve_verbose(verbose)",
         "    cfg = config(name_or_config)\n    verbose = _resolve_verbose(verbose) or 0",
         True),
        # inside get: it does not
        ("    if not isinstance(return_record, (bool, np.bool_)):",
         "    if return_record not in (True, False):",
         False),
    ],
    ids=["training code changes the key", "code outside training does not"],
)
def test_only_code_that_shapes_the_weights_changes_the_key(tmp_path, monkeypatch, old, new,
                                                           changes):
    before = models.cache_key(TINY)
    edited = _edited_copy(tmp_path, zoo, lambda t: t.replace(old, new))
    assert Path(edited).read_text() != Path(zoo.__file__).read_text()
    monkeypatch.setattr(zoo, "__file__", edited)
    assert (models.cache_key(TINY) != before) == changes


def test_training_code_lists_every_zoo_function_that_training_calls():
    tree = ast.parse(Path(zoo.__file__).read_text())
    defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    checks_only = {"config", "_resolve_verbose", "_options", "_check_names"}
    for name in zoo.TRAINING_CODE:
        if name not in defined:
            continue
        used = {n.id for n in ast.walk(defined[name]) if isinstance(n, ast.Name)}
        missing = (used & set(defined)) - set(zoo.TRAINING_CODE) - checks_only
        assert not missing, f"{name} calls {missing}, which the cache key does not cover"


def test_changed_config_changes_the_key():
    assert models.cache_key(TINY) == models.cache_key(dict(TINY))
    assert models.cache_key(TINY) != models.cache_key({**TINY, "epochs": 2})
    no_clutter = {**TINY, "dataset_kwargs": {"clutter": False}}
    assert models.cache_key(TINY) != models.cache_key(no_clutter)
    assert models.cache_key(TINY) == models.cache_key({**TINY, "name": "a-label"})


# --- the cache ----------------------------------------------------------------------------


def test_cache_trains_once_then_loads(cache, monkeypatch):
    model, record = models.get(TINY, return_record=True, verbose=0)
    assert len(entry_files(cache)) == 2
    sidecar = json.loads(next(cache.glob("*.json")).read_text())
    assert sidecar["key"] == models.cache_key(TINY) and sidecar == record
    no_training(monkeypatch)
    assert_same_weights(model.get_weights(), models.get(TINY).get_weights())


def test_is_cached_is_true_exactly_when_get_would_load(cache, trained_entry):
    assert not models.is_cached(TINY)
    copy_entry(trained_entry[0], cache)
    assert models.is_cached(TINY)
    assert not models.is_cached({**TINY, "seed": 1})  # another key
    next(cache.glob("*.weights.h5")).write_bytes(b"damaged")
    assert not models.is_cached(TINY)  # get would retrain it


def test_get_notes_each_config_it_serves_when_the_log_is_set(cache, trained_entry,
                                                             tmp_path, monkeypatch):
    copy_entry(trained_entry[0], cache)
    log = tmp_path / "used.jsonl"
    models.get(TINY)  # no log set: nothing is written
    assert not log.exists()
    monkeypatch.setenv(zoo.MODEL_LOG, str(log))
    models.get(TINY)
    models.get(TINY)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 2 and lines[0] == lines[1]
    assert lines[0]["key"] == models.cache_key(TINY)
    # The config read back from JSON is the same entry (lists for tuples and all).
    assert models.cache_key(lines[0]["config"]) == models.cache_key(TINY)


def test_the_book_model_list_reads_back_to_valid_configs():
    """notebooks/models.json, written after an nbval run, holds configs that zoo.config
    accepts and that keep their key through JSON."""
    listed = json.loads((ROOT / "notebooks" / "models.json").read_text())
    assert len(listed) >= len(zoo.ZOO)
    keys = {models.cache_key(cfg) for cfg in listed}
    assert len(keys) == len(listed)  # no model twice
    for cfg in listed:
        again = json.loads(json.dumps(zoo.config(cfg)))
        assert models.cache_key(again) == models.cache_key(cfg)
    assert {cfg.get("name") for cfg in listed} >= set(zoo.ZOO)


def test_train_models_trains_what_the_list_names_and_the_cache_lacks(cache, tmp_path,
                                                                     capsys):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_models
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    listed = tmp_path / "models.json"
    listed.write_text(json.dumps([TINY]))
    assert train_models.main(["--list", str(listed), "--dry-run"]) == 0
    assert "1 to train" in capsys.readouterr().out and not models.is_cached(TINY)
    assert train_models.main(["--list", str(listed), "--jobs", "1"]) == 0
    assert models.is_cached(TINY)
    assert train_models.main(["--list", str(listed)]) == 0
    assert "1 cached, 0 to train" in capsys.readouterr().out


def test_cache_dir_argument_wins(tmp_path, cache, trained_entry, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy_entry(trained_entry[0], elsewhere)
    no_training(monkeypatch)
    models.get(TINY, cache_dir=elsewhere)
    assert entry_files(cache) == ["elsewhere"]


@pytest.mark.parametrize("damage, reason", [
    (lambda w, r: w.write_bytes(b"not an HDF5 file"), "checksum"),
    (lambda w, r: r.unlink(), "write did not finish"),
    (lambda w, r: r.write_text("{"), "retraining"),
])
def test_a_broken_entry_is_retrained_with_a_warning(cache, trained_entry, damage, reason):
    copy_entry(trained_entry[0], cache)
    weights, record = next(cache.glob("*.weights.h5")), next(cache.glob("*.json"))
    damage(weights, record)
    with pytest.warns(UserWarning, match=reason):
        again = models.get(TINY, verbose=0)
    assert_same_weights(trained_entry[1], again.get_weights())
    assert len(entry_files(cache)) == 2


def test_stale_temporary_files_are_removed_and_fresh_ones_kept(cache, trained_entry,
                                                              monkeypatch):
    copy_entry(trained_entry[0], cache)
    stem = next(cache.glob("*.json")).name[: -len(".json")]
    stale = [f".{stem}.weights.h5.k1ll3d.tmp.weights.h5", f".{stem}.json.k1ll3d.tmp",
             f".{stem}.weights.h5.0ld_f0rm.weights.h5", f".{stem}.json.0ld_f0rm.json"]
    fresh = f".{stem}.weights.h5.wr1t1ng.tmp.weights.h5"
    unrelated = ".keep-me.tmp"
    old = time.time() - models.STALE_SECONDS - 60
    for name in [*stale, fresh, unrelated]:
        (cache / name).write_bytes(b"partial")
    for name in [*stale, unrelated]:
        os.utime(cache / name, (old, old))
    no_training(monkeypatch)
    models.get(TINY)
    left = {p.name for p in cache.iterdir()}
    assert not left & set(stale)
    assert {fresh, unrelated} <= left


def test_a_reader_waits_for_the_writer_instead_of_seeing_half_an_entry(cache, trained_entry,
                                                                      monkeypatch):
    """A writer holds the lock between the weights and the record; the reader must wait."""
    import fcntl

    source = trained_entry[0]
    weights = next(source.glob("*.weights.h5"))
    record = next(source.glob("*.json"))
    stem = record.name[: -len(".json")]
    reader_looks = threading.Event()
    real_tidy = zoo._remove_stale_temporaries

    def tidy(folder):  # the last step before the reader takes the lock
        reader_looks.set()
        return real_tidy(folder)

    monkeypatch.setattr(zoo, "_remove_stale_temporaries", tidy)
    no_training(monkeypatch)
    lock = os.open(cache / f".{stem}.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    shutil.copy2(weights, cache / weights.name)  # the weights are in place, the record not yet
    outcome = {}

    def read():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                outcome["model"] = models.get(TINY)
            except BaseException as err:  # noqa: B036 - pytest.fail raises a BaseException
                outcome["error"] = repr(err)
        outcome["warnings"] = [str(w.message) for w in caught
                               if issubclass(w.category, UserWarning)]

    reader = threading.Thread(target=read, name="reader")
    reader.start()
    assert reader_looks.wait(60)
    time.sleep(0.5)  # give a reader without a lock the time to look at the half entry
    shutil.copy2(record, cache / record.name)
    os.close(lock)
    reader.join(120)
    assert "error" not in outcome, outcome["error"]
    assert outcome["warnings"] == []
    assert_same_weights(trained_entry[1], outcome["model"].get_weights())


_RACER = """
import json, os, sys, time, warnings
from pathlib import Path
from camlib import zoo

import keras  # noqa: F401  (so that the second process reaches the cache at once)

signals, role = Path(sys.argv[1]), sys.argv[2]
config = json.loads(sys.argv[3])
real_train = zoo.train

def train(*args, **kwargs):
    (signals / f"{role}-trains").write_text("")
    while not (signals / "second-calls-get").exists():
        time.sleep(0.05)
    time.sleep(3.0)  # let the second process reach the lock
    return real_train(*args, **kwargs)

zoo.train = train
if role == "second":
    (signals / "second-calls-get").write_text("")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model = zoo.get(config, cache_dir=signals / "cache", verbose=0)
(signals / f"{role}-warnings.json").write_text(json.dumps(
    [str(w.message) for w in caught if issubclass(w.category, UserWarning)]))
(signals / f"{role}-fc.json").write_text(json.dumps(model.get_layer("fc").get_weights()[0]
                                                    .tolist()))
"""


def test_two_processes_on_first_use_train_once(tmp_path):
    script = tmp_path / "racer.py"
    script.write_text(_RACER)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

    def start(role):
        return subprocess.Popen([sys.executable, str(script), str(tmp_path), role,
                                 json.dumps(TINY)], env=env)

    first = start("first")
    while not (tmp_path / "first-trains").exists():
        assert first.poll() is None, "the first process ended before training"
        time.sleep(0.05)
    second = start("second")
    assert first.wait(300) == 0 and second.wait(300) == 0
    assert not (tmp_path / "second-trains").exists()
    for role in ("first", "second"):
        assert json.loads((tmp_path / f"{role}-warnings.json").read_text()) == []
    assert (tmp_path / "first-fc.json").read_text() == (tmp_path / "second-fc.json").read_text()
    assert len(entry_files(tmp_path / "cache")) == 2


def test_invalid_settings_train_and_cache_nothing(cache, monkeypatch):
    no_training(monkeypatch)
    for bad in ({**TINY, "learning_rate": -1.0}, {**TINY, "epochs": 0},
                {**TINY, "batch_size": 0}, {**TINY, "n_train": "64"}):
        with pytest.raises(ValueError):
            models.get(bad)
    assert list(cache.iterdir()) == []


# --- the real zoo model: trained once (about a minute), then loaded from the default cache --


def _cam(model, images):
    features = keras.Model(model.inputs, [model.get_layer("conv_cam").output, model.output])
    maps, probs = features.predict(images, verbose=0)
    weights = model.get_layer("fc").kernel.numpy()[:, probs.argmax(1)]
    return np.einsum("nhwk,kn->nhw", maps, weights), probs.argmax(1)


def _boxes(maps, size, threshold):
    from scipy import ndimage
    from skimage.transform import resize

    boxes = []
    for m in maps:
        up = resize(m, (size, size), order=1, mode="edge")
        keep = up >= threshold * up.max()
        labelled, count = ndimage.label(keep, structure=np.ones((3, 3)))
        largest = np.argmax(ndimage.sum(keep, labelled, range(1, count + 1))) + 1
        ys, xs = np.nonzero(labelled == largest)
        boxes.append((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    return np.array(boxes)


def _iou(a, b):
    inter = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None)
    inter = inter.prod(1)
    area = lambda box: (box[:, 2:] - box[:, :2]).prod(1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.mark.zoo
def test_shapes_gap_zoo_model_classifies_and_localizes():
    model, record = models.get("shapes-gap", return_record=True)
    assert record["val_accuracy"] >= 0.95

    def hit_rate(split, threshold):
        images, _, boxes = models.dataset("shapes-gap", split)
        maps, _ = _cam(model, images)
        return np.mean(_iou(_boxes(maps, images.shape[1], threshold), boxes) >= 0.5)

    thresholds = (0.1, 0.2, 0.3, 0.4, 0.5)
    best = max(thresholds, key=lambda t: hit_rate("val", t))
    assert hit_rate("test", best) >= 0.80  # 0.87 with camlib.localize at its val-tuned 0.35
    assert hit_rate("test", 0.2) >= 0.60  # the paper's 20 % rule; measured 0.65
