"""The model zoo: small CAM models trained on camlib's own data, once, then cached.

Chapters 4 to 7 take their trained models from here. The module has:

- :data:`ZOO`: the configurations of the book's trained models, by name;
  :data:`DEFAULTS` fills in what a configuration leaves out, and :data:`DATASETS`,
  :data:`CLASSES`, :data:`BUILDERS`, :data:`SPLITS`, :data:`TASKS` and :data:`LABELS` say
  what its keys may name.
- :func:`config`: the complete, checked configuration of a zoo name or a partial dict.
- :func:`dataset` and :func:`split_seed`: the exact images of a model's train, val or
  test split.
- :func:`build`: the untrained architecture of a configuration.
- :func:`cutmix`: the CutMix step that ``augment="cutmix"`` applies at every epoch.
- :func:`train`: deterministic training, without the cache.
- :func:`get`: a trained model, trained on first use and then loaded from the cache;
  :func:`cache_dir` is the folder and :func:`cache_key` the entry's key;
  :func:`is_cached` says whether :func:`get` would load without training.
- :data:`MODEL_LOG`: the environment variable that makes :func:`get` note each config it
  serves, so that a test run can list the models the book uses.
- :data:`TRAINING_CODE`: the functions of this module whose code goes into the key.

The cache is safe to share between processes. Each entry is a weights file and a JSON
record written after it; only a record whose key and checksum match is trusted. A lock
file per entry makes a second process wait while the first trains, then load its result.
Temporary files that a killed write left behind are removed on the next :func:`get`.

Example:
    >>> config("shapes-gap")["model_kwargs"]
    {'pooling': 'avg'}
    >>> images, labels, boxes = dataset("shapes-gap", "val", n=4)
    >>> images.shape, build("shapes-gap").output.shape
    ((4, 64, 64, 3), (None, 4))
"""

from __future__ import annotations

import ast
import contextlib
import copy
import hashlib
import inspect
import json
import math
import numbers
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from camlib import architectures, data

__all__ = [
    "ZOO", "DEFAULTS", "DATASETS", "CLASSES", "BUILDERS", "SPLITS", "TASKS", "LABELS",
    "TRAINING_CODE",
    "STALE_SECONDS", "config", "split_seed", "dataset", "build", "cutmix", "train", "get",
    "cache_dir", "cache_key", "is_cached", "MODEL_LOG",
]

DATASETS = {"shapes": data.shapes, "lanes": data.lane_scenes}
CLASSES = {"shapes": data.SHAPE_CLASSES, "lanes": data.LANE_CLASSES}
BUILDERS = architectures.ARCHITECTURES
SPLITS = ("train", "val", "test")
AUGMENTS = (None, "cutmix")
TASKS = ("classes", "boxes")
LABELS = ("true", "permuted")

DEFAULTS = {
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
    "task": "classes",
    "labels": "true",
    "seed": 0,
}
"""What a configuration takes for each key it leaves out."""

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
    # The same convolutions as shapes-gap, with a Flatten -> Dense head (the usual FC top).
    "shapes-fc": {"dataset": "shapes", "model_kwargs": {"pooling": "flatten"},
                  "n_train": 6000, "epochs": 6},
    # shapes-gap without its second pool: the same layers and weights, a 32x32 map.
    "shapes-gap-32": {"dataset": "shapes", "model_kwargs": {"pooling": "avg", "pools": 1},
                      "n_train": 6000, "epochs": 6},
    # shapes-gap-32 with its later convolutions dilated: the same receptive field as
    # shapes-gap, so that only the map's resolution differs from it.
    "shapes-gap-32-dilated": {"dataset": "shapes", "model": "dilated_cnn",
                              "model_kwargs": {"pooling": "avg", "pools": 1},
                              "n_train": 6000, "epochs": 6},
    # The fully supervised bound: the same convolutions, trained on the true boxes.
    "shapes-boxes": {"dataset": "shapes", "model": "box_cnn", "task": "boxes",
                     "n_train": 6000, "epochs": 6},
    # Adebayo et al.'s data randomization test: shapes-gap trained on permuted labels.
    "shapes-gap-permuted": {"dataset": "shapes", "model_kwargs": {"pooling": "avg"},
                            "labels": "permuted", "n_train": 6000, "epochs": 6},
}
"""Configurations of the trained models that :func:`get` serves, by name.

Keys a configuration may set (anything missing takes its value in :data:`DEFAULTS`):
``dataset`` (a key of :data:`DATASETS`), ``dataset_kwargs`` (keyword arguments of the
dataset function, for every split), ``model`` (a key of :data:`BUILDERS`),
``model_kwargs`` (the builder's options), ``n_train``, ``n_val``, ``n_test``, ``epochs``,
``batch_size``, ``learning_rate``, ``augment`` (``None`` or ``"cutmix"``), ``task``
(``"classes"``, or ``"boxes"`` for a model that learns the true boxes, such as
``box_cnn``), ``labels`` (``"true"``, or ``"permuted"``: the training labels shuffled
once, for the data randomization test), ``seed`` and ``name`` (a label only: it names the
cache files, not the weights).
"""

#: The functions and tables of this module that shape the weights. Their code, without
#: docstrings and comments, goes into :func:`cache_key` with the code of ``data.py`` and
#: ``architectures.py`` that the config's dataset and builder use; a function of this
#: module that training calls must be listed here.
TRAINING_CODE = ("DATASETS", "CLASSES", "BUILDERS", "SPLITS", "DEFAULTS", "split_seed",
                 "dataset", "build", "cutmix", "train", "_box_targets", "_box_accuracy",
                 "_training_labels")

#: A temporary cache file older than this many seconds is left over from a killed write.
STALE_SECONDS = 300

#: The environment variable naming a file to which :func:`get` appends each config it
#: serves, one JSON line each (notebooks/conftest.py sets it, to list the book's models).
MODEL_LOG = "CAMLIB_MODEL_LOG"

# Builders whose output is a box, not class scores: they need task="boxes".
_BOX_MODELS = ("box_cnn",)
_INTEGER_KEYS = {"n_train": 1, "n_val": 1, "n_test": 1, "epochs": 1, "batch_size": 1,
                 "seed": 0}
# Dataset arguments that each split sets itself, or that change what a dataset returns.
_SPLIT_ARGUMENTS = ("n", "seed", "return_info", "return_masks")


# ----------------------------------------------------------------------------------------
# Configurations
# ----------------------------------------------------------------------------------------


def _plain(value, where):
    """``value`` with numpy scalars turned into Python ones; refuses what JSON cannot hold."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {key: _plain(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item, f"{where}[{i}]") for i, item in enumerate(value))
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}={value} must be a finite number.")
        return value
    raise ValueError(
        f"{where}={value!r} is a {type(value).__name__}; a configuration holds only numbers, "
        "strings, booleans, None, lists and dicts, so that its cache key is well defined."
    )


def _check_names(given, allowed, where, hint):
    if not isinstance(given, dict):
        raise ValueError(f"{where} must be a dict of keyword arguments, got {given!r}.")
    unknown = sorted(set(given) - set(allowed), key=str)
    if unknown:
        raise ValueError(f"{where} has unknown keys {unknown}; allowed: {sorted(allowed)}. "
                         f"{hint}".rstrip())


def _options(function):
    """The keyword arguments that ``function`` accepts by name."""
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [name for name, p in inspect.signature(function).parameters.items()
            if p.kind in kinds]


def config(name_or_config):
    """The complete, checked configuration of a zoo name or of a partial config dict.

    Every setting is checked before anything is trained or cached. Whole numbers may be
    numpy integers (``np.int64(3)``) and ``learning_rate`` a numpy float or an int: they
    are converted to Python ``int`` and ``float``, so that the same setting gives the same
    cache key. Strings such as ``"3"`` are refused, not converted.

    Args:
        name_or_config: a key of :data:`ZOO`, or a dict of some of the keys listed there.

    Returns:
        A new dict with every key of :data:`DEFAULTS` (and ``name`` if one was given).

    Raises:
        ValueError: an unknown name or key, a value of the wrong type, or one out of range
            (sizes and ``epochs`` below 1, a learning rate that is not a positive finite
            number, an unknown dataset, model or augmentation, an unknown option).

    Example:
        >>> config("shapes-gap")["dataset"]
        'shapes'
        >>> config({"dataset": "lanes", "epochs": np.int64(3)})["epochs"]
        3
    """
    if isinstance(name_or_config, str):
        if name_or_config not in ZOO:
            raise ValueError(f"unknown model {name_or_config!r}; the zoo has {', '.join(ZOO)}.")
        partial = dict(copy.deepcopy(ZOO[name_or_config]), name=name_or_config)
    elif isinstance(name_or_config, dict):
        partial = copy.deepcopy(name_or_config)
    else:
        raise ValueError("expected a zoo name or a config dict, got "
                         f"{type(name_or_config).__name__}; the zoo has {', '.join(ZOO)}.")
    unknown = set(partial) - set(DEFAULTS) - {"name"}
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown, key=str)}; allowed: "
                         f"{sorted(DEFAULTS)} and 'name'.")
    full = {**copy.deepcopy(DEFAULTS), **partial}
    if "name" in full and not (isinstance(full["name"], str) and full["name"]):
        raise ValueError(f"name={full['name']!r} must be a non-empty string.")
    if "name" in full and re.search(r"[^\w.-]", full["name"]):
        raise ValueError(f"name={full['name']!r} names cache files: use letters, digits, "
                         "'-', '_' and '.' only.")
    for key in ("dataset", "model", "augment"):
        if not (full[key] is None or isinstance(full[key], str)):
            raise ValueError(f"{key}={full[key]!r} must be a string.")
    if full["dataset"] not in DATASETS:
        raise ValueError(f"dataset={full['dataset']!r} must be one of {', '.join(DATASETS)}.")
    if full["model"] not in BUILDERS:
        raise ValueError(f"model={full['model']!r} must be one of {', '.join(BUILDERS)}.")
    if full["augment"] not in AUGMENTS:
        raise ValueError(f'augment={full["augment"]!r} must be None or "cutmix".')
    if full["task"] not in TASKS:
        raise ValueError(f'task={full["task"]!r} must be "classes" or "boxes".')
    if full["labels"] not in LABELS:
        raise ValueError(f'labels={full["labels"]!r} must be "true" or "permuted".')
    boxes_model = full["model"] in _BOX_MODELS
    if (full["task"] == "boxes") != boxes_model:
        raise ValueError(f'task={full["task"]!r} does not fit model={full["model"]!r}: '
                         f'task="boxes" goes with a box model ({", ".join(_BOX_MODELS)}), '
                         'task="classes" with a classifier.')
    if full["task"] == "boxes" and (full["augment"] or full["labels"] != "true"):
        raise ValueError('task="boxes" learns the true boxes: use augment=None and '
                         'labels="true".')
    for key, minimum in _INTEGER_KEYS.items():
        value = full[key]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{key}={value!r} must be a whole number (an int), at least "
                             f"{minimum}.")
        if value < minimum:
            raise ValueError(f"{key}={value} must be at least {minimum}.")
        full[key] = int(value)
    rate = full["learning_rate"]
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real):
        raise ValueError(f"learning_rate={rate!r} must be a positive number, e.g. 1e-3.")
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"learning_rate={rate} must be a positive finite number, e.g. 1e-3.")
    full["learning_rate"] = float(rate)
    _check_names(full["dataset_kwargs"],
                 [n for n in _options(DATASETS[full["dataset"]]) if n not in _SPLIT_ARGUMENTS],
                 "dataset_kwargs", "Set the number of images with n_train, n_val, n_test and "
                 "the images' seed with seed.")
    _check_names(full["model_kwargs"],
                 [n for n in _options(BUILDERS[full["model"]])
                  if n not in ("input_shape", "n_classes")],
                 "model_kwargs", "The input shape follows the data's size and the number of "
                 "classes follows the dataset.")
    if "weights" in full["model_kwargs"] and full["model_kwargs"]["weights"] is not None:
        raise ValueError("model_kwargs['weights'] must stay None in the zoo: it trains from a "
                         "random start and caches the result offline.")
    full["dataset_kwargs"] = _plain(full["dataset_kwargs"], "dataset_kwargs")
    full["model_kwargs"] = _plain(full["model_kwargs"], "model_kwargs")
    return full


# ----------------------------------------------------------------------------------------
# Data splits, architectures and training: the code in TRAINING_CODE
# ----------------------------------------------------------------------------------------


def split_seed(name_or_config, split):
    """The seed that :func:`dataset` draws one split's images with.

    Each split has its own seed, ``1000·seed + 1`` (train), ``+ 2`` (val), ``+ 3`` (test),
    so the three never share an image and seeds up to 999 never share one either.

    Example:
        >>> split_seed("lanes-gap", "test")
        3
    """
    cfg = config(name_or_config)
    if split not in SPLITS:
        raise ValueError(f"split={split!r} must be one of {', '.join(SPLITS)}.")
    return 1000 * cfg["seed"] + 1 + SPLITS.index(split)


def dataset(name_or_config, split, *, return_info=False, **overrides):
    """The exact images, labels and boxes of one split of a model's data.

    Args:
        name_or_config: a zoo name or config (see :func:`config`).
        split: ``"train"``, ``"val"`` or ``"test"``; each split has its own seed (see
            :func:`split_seed`), so the three never share an image.
        return_info: also return a dict of per-image details. For ``lanes`` it is the
            dict of :func:`camlib.data.lane_scenes` (``kind``, ``depth``, ``cue``,
            ``follower``); for ``shapes`` it holds ``masks``, each object's mask.
        **overrides: dataset keyword arguments that replace the config's, e.g.
            ``cue="random"`` to test a model trained with a shortcut on data without one,
            or ``n=100`` for fewer images.

    Returns:
        ``(images, labels, boxes)``, or ``(images, labels, boxes, info)`` with
        ``return_info=True``.

    Raises:
        ValueError: an unknown split or override, or a bad dataset argument.

    Example:
        >>> images, labels, boxes = dataset("shapes-gap", "val", n=10)
        >>> images.shape
        (10, 64, 64, 3)
        >>> info = dataset("lanes-gap", "test", n=5, return_info=True)[3]
        >>> sorted(info)
        ['cue', 'depth', 'follower', 'kind']
    """
    cfg = config(name_or_config)
    seed = split_seed(cfg, split)
    if not isinstance(return_info, (bool, np.bool_)):
        raise ValueError(f"return_info must be True or False, got {return_info!r}.")
    make = DATASETS[cfg["dataset"]]
    allowed = [n for n in _options(make) if n not in ("return_info", "return_masks")]
    _check_names(overrides, allowed, "dataset's overrides", "Use return_info=True for the "
                 "per-image details.")
    kwargs = {**cfg["dataset_kwargs"], **overrides}
    kwargs.setdefault("n", cfg[f"n_{split}"])
    kwargs.setdefault("seed", seed)
    if not return_info:
        return make(**kwargs)[:3]
    if "return_info" in _options(make):
        return make(**kwargs, return_info=True)[:4]
    images, labels, boxes, masks = make(**kwargs, return_masks=True)[:4]
    return images, labels, boxes, {"masks": masks}


def build(name_or_config):
    """An untrained model with the architecture of a zoo name or config.

    The input shape is ``(size, size, 3)`` with the dataset's ``size`` (64 unless
    ``dataset_kwargs`` sets it), and there is one output per class of the dataset.

    Example:
        >>> build("shapes-gap").get_layer("fc").units
        4
    """
    cfg = config(name_or_config)
    size = cfg["dataset_kwargs"].get("size", 64)
    n_classes = len(CLASSES[cfg["dataset"]])
    return BUILDERS[cfg["model"]]((size, size, 3), n_classes, **cfg["model_kwargs"])


def cutmix(images, onehot, rng, alpha=1.0):
    """CutMix (Yun et al. 2019): paste a box from a shuffled partner, mix labels by area.

    Each image gets a box of area ``1 - λ`` (λ drawn from Beta(alpha, alpha), the box
    clipped at the border) cut from another image of the batch, and its label becomes
    ``kept · own + (1 - kept) · partner's``, where ``kept`` is the share of pixels that
    stayed. This is the step that ``augment="cutmix"`` applies at every epoch.

    Args:
        images: (N, H, W, C) array.
        onehot: (N, K) labels, one-hot or already soft.
        rng: a ``numpy.random.Generator``; the same state gives the same batch.
        alpha: the Beta distribution's parameter, a positive number.

    Returns:
        ``(mixed_images, mixed_labels)``, float32, of the input shapes.

    Raises:
        ValueError: shapes that do not match, a missing generator, or a bad ``alpha``.

    Example:
        >>> images, labels, _ = data.shapes(4, seed=0)
        >>> onehot = np.eye(4, dtype=np.float32)[labels]
        >>> mixed, soft = cutmix(images, onehot, np.random.default_rng(0))
        >>> mixed.shape, bool(np.allclose(soft.sum(axis=1), 1))
        ((4, 64, 64, 3), True)
    """
    images, onehot = np.asarray(images), np.asarray(onehot)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, H, W, C) array, got shape "
                         f"{images.shape}.")
    if onehot.ndim != 2 or len(onehot) != len(images):
        raise ValueError(f"onehot must be (N, K) with one row per image: got {onehot.shape} "
                         f"for {len(images)} images.")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator, e.g. np.random.default_rng(0), got "
                         f"{type(rng).__name__}.")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not (
        math.isfinite(alpha) and alpha > 0
    ):
        raise ValueError(f"alpha={alpha!r} must be a positive finite number, e.g. 1.0.")
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
    if verbose == "auto":
        try:
            from IPython import get_ipython
        except ImportError:
            return 0
        return 2 if get_ipython() is not None else 0  # one line per epoch in a notebook
    if isinstance(verbose, bool) or not isinstance(verbose, numbers.Integral) or not (
        0 <= verbose <= 2
    ):
        raise ValueError(f'verbose={verbose!r} must be "auto", 0 (silent), 1 (progress bar) '
                         "or 2 (one line per epoch).")
    return int(verbose)


def _training_labels(labels, cfg):
    """The labels a model learns: the true ones, or a permutation of them (data randomization).

    The permutation has its own generator, so that it does not change the draws of
    :func:`cutmix` or of Keras.
    """
    if cfg["labels"] == "true":
        return labels
    return np.random.default_rng([cfg["seed"], 1]).permutation(labels)


def _box_targets(boxes, size):
    """True boxes as fractions of the image's side, the targets of a box model (N, 4)."""
    from camlib import localize

    boxes = localize.check_boxes(boxes, image_size=size, allow_no_box=False)
    height, width = size
    return (np.asarray(boxes, np.float32) / np.array([width, height, width, height],
                                                     np.float32))


def _box_accuracy(fractions, boxes, size):
    """The share of predicted boxes (as fractions) with IoU ≥ 0.5 against the true ones."""
    from camlib import localize

    predicted = localize.boxes_from_fractions(fractions, size)
    return float(np.mean(localize.paired_ious(predicted, boxes) >= 0.5))


def train(name_or_config, *, verbose="auto"):
    """Train a model from a zoo name or config, deterministically, without any cache.

    Seeds NumPy, Python and TensorFlow with the config's ``seed`` and turns on
    TensorFlow's deterministic ops, so that the same config gives the same weights. Every
    setting is checked by :func:`config` before any data is made. Use :func:`get` to
    train once and reuse the result.

    Args:
        name_or_config: a zoo name or config (see :func:`config`).
        verbose: ``"auto"`` (one line per epoch in a notebook, silent elsewhere), or
            Keras's 0, 1 or 2.

    With ``task="boxes"`` the model learns each image's true box, as fractions of the
    image's side, with a mean squared error; its ``val_accuracy`` is then the share of
    validation images whose predicted box has IoU ≥ 0.5 with the true one (the
    localization accuracy of chapter 5). With ``labels="permuted"`` the training labels
    are shuffled once, from the seed, and ``val_accuracy`` is measured on the true labels.

    Returns:
        ``(model, record)``; ``record`` holds the full ``config``, ``val_accuracy``,
        ``train_seconds`` and the per-epoch ``history``.

    Raises:
        ValueError: an invalid setting, or training that diverged (weights not finite).

    Example:
        >>> model, record = train({"n_train": 64, "n_val": 32, "epochs": 1,
        ...                        "model_kwargs": {"width": 4, "depth": 2}}, verbose=0)
        >>> sorted(record)
        ['config', 'history', 'train_seconds', 'val_accuracy']
    """
    cfg = config(name_or_config)
    verbose = _resolve_verbose(verbose)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(cfg["seed"])
    tf.config.experimental.enable_op_determinism()
    n_classes = len(CLASSES[cfg["dataset"]])
    x_train, y_train, boxes_train = dataset(cfg, "train")
    x_val, y_val, boxes_val = dataset(cfg, "val")
    model = build(cfg)
    if cfg["task"] == "boxes":
        onehot_train = _box_targets(boxes_train, x_train.shape[1:3])
        onehot_val = _box_targets(boxes_val, x_val.shape[1:3])
        model.compile(optimizer=keras.optimizers.Adam(cfg["learning_rate"]), loss="mse")
    else:
        y_fit = _training_labels(y_train, cfg)
        onehot_train, onehot_val = np.eye(n_classes, dtype=np.float32)[y_fit], np.eye(
            n_classes, dtype=np.float32
        )[y_val]
        model.compile(
            optimizer=keras.optimizers.Adam(cfg["learning_rate"]),
            loss="categorical_crossentropy",
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
    rng = np.random.default_rng(cfg["seed"])
    history = {}
    start = time.perf_counter()
    if cfg["augment"] == "cutmix":
        for epoch in range(cfg["epochs"]):
            x_mixed, y_mixed = cutmix(x_train, onehot_train, rng)
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
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        raise ValueError(f"training diverged: some weights are NaN or inf after "
                         f"{cfg['epochs']} epochs at learning_rate={cfg['learning_rate']}; "
                         "lower the learning rate.")
    if cfg["task"] == "boxes":
        val_accuracy = _box_accuracy(model.predict(x_val, verbose=0), boxes_val,
                                     x_val.shape[1:3])
    else:
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

    Example:
        >>> cache_dir("/tmp/camlib-cache").name
        'camlib-cache'
    """
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"cache_dir must be a folder path (str or Path) or None, got "
                         f"{type(path).__name__}.")
    chosen = path or os.environ.get("CAMLIB_CACHE_DIR") or Path.home() / ".cache" / "camlib"
    return Path(chosen).expanduser()


def _without_docstrings(tree):
    """``tree`` with every bare string statement (docstrings) removed, in place."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        kept = [s for s in body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                        and isinstance(s.value.value, str))]
        node.body = kept or [ast.Pass()]
    return tree


def _defined(node):
    """The names that a top-level statement defines (functions, classes, assignments)."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _reachable(tree, roots):
    """``roots`` and every top-level name of ``tree`` that their code uses, transitively."""
    definitions = {}
    for node in tree.body:
        for name in _defined(node):
            definitions.setdefault(name, []).append(node)
    found, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in found or name not in definitions:
            continue
        found.add(name)
        todo.extend(n.id for node in definitions[name] for n in ast.walk(node)
                    if isinstance(n, ast.Name) and n.id in definitions)
    return found


def _code(path, names=None, *, reachable_from=None):
    """The parsed code of ``path`` without docstrings or comments, as text.

    With ``names``, only the top-level functions and assignments of those names count;
    with ``reachable_from``, those names and every top-level name their code uses, so
    that a function the model's training never calls does not change the text.
    Formatting, comments and docstrings do not change the text; code does.
    """
    tree = _without_docstrings(ast.parse(Path(path).read_text(encoding="utf-8")))
    if reachable_from is not None:
        names = _reachable(tree, reachable_from)
        missing = set(reachable_from) - names
        if missing:
            raise RuntimeError(f"{path} does not define {sorted(missing)}.")
    if names is not None:
        tree.body = [node for node in tree.body if _defined(node) & set(names)]
        missing = set(names) - set().union(*(_defined(node) for node in tree.body))
        if missing:
            raise RuntimeError(f"TRAINING_CODE names {sorted(missing)}, which {path} lacks.")
    return ast.dump(tree)


def _code_digest(cfg):
    """A hash of the code that trains ``cfg``: its dataset function, its builder, training.

    Only the code reachable from the config's dataset function (in ``data.py``) and
    builder (in ``architectures.py``) counts, with :data:`TRAINING_CODE`: adding a new
    dataset, a new builder or a function that no training calls keeps every key.
    """
    digest = hashlib.sha256()
    dataset_function = DATASETS[cfg["dataset"]].__name__
    builder = BUILDERS[cfg["model"]].__name__
    for part in (_code(data.__file__, reachable_from=[dataset_function]),
                 _code(architectures.__file__, reachable_from=[builder]),
                 _code(__file__, TRAINING_CODE)):
        digest.update(hashlib.sha256(part.encode()).digest())
    return digest.hexdigest()


def cache_key(name_or_config):
    """A hash of everything that shapes the weights.

    The key covers the complete config (without ``name``, which is only a label), the code
    that makes the data, builds the model and trains it (the config's dataset function
    and builder with every function of ``data.py`` and ``architectures.py`` that they
    use, and :data:`TRAINING_CODE`; parsed, so that comments, docstrings and formatting
    do not count), and the versions of Python, NumPy, Keras and TensorFlow.

    Example:
        >>> cache_key("shapes-gap") == cache_key("shapes-gap")
        True
        >>> cache_key("shapes-gap") == cache_key({**ZOO["shapes-gap"], "epochs": 1})
        False
    """
    cfg = config(name_or_config)
    import keras
    import tensorflow as tf

    cfg.pop("name", None)  # a zoo name is only a label: the same config shares one entry
    payload = {
        "config": cfg,
        "code": _code_digest(cfg),
        "versions": {"python": "{}.{}".format(*sys.version_info[:2]), "numpy": np.__version__,
                     "keras": keras.__version__, "tensorflow": tf.__version__},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _entry(name_or_config, cache):
    cfg = config(name_or_config)
    key = cache_key(cfg)
    stem = f"{cfg.get('name', 'custom')}-{key[:16]}"
    folder = cache_dir(cache)
    return cfg, key, folder / f"{stem}.weights.h5", folder / f"{stem}.json"


# A temporary file is named ".<final name>.<random>.tmp" (".tmp.weights.h5" for weights,
# which Keras must see end in ".weights.h5"). The older form ".<final name>.<random>.json"
# and ".<final name>.<random>.weights.h5" is matched too.
_TEMPORARY = re.compile(r"^\..+\.(weights\.h5|json)\.\w+(\.tmp|\.tmp\.weights\.h5|\.\1)$")


def _remove_stale_temporaries(folder, now=None):
    """Delete temporary files older than :data:`STALE_SECONDS`, left by a killed write."""
    now = time.time() if now is None else now
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            if _TEMPORARY.match(path.name):
                with contextlib.suppress(OSError):
                    if now - path.stat().st_mtime > STALE_SECONDS:
                        path.unlink()


@contextlib.contextmanager
def _locked(weights_path, exclusive):
    """Hold the entry's lock file; without a writable folder or ``fcntl``, hold nothing."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before locks existed
        yield
        return
    lock_path = weights_path.with_name(f".{weights_path.name[:-len('.weights.h5')]}.lock")
    try:
        weights_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only cache can still be read
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


def _atomic_write(path, write):
    """Write through ``write(tmp_path)`` into a temporary file beside ``path``, then rename."""
    suffix = ".tmp.weights.h5" if path.name.endswith(".weights.h5") else ".tmp"
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


def _load(cfg, key, weights_path, record_path):
    """``(model, record)`` from the cache and None, or None and why the entry is not trusted.

    The reason is None when there is no entry at all. A broken entry is never trusted.
    """
    if not record_path.exists():
        if weights_path.exists():  # weights whose record never came: a killed write
            return None, "its record is missing, so its write did not finish"
        return None, None
    try:
        record = json.loads(record_path.read_text())
        if not isinstance(record, dict) or record.get("key") != key:
            raise ValueError("its key does not match this config and code")
        if record.get("weights_sha256") != _sha256(weights_path):
            raise ValueError("the weights file does not match its checksum")
        model = build(cfg)
        model.load_weights(weights_path)
        return (model, record), None
    except Exception as err:  # any failure means: do not trust this entry
        return None, str(err) or type(err).__name__


def is_cached(name, *, cache_dir=None):
    """Whether :func:`get` would load ``name`` from the cache, without training it.

    True when the entry's record has this config's key and its weights match their
    checksum: the test :func:`get` makes before it trusts an entry.

    Args:
        name: a zoo name or config (see :func:`config`).
        cache_dir: the cache folder; see :func:`cache_dir` for the default.

    Raises:
        ValueError: an invalid setting.

    Example:
        >>> is_cached({"n_train": 8, "seed": 999}, cache_dir="/tmp/an-empty-cache")
        False
    """
    _, key, weights_path, record_path = _entry(name, cache_dir)
    try:
        record = json.loads(record_path.read_text())
        return (isinstance(record, dict) and record.get("key") == key
                and record.get("weights_sha256") == _sha256(weights_path))
    except (OSError, ValueError):
        return False


def _note_use(cfg, key):
    """Append ``cfg`` and its key to the file that :data:`MODEL_LOG` names, if any."""
    path = os.environ.get(MODEL_LOG)
    if path:
        try:
            line = json.dumps({"config": cfg, "key": key}, sort_keys=True) + "\n"
        except TypeError:  # a setting JSON cannot hold: the model is served, not listed
            return
        # One short write in append mode: lines from parallel processes do not interleave.
        with contextlib.suppress(OSError), open(path, "a") as log:
            log.write(line)


def get(name, *, cache_dir=None, verbose="auto", return_record=False):
    """A trained model from the zoo (or a config dict), trained on first use, then cached.

    The first call trains deterministically (see :func:`train`) and writes the weights,
    then a JSON record (cache key, weights checksum, validation accuracy, training time),
    into the cache folder (see :func:`cache_dir`); later calls, in any process, load them
    in a moment. The key (see :func:`cache_key`) covers the config, the code that shapes
    the weights and the library versions, so a change to any of them trains a fresh model.

    The cache is safe to share. While one process trains an entry, it holds the entry's
    lock file, and a second process asking for the same entry waits, then loads it: the
    model is trained once. Only a record whose key and checksum match is trusted; a
    corrupt or mismatched entry is retrained with a warning. Temporary files older than
    :data:`STALE_SECONDS`, left by a write that was killed, are removed.

    Args:
        name: a zoo name or config (see :func:`config`).
        cache_dir: the cache folder; see :func:`cache_dir` for the default.
        verbose: as for :func:`train`, if the model is trained.
        return_record: also return the record.

    Returns:
        The Keras model, or ``(model, record)`` with ``return_record=True``.

    Raises:
        ValueError: an invalid setting; nothing is trained or cached then.

    Example:
        >>> model = get("shapes-gap")  # doctest: +SKIP
        >>> model, record = get("shapes-gap", return_record=True)  # doctest: +SKIP
        >>> record["val_accuracy"] >= 0.95  # doctest: +SKIP
        True
    """
    if not isinstance(return_record, (bool, np.bool_)):
        raise ValueError(f"return_record must be True or False, got {return_record!r}.")
    _resolve_verbose(verbose)
    cfg, key, weights_path, record_path = _entry(name, cache_dir)
    _note_use(cfg, key)
    _remove_stale_temporaries(weights_path.parent)
    with _locked(weights_path, exclusive=False):  # waits while a writer holds the lock
        loaded, _ = _load(cfg, key, weights_path, record_path)
    if loaded is None:
        with _locked(weights_path, exclusive=True):
            # Another process may have trained it while this one waited for the lock.
            loaded, problem = _load(cfg, key, weights_path, record_path)
            if loaded is None:
                if problem:
                    warnings.warn(f"ignoring the cached model {weights_path.name} ({problem}); "
                                  "retraining it", stacklevel=2)
                model, record = train(cfg, verbose=verbose)
                record.update(key=key)
                _store(model, record, weights_path, record_path)
                loaded = model, record
    return loaded if return_record else loaded[0]


def _store(model, record, weights_path, record_path):
    """Cache a trained model; a folder that cannot be written costs the cache, not the model.

    The record is written last and only after the weights are in place: a reader trusts an
    entry only through its record, whose checksum must match the weights.
    """
    try:
        weights_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            record_path.unlink()  # a stale record must not vouch for the new weights
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
