"""Tests of camlib.models: architectures, deterministic training, the cache, the zoo."""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from camlib import models  # noqa: E402

TINY = {"n_train": 64, "n_val": 32, "n_test": 32, "epochs": 1, "batch_size": 32,
        "model_kwargs": {"width": 4, "depth": 2}}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMLIB_CACHE_DIR", str(tmp_path))
    return tmp_path


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
    model = models.vggcam(5, input_shape=(64, 64, 3), width=0.125)
    names = [layer.name for layer in model.layers]
    convs = [n for n in names if n.startswith("block") and "conv" in n]
    assert convs[0] == "block1_conv1" and convs[-1] == "block5_conv3" and len(convs) == 13
    assert "block4_pool" in names and "block5_pool" not in names
    assert [model.get_layer(f"block{b}_conv1").filters for b in range(1, 6)] == [8, 16, 32, 64, 64]
    assert model.get_layer("conv_cam").output.shape == (None, 4, 4, 128)
    assert names[-2:] == ["gap", "fc"]
    assert model.get_layer("fc").count_params() == 128 * 5 + 5


def test_vggcam_full_size_structure():
    model = models.vggcam(10)  # the slides' network: 224×224 input, 14×14 map, 1024 channels
    assert model.get_layer("conv_cam").output.shape == (None, 14, 14, 1024)
    assert model.get_layer("fc").count_params() == 1024 * 10 + 10


def test_vggcam_imagenet_offline_fails_clearly(monkeypatch):
    def no_internet(*args, **kwargs):
        raise OSError("URL fetch failure: no route to host")

    monkeypatch.setattr(keras.applications, "VGG16", no_internet)
    with pytest.raises(RuntimeError, match="internet") as err:
        models.vggcam(2, weights="imagenet")
    assert "weights=None" in str(err.value) and "shapes-vggcam" in str(err.value)


def test_vggcam_imagenet_needs_the_full_width():
    with pytest.raises(ValueError, match="width=1.0"):
        models.vggcam(2, weights="imagenet", width=0.5)


def test_config_rejects_unknown_names_and_keys():
    with pytest.raises(ValueError, match="unknown model"):
        models.config("no-such-model")
    with pytest.raises(ValueError, match="unknown config keys"):
        models.config({"epochz": 3})


def test_zoo_has_the_documented_models():
    assert {"shapes-gap", "shapes-gmp", "lanes-gap", "shapes-vggcam"} <= set(models.ZOO)
    for name in models.ZOO:
        models.config(name)


def test_dataset_splits_are_distinct_and_reproducible():
    train = models.dataset("shapes-gap", "train", n=20)[0]
    val = models.dataset("shapes-gap", "val", n=20)[0]
    np.testing.assert_array_equal(val, models.dataset("shapes-gap", "val", n=20)[0])
    assert not np.array_equal(train, val)
    with pytest.raises(ValueError, match="split"):
        models.dataset("shapes-gap", "dev")


def test_training_is_deterministic():
    first, _ = models.train(TINY, verbose=0)
    second, _ = models.train(TINY, verbose=0)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_cutmix_config_trains():
    model, record = models.train({**TINY, "augment": "cutmix"}, verbose=0)
    assert 0 <= record["val_accuracy"] <= 1


def test_cache_trains_once_then_loads(cache, monkeypatch):
    model, record = models.get(TINY, return_record=True)
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 2 and any(f.endswith(".weights.h5") for f in files)
    sidecar = json.loads(next(cache.glob("*.json")).read_text())
    assert {"key", "val_accuracy", "train_seconds"} <= set(sidecar)

    monkeypatch.setattr(models, "train", lambda *a, **k: pytest.fail("retrained a cached model"))
    again = models.get(TINY)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_cache_dir_argument_wins(tmp_path, cache):
    models.get(TINY, cache_dir=tmp_path / "elsewhere")
    assert list((tmp_path / "elsewhere").glob("*.weights.h5"))


def test_corrupt_cache_entry_is_retrained_with_a_warning(cache):
    model = models.get(TINY)
    weights = next(cache.glob("*.weights.h5"))
    weights.write_bytes(b"not an HDF5 file")
    with pytest.warns(UserWarning, match="retraining"):
        again = models.get(TINY)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_changed_config_changes_the_key():
    assert models.cache_key(TINY) == models.cache_key(dict(TINY))
    assert models.cache_key(TINY) != models.cache_key({**TINY, "epochs": 2})
    assert models.cache_key(TINY) != models.cache_key({**TINY, "dataset_kwargs": {"clutter": False}})


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
    inter = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None).prod(1)
    area = lambda box: (box[:, 2:] - box[:, :2]).prod(1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


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
