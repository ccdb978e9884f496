"""Models with a CAM-ready head, and a zoo of small ones trained on camlib's own data.

- :func:`gap_cnn`: a small CNN whose last convolution ``conv_cam`` feeds global average
  (or max) pooling and one Dense layer ``fc``: the head that CAM needs.
- :func:`vggcam`: the slides' VGGCAM, VGG16's convolutional blocks plus ``conv_cam``, GAP
  and ``fc``; ``width`` scales it down so that it trains on a CPU.
- :func:`get`: a trained model from ``ZOO``, trained once, deterministically, then cached.
- :func:`train` and :func:`dataset`: the same machinery for a custom configuration.

Every model here ends ``conv_cam`` (ReLU) → ``gap``/``gmp`` → ``fc`` (Dense, softmax):
exactly the network of Zhou et al. (2016), so ``M_c = Σ_k w_k^c f_k`` can be read off
``conv_cam``'s output and ``fc``'s kernel.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from camlib import data

# ----------------------------------------------------------------------------------------
# Architectures
# ----------------------------------------------------------------------------------------


def _keras():
    import keras

    return keras


def gap_cnn(input_shape=(64, 64, 3), n_classes=4, *, pooling="avg", width=16, downsample=2,
            depth=4, cam_channels=None):
    """A small CNN with the CAM head: convolutions → ``conv_cam`` → ``gap``/``gmp`` → ``fc``.

    The input, in [0, 1], is first centred to [-1, 1]. Then come ``downsample`` blocks of
    a 3×3 convolution and a 2×2 max pool (block ``i`` has ``width·2^(i-1)`` channels),
    ``depth`` 3×3 convolutions at the final resolution (``block{downsample+1}_conv1`` …,
    the last one named ``conv_cam``; all ReLU), global pooling and one Dense softmax layer
    ``fc``. The stack at the final resolution gives ``conv_cam`` a receptive field wider
    than the objects, so every pixel of an object can vote for its class. The class activation map therefore has
    ``1 / 2**downsample`` of the input's resolution: 16×16 for a 64×64 input with the
    default ``downsample=2``. Coarser maps localize worse: on 64×64 shapes an 8×8 map
    draws boxes far larger than the object.

    Parameters
    ----------
    input_shape : (height, width, channels).
    n_classes : number of classes.
    pooling : ``"avg"`` (global average pooling, layer ``gap``: CAM's choice) or ``"max"``
        (global max pooling, layer ``gmp``: for the GAP-vs-GMP comparison).
    width : channels of the first block.
    downsample : number of 2×2 poolings.
    depth : convolutions at the final resolution, ``conv_cam`` included.
    cam_channels : channels of ``conv_cam`` (default ``width·2^downsample``).

    Example
    -------
    >>> model = gap_cnn((64, 64, 3), 4)
    >>> model.get_layer("conv_cam").output.shape, model.output.shape
    ((None, 16, 16, 64), (None, 4))
    """
    keras = _keras()
    layers = keras.layers
    if pooling not in ("avg", "max"):
        raise ValueError(f'pooling={pooling!r} must be "avg" (GAP) or "max" (GMP)')
    if len(input_shape) != 3 or min(input_shape[:2]) < 2 ** (downsample + 1):
        raise ValueError(
            f"input_shape={tuple(input_shape)} must be (height, width, channels) with sides of at "
            f"least {2 ** (downsample + 1)} pixels for downsample={downsample}"
        )
    if n_classes < 2:
        raise ValueError(f"n_classes={n_classes} must be at least 2")

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Rescaling(2.0, offset=-1.0, name="centre")(inputs)  # [0, 1] -> [-1, 1]
    for block in range(1, downsample + 1):
        x = layers.Conv2D(width * 2 ** (block - 1), 3, padding="same", activation="relu", kernel_initializer="he_normal",
                          name=f"block{block}_conv")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    channels = width * 2**downsample
    for conv in range(1, depth):
        x = layers.Conv2D(channels, 3, padding="same", activation="relu", kernel_initializer="he_normal",
                          name=f"block{downsample + 1}_conv{conv}")(x)
    x = layers.Conv2D(cam_channels or channels, 3, padding="same", activation="relu", kernel_initializer="he_normal",
                      name="conv_cam")(x)
    if pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="gap")(x)
    else:
        x = layers.GlobalMaxPooling2D(name="gmp")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="fc")(x)
    model = keras.Model(inputs, outputs, name=f"gap_cnn_{pooling}")
    model.camlib_input_range = (0.0, 1.0)  # checked by camlib.cam, so 0-255 input fails clearly
    return model


_VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def vggcam(nb_classes, num_input_channels=1024, input_shape=(224, 224, 3), *, weights=None,
           width=1.0):
    """VGGCAM: VGG16 without its dense top, then ``conv_cam``, GAP and a softmax layer.

    This is the network on the slides (Zhou et al. 2016, section 3): VGG16's five
    convolutional blocks with their Keras layer names (``block1_conv1`` … ``block5_conv3``,
    pools ``block1_pool`` … ``block4_pool``), **without** ``block5_pool`` so that the map
    stays 14×14 on a 224×224 input, then ``conv_cam`` (3×3, ``num_input_channels``
    filters, ReLU), ``gap`` (GlobalAveragePooling2D) and ``fc`` (Dense, softmax). The
    slides call the last two ``avg_pool``/``flatten`` and ``fc_cam``; GAP is the same
    computation as their 14×14 average pool followed by a flatten.

    Parameters
    ----------
    nb_classes : number of classes.
    num_input_channels : filters of ``conv_cam`` (the slides' 1024), before ``width``.
    input_shape : (height, width, channels); the CAM is 1/16 of the input's side.
    weights : ``None`` (random initialisation) or ``"imagenet"`` to copy VGG16's
        ImageNet convolution weights. That needs internet access (e.g. on Colab),
        ``width=1.0`` and 3 input channels; feed such a model images prepared with
        ``keras.applications.vgg16.preprocess_input``. Only ``conv_cam`` and ``fc`` start
        untrained.
    width : scales every channel count, so that the same layout trains on a CPU:
        ``width=0.125`` gives blocks of 8, 16, 32, 64, 64 channels and 128 in ``conv_cam``.

    Example
    -------
    >>> model = vggcam(4, input_shape=(64, 64, 3), width=0.125)
    >>> model.get_layer("conv_cam").output.shape, model.output.shape
    ((None, 4, 4, 128), (None, 4))
    """
    keras = _keras()
    layers = keras.layers
    if weights not in (None, "imagenet"):
        raise ValueError(f'weights={weights!r} must be None or "imagenet"')
    if weights == "imagenet" and (width != 1.0 or tuple(input_shape)[-1] != 3):
        raise ValueError(
            "ImageNet weights fit only the full-size VGG16: use width=1.0 and 3 input "
            f"channels (got width={width}, input_shape={tuple(input_shape)}), or weights=None"
        )
    if not 0 < width <= 4:
        raise ValueError(f"width={width} must be in (0, 4]; 1.0 is VGG16's own size")
    if len(input_shape) != 3 or min(input_shape[:2]) < 16:
        raise ValueError(f"input_shape={tuple(input_shape)} must be (height, width, channels), sides >= 16")

    def scaled(channels):
        return max(1, round(channels * width))

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for block, (channels, convs) in enumerate(_VGG16_BLOCKS, start=1):
        for conv in range(1, convs + 1):
            x = layers.Conv2D(scaled(channels), 3, padding="same", activation="relu", kernel_initializer="he_normal",
                              name=f"block{block}_conv{conv}")(x)
        if block < 5:
            x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    x = layers.Conv2D(scaled(num_input_channels), 3, padding="same", activation="relu", kernel_initializer="he_normal",
                      name="conv_cam")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(nb_classes, activation="softmax", name="fc")(x)
    model = keras.Model(inputs, outputs, name="vggcam")
    if weights is None:  # ImageNet weights expect preprocess_input's range instead
        model.camlib_input_range = (0.0, 1.0)

    if weights == "imagenet":
        try:
            vgg16 = keras.applications.VGG16(include_top=False, weights="imagenet",
                                             input_shape=tuple(input_shape))
        except Exception as err:
            raise RuntimeError(
                "Could not download VGG16's ImageNet weights: they need internet access "
                "(run this on Colab, or on a machine that can reach storage.googleapis.com). "
                "Offline, use weights=None and train it, or take a trained model from the "
                "zoo: camlib.models.get('shapes-vggcam')."
            ) from err
        for layer in vgg16.layers:
            if layer.name.startswith("block") and layer.weights:
                model.get_layer(layer.name).set_weights(layer.get_weights())
    return model


# ----------------------------------------------------------------------------------------
# Data splits and training
# ----------------------------------------------------------------------------------------

DATASETS = {"shapes": data.shapes, "lanes": data.lane_scenes}
CLASSES = {"shapes": data.SHAPE_CLASSES, "lanes": data.LANE_CLASSES}
BUILDERS = {"gap_cnn": gap_cnn, "vggcam": vggcam}
SPLITS = ("train", "val", "test")

_DEFAULTS = {
    "dataset": "shapes",
    "dataset_kwargs": {},
    "model": "gap_cnn",
    "model_kwargs": {},
    "n_train": 3000,
    "n_val": 600,
    "n_test": 600,
    "epochs": 10,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "augment": None,
    "seed": 0,
}

ZOO = {
    # Twice the images for half the epochs of the defaults: the same number of training
    # steps. With seed 0 the GAP model's boxes reach IoU ≥ 0.5 on 87 % of the test images
    # at the threshold tuned on val (73 % with 3000 images × 12 epochs); other seeds vary.
    "shapes-gap": {"dataset": "shapes", "model_kwargs": {"pooling": "avg"}, "n_train": 6000,
                   "epochs": 6},
    "shapes-gmp": {"dataset": "shapes", "model_kwargs": {"pooling": "max"}, "n_train": 6000,
                   "epochs": 6},
    "lanes-gap": {"dataset": "lanes", "model_kwargs": {"pooling": "avg"}, "epochs": 6},
    "shapes-vggcam": {"dataset": "shapes", "model": "vggcam", "model_kwargs": {"width": 0.125},
                      "epochs": 12},
}
"""Configurations of the trained models that :func:`get` serves, by name.

Keys a configuration may set (anything missing takes the default in ``_DEFAULTS``):
``dataset`` (a key of ``DATASETS``), ``dataset_kwargs`` (passed to the dataset function
for every split), ``model`` (a key of ``BUILDERS``), ``model_kwargs``, ``n_train``,
``n_val``, ``n_test``, ``epochs``, ``batch_size``, ``learning_rate``, ``augment``
(``None`` or ``"cutmix"``) and ``seed``.
"""


def config(name_or_config):
    """The complete configuration of a zoo name or of a partial config dict.

    Example
    -------
    >>> config("shapes-gap")["dataset"]
    'shapes'
    >>> config({"dataset": "lanes", "epochs": 3})["epochs"]
    3
    """
    if isinstance(name_or_config, str):
        if name_or_config not in ZOO:
            raise ValueError(f"unknown model {name_or_config!r}; the zoo has {', '.join(ZOO)}")
        partial = dict(ZOO[name_or_config], name=name_or_config)
    elif isinstance(name_or_config, dict):
        partial = copy.deepcopy(name_or_config)
    else:
        raise ValueError(f"expected a zoo name or a config dict, got {type(name_or_config).__name__}")
    unknown = set(partial) - set(_DEFAULTS) - {"name"}
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; allowed: {sorted(_DEFAULTS)}")
    full = {**copy.deepcopy(_DEFAULTS), **partial}
    if full["dataset"] not in DATASETS:
        raise ValueError(f"dataset={full['dataset']!r} must be one of {', '.join(DATASETS)}")
    if full["model"] not in BUILDERS:
        raise ValueError(f"model={full['model']!r} must be one of {', '.join(BUILDERS)}")
    if full["augment"] not in (None, "cutmix"):
        raise ValueError(f'augment={full["augment"]!r} must be None or "cutmix"')
    return full


def dataset(name_or_config, split, **overrides):
    """The exact images, labels and boxes of one split of a model's data.

    ``split`` is ``"train"``, ``"val"`` or ``"test"``; each split has its own seed, so the
    three never share an image. ``overrides`` replace dataset keyword arguments, e.g.
    ``cue="random"`` to test a model trained with a shortcut on data without one, or
    ``n=100`` for fewer images.

    Example
    -------
    >>> images, labels, boxes = dataset("shapes-gap", "val", n=10)
    >>> images.shape
    (10, 64, 64, 3)
    """
    cfg = config(name_or_config)
    if split not in SPLITS:
        raise ValueError(f"split={split!r} must be one of {', '.join(SPLITS)}")
    kwargs = {**cfg["dataset_kwargs"], **overrides}
    kwargs.setdefault("n", cfg[f"n_{split}"])
    kwargs.setdefault("seed", 1000 * cfg["seed"] + 1 + SPLITS.index(split))
    return DATASETS[cfg["dataset"]](**kwargs)[:3]


def build(name_or_config):
    """An untrained model with the architecture of a zoo name or config.

    Example
    -------
    >>> build("shapes-gap").get_layer("fc").units
    4
    """
    cfg = config(name_or_config)
    size = cfg["dataset_kwargs"].get("size", 64)
    kwargs = dict(cfg["model_kwargs"])
    n_classes = len(CLASSES[cfg["dataset"]])
    if cfg["model"] == "vggcam":
        return vggcam(n_classes, input_shape=(size, size, 3), **kwargs)
    return BUILDERS[cfg["model"]]((size, size, 3), n_classes, **kwargs)


def _cutmix(images, onehot, rng, alpha=1.0):
    """CutMix (Yun et al. 2019): paste a box from a shuffled partner, mix labels by area."""
    n, height, width = images.shape[:3]
    partner = rng.permutation(n)
    lam = rng.beta(alpha, alpha, n)
    cut_h, cut_w = (height * np.sqrt(1 - lam)).astype(int), (width * np.sqrt(1 - lam)).astype(int)
    cy, cx = rng.integers(0, height, n), rng.integers(0, width, n)
    y0, y1 = np.clip(cy - cut_h // 2, 0, height), np.clip(cy + cut_h // 2, 0, height)
    x0, x1 = np.clip(cx - cut_w // 2, 0, width), np.clip(cx + cut_w // 2, 0, width)
    yy, xx = np.arange(height)[None, :, None], np.arange(width)[None, None, :]
    inside = (yy >= y0[:, None, None]) & (yy < y1[:, None, None]) & (xx >= x0[:, None, None]) & (
        xx < x1[:, None, None]
    )
    mixed = np.where(inside[..., None], images[partner], images)
    kept = 1 - inside.mean(axis=(1, 2))
    labels = kept[:, None] * onehot + (1 - kept[:, None]) * onehot[partner]
    return mixed.astype(np.float32), labels.astype(np.float32)


def _resolve_verbose(verbose):
    if verbose != "auto":
        return int(verbose)
    try:
        from IPython import get_ipython
    except ImportError:
        return 0
    return 2 if get_ipython() is not None else 0  # one line per epoch in a notebook


def train(name_or_config, *, verbose="auto"):
    """Train a model from a zoo name or config, deterministically, without any cache.

    Seeds NumPy, Python and TensorFlow with the config's ``seed`` and turns on
    TensorFlow's deterministic ops, so that the same config gives the same weights.
    Returns ``(model, record)``; ``record`` holds ``val_accuracy``, ``train_seconds`` and
    the per-epoch ``history``. Use :func:`get` to train once and reuse the result.

    Example
    -------
    >>> model, record = train({"n_train": 64, "n_val": 32, "epochs": 1}, verbose=0)
    >>> 0 <= record["val_accuracy"] <= 1
    True
    """
    import keras
    import tensorflow as tf

    cfg = config(name_or_config)
    keras.utils.set_random_seed(cfg["seed"])
    tf.config.experimental.enable_op_determinism()
    n_classes = len(CLASSES[cfg["dataset"]])
    x_train, y_train, _ = dataset(cfg, "train")
    x_val, y_val, _ = dataset(cfg, "val")
    onehot_train, onehot_val = np.eye(n_classes, dtype=np.float32)[y_train], np.eye(
        n_classes, dtype=np.float32
    )[y_val]

    model = build(cfg)
    model.compile(
        optimizer=keras.optimizers.Adam(cfg["learning_rate"]),
        loss="categorical_crossentropy",
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    verbose = _resolve_verbose(verbose)
    rng = np.random.default_rng(cfg["seed"])
    history = {}
    start = time.perf_counter()
    if cfg["augment"] == "cutmix":
        for epoch in range(cfg["epochs"]):
            x_mixed, y_mixed = _cutmix(x_train, onehot_train, rng)
            fitted = model.fit(x_mixed, y_mixed, batch_size=cfg["batch_size"], epochs=epoch + 1,
                               initial_epoch=epoch, validation_data=(x_val, onehot_val),
                               verbose=verbose)
            for key, values in fitted.history.items():
                history.setdefault(key, []).extend(values)
    else:
        history = model.fit(x_train, onehot_train, batch_size=cfg["batch_size"],
                            epochs=cfg["epochs"], validation_data=(x_val, onehot_val),
                            verbose=verbose).history
    seconds = time.perf_counter() - start
    val_accuracy = float(np.mean(model.predict(x_val, verbose=0).argmax(1) == y_val))
    record = {
        "config": cfg,
        "val_accuracy": val_accuracy,
        "train_seconds": round(seconds, 2),
        "history": {k: [float(v) for v in vs] for k, vs in history.items()},
    }
    return model, record


# ----------------------------------------------------------------------------------------
# The cache
# ----------------------------------------------------------------------------------------


def cache_dir(path=None):
    """The folder of cached models: ``path``, else ``$CAMLIB_CACHE_DIR``, else ``~/.cache/camlib``.

    Example
    -------
    >>> cache_dir("/tmp/camlib-cache").name
    'camlib-cache'
    """
    chosen = path or os.environ.get("CAMLIB_CACHE_DIR") or Path.home() / ".cache" / "camlib"
    return Path(chosen).expanduser()


def _source_hash():
    digest = hashlib.sha256()
    for module in (data.__file__, __file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()


def cache_key(name_or_config):
    """A hash of everything that shapes the weights: the config, camlib's data and model
    code, and the Keras and TensorFlow versions.

    Example
    -------
    >>> cache_key("shapes-gap") == cache_key("shapes-gap")
    True
    >>> cache_key("shapes-gap") == cache_key({**ZOO["shapes-gap"], "epochs": 1})
    False
    """
    import keras
    import tensorflow as tf

    cfg = config(name_or_config)
    cfg.pop("name", None)  # a zoo name is only a label: the same config shares one entry
    payload = {
        "config": cfg,
        "source": _source_hash(),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _atomic_write(path, write):
    """Write through ``write(tmp_path)`` into a temp file beside ``path``, then rename."""
    suffix = ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _entry(name_or_config, cache):
    cfg = config(name_or_config)
    key = cache_key(cfg)
    stem = f"{cfg.get('name', 'custom')}-{key[:16]}"
    folder = cache_dir(cache)
    return cfg, key, folder / f"{stem}.weights.h5", folder / f"{stem}.json"


def _load(cfg, key, weights_path, record_path):
    """The cached model and record, or None; a broken entry is reported, never trusted."""
    if not weights_path.exists() and not record_path.exists():
        return None
    try:
        record = json.loads(record_path.read_text())
        if record.get("key") != key:
            raise ValueError("its key does not match this config and code")
        if record.get("weights_sha256") != _sha256(weights_path):
            raise ValueError("the weights file does not match its checksum")
        model = build(cfg)
        model.load_weights(weights_path)
        return model, record
    except Exception as err:  # any failure means: do not trust this entry
        warnings.warn(f"ignoring the cached model {weights_path.name} ({err}); retraining it",
                      stacklevel=3)
        return None


def get(name, *, cache_dir=None, verbose="auto", return_record=False):
    """A trained model from the zoo (or a config dict), trained on first use, then cached.

    The first call trains deterministically (see :func:`train`) and writes the weights
    and a JSON record (cache key, validation accuracy, training time) into the cache
    folder (see :func:`cache_dir`); later calls, in any process, load them in a moment.
    The key covers the config, camlib's data and model code and the Keras/TensorFlow
    versions, so a change to any of them trains a fresh model. A corrupt or mismatched
    entry is retrained with a warning.

    Example
    -------
    >>> model = get("shapes-gap")  # doctest: +SKIP
    >>> model, record = get("shapes-gap", return_record=True)  # doctest: +SKIP
    >>> record["val_accuracy"] >= 0.95  # doctest: +SKIP
    True
    """
    cfg, key, weights_path, record_path = _entry(name, cache_dir)
    loaded = _load(cfg, key, weights_path, record_path)
    if loaded is None:
        model, record = train(cfg, verbose=verbose)
        record.update(key=key)
        _store(model, record, weights_path, record_path)
        loaded = model, record
    return loaded if return_record else loaded[0]


def _store(model, record, weights_path, record_path):
    """Cache a trained model; a folder that cannot be written costs the cache, not the model."""
    try:
        weights_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(weights_path, model.save_weights)
        record.update(weights_sha256=_sha256(weights_path))
        _atomic_write(record_path, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1)))
    except OSError as err:
        for path in (weights_path, record_path):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        warnings.warn(
            f"could not cache the trained model in {weights_path.parent} ({err.strerror or err}); "
            "it is used for this session only and will be trained again next time. Point "
            "CAMLIB_CACHE_DIR at a writable folder with free space to keep it.",
            stacklevel=3,
        )
