"""A sweep of bad input across the zoo, the architectures and the seed studies.

Each case is (function, arguments, a fragment of the expected message). Every case must
end in a ValueError that names what was wrong; none may train or cache anything, so the
whole sweep runs in seconds. The count of cases per function is in ``CASES``'s ids.
"""

import math

import numpy as np
import pytest

pytest.importorskip("keras")

from camlib import architectures, seeds, zoo  # noqa: E402

TINY = {"n_train": 64, "n_val": 32, "n_test": 32, "epochs": 1,
        "model_kwargs": {"width": 4, "depth": 2}}
RNG = np.random.default_rng(0)
IMAGES = RNG.random((4, 16, 16, 3)).astype(np.float32)
ONEHOT = np.eye(4, dtype=np.float32)


def tiny(changes=None, **more):
    return {**TINY, **(changes or {}), **more}


def _config_cases():
    bad = [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -1e-3}, "learning_rate"),
        ({"learning_rate": math.nan}, "learning_rate"),
        ({"learning_rate": math.inf}, "learning_rate"),
        ({"learning_rate": "0.001"}, "learning_rate"),
        ({"learning_rate": None}, "learning_rate"),
        ({"learning_rate": True}, "learning_rate"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": -2}, "epochs"),
        ({"epochs": 1.5}, "epochs"),
        ({"epochs": "1"}, "epochs"),
        ({"epochs": np.float64(2.0)}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": None}, "batch_size"),
        ({"batch_size": math.inf}, "batch_size"),
        ({"n_train": 0}, "n_train"),
        ({"n_val": 0}, "n_val"),
        ({"n_test": -1}, "n_test"),
        ({"n_train": "64"}, "n_train"),
        ({"n_train": True}, "n_train"),
        ({"seed": -1}, "seed"),
        ({"seed": 0.5}, "seed"),
        ({"seed": None}, "seed"),
        ({"augment": "mixup"}, "augment"),
        ({"augment": ["cutmix"]}, "augment"),
        ({"dataset": "mnist"}, "dataset"),
        ({"dataset": None}, "dataset"),
        ({"dataset": ["shapes"]}, "dataset"),
        ({"model": "resnet"}, "model"),
        ({"model": 3}, "model"),
        ({"dataset_kwargs": {"n": 10}}, "n_train"),
        ({"dataset_kwargs": {"seed": 3}}, "seed"),
        ({"dataset_kwargs": {"colour": "red"}}, "unknown keys"),
        ({"dataset_kwargs": {"return_masks": True}}, "unknown keys"),
        ({"dataset_kwargs": "clutter"}, "dict"),
        ({"dataset_kwargs": {"scale": np.array([0.1, 0.2])}}, "ndarray"),
        ({"dataset_kwargs": {"scale": (0.1, math.nan)}}, "finite"),
        ({"model_kwargs": {"input_shape": (32, 32, 3)}}, "input shape"),
        ({"model_kwargs": {"n_classes": 3}}, "number of"),
        ({"model_kwargs": {"num_input_channels": 8}}, "unknown keys"),
        ({"model_kwargs": None}, "dict"),
        ({"model": "vggcam", "model_kwargs": {"weights": "imagenet"}}, "weights"),
        ({"model_kwargs": {"pooling": max}}, "function"),
        ({"name": ""}, "name"),
        ({"name": 3}, "name"),
        ({"name": "../elsewhere"}, "name"),
        ({"epochz": 3}, "unknown config keys"),
        ({1: 3}, "unknown config keys"),
    ]
    return [(tiny(changes), fragment) for changes, fragment in bad] + [
        ("no-such-model", "unknown model"),
        (None, "zoo name or a config dict"),
        (3, "zoo name or a config dict"),
        (["shapes-gap"], "zoo name or a config dict"),
    ]


CONFIG_CASES = _config_cases()

CASES = (
    [pytest.param(zoo.config, (cfg,), {}, fragment, id=f"config-{i}")
     for i, (cfg, fragment) in enumerate(CONFIG_CASES)]
    # train, get and cache_key check through config before anything else.
    + [pytest.param(zoo.train, (cfg,), {"verbose": 0}, fragment, id=f"train-{i}")
       for i, (cfg, fragment) in enumerate(CONFIG_CASES[:12])]
    + [pytest.param(zoo.get, (cfg,), {}, fragment, id=f"get-{i}")
       for i, (cfg, fragment) in enumerate(CONFIG_CASES[:12])]
    + [pytest.param(zoo.cache_key, (cfg,), {}, fragment, id=f"cache_key-{i}")
       for i, (cfg, fragment) in enumerate(CONFIG_CASES[-6:])]
    + [pytest.param(zoo.is_cached, (cfg,), {}, fragment, id=f"is_cached-{i}")
       for i, (cfg, fragment) in enumerate(CONFIG_CASES[-6:])]
    + [
        pytest.param(zoo.train, (TINY,), {"verbose": 3}, "verbose", id="train-verbose-3"),
        pytest.param(zoo.train, (TINY,), {"verbose": "loud"}, "verbose", id="train-verbose-s"),
        pytest.param(zoo.get, (TINY,), {"verbose": -1}, "verbose", id="get-verbose"),
        pytest.param(zoo.get, (TINY,), {"return_record": "yes"}, "return_record",
                     id="get-return_record"),
        pytest.param(zoo.get, (TINY,), {"cache_dir": 3}, "cache_dir", id="get-cache_dir"),
        pytest.param(zoo.cache_dir, (3.5,), {}, "cache_dir", id="cache_dir-number"),
        pytest.param(zoo.cache_dir, ([],), {}, "cache_dir", id="cache_dir-list"),
        pytest.param(zoo.dataset, ("shapes-gap", "dev"), {}, "split", id="dataset-split"),
        pytest.param(zoo.dataset, ("shapes-gap", None), {}, "split", id="dataset-split-none"),
        pytest.param(zoo.dataset, ("shapes-gap", "val"), {"n": 0}, "n=", id="dataset-n-0"),
        pytest.param(zoo.dataset, ("shapes-gap", "val"), {"n": -3}, "n=", id="dataset-n-neg"),
        pytest.param(zoo.dataset, ("shapes-gap", "val"), {"n": 2.5}, "n=", id="dataset-n-float"),
        pytest.param(zoo.dataset, ("shapes-gap", "val"), {"cue": "random"}, "unknown keys",
                     id="dataset-lanes-only-argument"),
        pytest.param(zoo.dataset, ("shapes-gap", "val"), {"return_masks": True},
                     "return_info=True", id="dataset-return_masks"),
        pytest.param(zoo.dataset, ("shapes-gap", "val"), {"return_info": "yes"},
                     "return_info", id="dataset-return_info"),
        pytest.param(zoo.dataset, ("lanes-gap", "val"), {"cue": "sometimes", "n": 4}, "cue",
                     id="dataset-bad-cue"),
        pytest.param(zoo.split_seed, ("shapes-gap", "all"), {}, "split", id="split_seed"),
        pytest.param(zoo.build, (tiny(model_kwargs={"pooling": "sum"}),), {}, "pooling",
                     id="build-pooling"),
        pytest.param(zoo.build, (tiny(model_kwargs={"width": 0}),), {}, "width",
                     id="build-width"),
        pytest.param(zoo.build, (tiny(model_kwargs={"depth": 0}),), {}, "depth",
                     id="build-depth"),
        pytest.param(zoo.build, (tiny(model_kwargs={"downsample": 6}),), {}, "too small",
                     id="build-downsample"),
        pytest.param(zoo.build, (tiny(dataset_kwargs={"size": 6}),), {}, "too small",
                     id="build-size"),
        pytest.param(zoo.cutmix, (IMAGES[0], ONEHOT, RNG), {}, "(N, H, W, C)",
                     id="cutmix-one-image"),
        pytest.param(zoo.cutmix, (IMAGES[:0], ONEHOT[:0], RNG), {}, "non-empty",
                     id="cutmix-empty"),
        pytest.param(zoo.cutmix, (IMAGES, ONEHOT[:3], RNG), {}, "one row per image",
                     id="cutmix-rows"),
        pytest.param(zoo.cutmix, (IMAGES, np.arange(4), RNG), {}, "(N, K)",
                     id="cutmix-labels"),
        pytest.param(zoo.cutmix, (IMAGES, ONEHOT, 3), {}, "Generator", id="cutmix-rng-int"),
        pytest.param(zoo.cutmix, (IMAGES, ONEHOT, np.random.RandomState(0)), {}, "Generator",
                     id="cutmix-rng-legacy"),
        pytest.param(zoo.cutmix, (IMAGES, ONEHOT, RNG), {"alpha": 0}, "alpha",
                     id="cutmix-alpha-0"),
        pytest.param(zoo.cutmix, (IMAGES, ONEHOT, RNG), {"alpha": math.nan}, "alpha",
                     id="cutmix-alpha-nan"),
        pytest.param(zoo.cutmix, (IMAGES, ONEHOT, RNG), {"alpha": "1"}, "alpha",
                     id="cutmix-alpha-str"),
    ]
    + [pytest.param(builder, args, kwargs, fragment, id=f"{builder.__name__}-{name}")
       for builder in (architectures.gap_cnn, architectures.vggcam)
       for name, args, kwargs, fragment in [
           ("one-class", ((64, 64, 3), 1), {}, "at least 2"),
           ("zero-classes", ((64, 64, 3), 0), {}, "at least 2"),
           ("float-classes", ((64, 64, 3), 2.5), {}, "n_classes"),
           ("str-classes", ((64, 64, 3), "4"), {}, "n_classes"),
           ("bool-classes", ((64, 64, 3), True), {}, "n_classes"),
           ("old-order", (4, (64, 64, 3)), {}, "(input_shape, n_classes"),
           ("shape-2d", ((64, 64), 4), {}, "(height, width, channels)"),
           ("shape-str", ("64x64", 4), {}, "(height, width, channels)"),
           ("shape-none", (None, 4), {}, "(height, width, channels)"),
           ("shape-zero", ((64, 0, 3), 4), {}, "at least 1"),
           ("shape-float", ((64.5, 64, 3), 4), {}, "integer"),
           ("shape-tiny", ((4, 4, 3), 4), {}, "too small"),
           ("cam-channels-0", ((64, 64, 3), 4), {"cam_channels": 0}, "cam_channels"),
           ("cam-channels-str", ((64, 64, 3), 4), {"cam_channels": "8"}, "cam_channels"),
       ]]
    + [
        pytest.param(architectures.gap_cnn, ((64, 64, 3), 4), {"pooling": "sum"}, "pooling",
                     id="gap_cnn-pooling"),
        pytest.param(architectures.gap_cnn, ((64, 64, 3), 4), {"width": 2.5}, "width",
                     id="gap_cnn-width-float"),
        pytest.param(architectures.gap_cnn, ((64, 64, 3), 4), {"downsample": -1}, "downsample",
                     id="gap_cnn-downsample"),
        pytest.param(architectures.gap_cnn, ((64, 64, 3), 4), {"depth": 0}, "depth",
                     id="gap_cnn-depth"),
        pytest.param(architectures.vggcam, ((64, 64, 3), 4), {"width": 0}, "width",
                     id="vggcam-width-0"),
        pytest.param(architectures.vggcam, ((64, 64, 3), 4), {"width": 5}, "width",
                     id="vggcam-width-5"),
        pytest.param(architectures.vggcam, ((64, 64, 3), 4), {"width": math.nan}, "width",
                     id="vggcam-width-nan"),
        pytest.param(architectures.vggcam, ((64, 64, 3), 4), {"width": "1"}, "width",
                     id="vggcam-width-str"),
        pytest.param(architectures.vggcam, ((64, 64, 3), 4), {"weights": "random"}, "weights",
                     id="vggcam-weights"),
        pytest.param(architectures.vggcam, ((64, 64, 1), 4), {"weights": "imagenet"},
                     "3 input channels", id="vggcam-imagenet-grey"),
        pytest.param(architectures.vgg16_for_images, ((64, 64, 3), 4), {}, "no classifier",
                     id="vgg16-classes"),
        pytest.param(architectures.vgg16_for_images, ((64, 64, 1),), {}, "3 (RGB)",
                     id="vgg16-grey"),
        pytest.param(architectures.vgg16_for_images, ((16, 16, 3),), {}, "too small",
                     id="vgg16-small"),
        pytest.param(architectures.vgg16_for_images, (), {"imagenet": "yes"}, "imagenet",
                     id="vgg16-imagenet-str"),
        pytest.param(seeds.variant, ("no-such-model", 1), {}, "unknown model",
                     id="variant-name"),
        pytest.param(seeds.variant, ("shapes-gap", -1), {}, "seeds", id="variant-seed"),
        pytest.param(seeds.variant, ("shapes-gap", 1), {"epochs": 0}, "epochs",
                     id="variant-epochs"),
        pytest.param(seeds.models, ("shapes-gap",), {"seeds": 3}, "list of seeds",
                     id="models-seeds-int"),
        pytest.param(seeds.models, ("shapes-gap",), {"seeds": [0], "learning_rate": -1},
                     "learning_rate", id="models-learning-rate"),
        pytest.param(seeds.test_set, ("shapes-gap",), {"n": 0}, "n=", id="test_set-n"),
        pytest.param(seeds.seed_table, ({0: 1.0},), {}, "named numbers",
                     id="seed_table-numbers"),
        pytest.param(seeds.seed_table, ({0: {"a": 1.0}, 1: {"b": 2.0}},), {}, "same names",
                     id="seed_table-names"),
    ]
)


@pytest.mark.parametrize("function, args, kwargs, fragment", CASES)
def test_bad_input_is_refused_with_a_clear_message(function, args, kwargs, fragment,
                                                  tmp_path, monkeypatch):
    monkeypatch.setenv("CAMLIB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(zoo, "train", _must_not_train(zoo.train, function))
    with pytest.raises(ValueError) as err:
        function(*args, **kwargs)
    assert fragment in str(err.value)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


def _must_not_train(real_train, function):
    if function is zoo.train:
        return real_train  # a bad setting must stop train before it makes any data

    def refuse(*args, **kwargs):
        pytest.fail("a bad setting reached training")

    return refuse


def test_the_sweep_covers_every_public_function():
    swept = {param.values[0] for param in CASES}
    public = {getattr(zoo, name) for name in zoo.__all__ if callable(getattr(zoo, name))
              and not isinstance(getattr(zoo, name), dict)}
    public |= {getattr(architectures, name) for name in ("gap_cnn", "vggcam",
                                                         "vgg16_for_images")}
    public |= {getattr(seeds, name) for name in ("variant", "models", "test_set",
                                                 "seed_table")}
    assert public <= swept, public - swept
