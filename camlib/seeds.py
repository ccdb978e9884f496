"""One training recipe under several seeds, so that a claim is judged on a distribution.

Chapters 4.2, 5.2, 6 and the CutMix appendix use it. The module has :data:`DEFAULT_SEEDS`,
:data:`SHORT_RECIPE`, :func:`variant`, :func:`models`, :func:`test_set` and
:func:`seed_table`.

A zoo model (see :mod:`camlib.zoo`) is one training run. Whether "GAP localizes better
than GMP" is a property of the recipe or of seed 0 can only be seen by training the recipe
again with other seeds. :func:`variant` names such a run, :func:`models` trains (or loads)
every seed's model through the zoo's cache, and :func:`seed_table` shows one number per
seed with the mean and its interval (:func:`camlib.stats.mean_interval`).

Seed ``s`` changes the weight initialisation, the shuffling *and* the training images
(the zoo draws each split from the config's seed); the test images are drawn with
``test_seed`` so that every seed's model is measured on the same test set.

Example:
    >>> variant("shapes-gap", 3)["seed"]
    3
"""

from __future__ import annotations

import math
import numbers

from camlib import zoo
from camlib.stats import mean_interval

__all__ = ["DEFAULT_SEEDS", "SHORT_RECIPE", "variant", "models", "test_set", "seed_table"]

#: The seeds every seed study of the book uses.
DEFAULT_SEEDS = (0, 1, 2, 3, 4)

#: A shorter recipe: half the zoo's training images and fewer epochs, so that five seeds
#: of a model train in about the time of one zoo model. It is enough for the lane
#: models, but not for ``shapes-gap``: a GAP head learns more slowly than a GMP head,
#: and with this recipe it stays near chance (chapters 4.2 and 5.2 show this, and test
#: their claims on the zoo's full recipe instead). Notebooks that compare the same
#: models across seeds use the same recipe, so they share one cache entry per seed.
SHORT_RECIPE = {"n_train": 3000, "epochs": 4}


def _check_seeds(seeds):
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise ValueError(f"seeds must be a list of seeds, e.g. DEFAULT_SEEDS, got {seeds!r}")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed, e.g. DEFAULT_SEEDS")
    for seed in seeds:
        if (isinstance(seed, bool) or not isinstance(seed, numbers.Real)
                or not math.isfinite(seed) or int(seed) != seed or seed < 0):
            raise ValueError(f"seeds must be non-negative integers, got {seed!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds {seeds} repeat a seed; each seed is one training run")
    return tuple(int(seed) for seed in seeds)


def variant(name: str, seed: int, **overrides) -> dict:
    """The config of zoo model ``name`` trained with ``seed`` (and any ``overrides``).

    Overrides are config keys (see :data:`camlib.zoo.ZOO`), for example ``epochs=3``
    for a shorter recipe. Seed 0 without overrides is the zoo model itself, and shares
    its cache entry.

    Args:
        name: a key of :data:`camlib.zoo.ZOO`.
        seed: a non-negative whole number.
        **overrides: config keys that replace the zoo's.

    Returns:
        The complete config, named ``name`` for seed 0 without overrides and
        ``"{name}-seed{seed}"`` otherwise.

    Example:
        >>> cfg = variant("shapes-gmp", 2, epochs=3)
        >>> cfg["seed"], cfg["epochs"], cfg["model_kwargs"]["pooling"]
        (2, 3, 'max')
    """
    (seed,) = _check_seeds([seed])
    base = zoo.config(name)
    base.pop("name", None)
    config = {**base, **overrides, "seed": seed}
    config["name"] = name if seed == 0 and not overrides else f"{name}-seed{seed}"
    return zoo.config(config)


def models(name: str, seeds=DEFAULT_SEEDS, *, cache_dir=None, **overrides) -> dict:
    """Every seed's trained model of recipe ``name``, as ``{seed: model}``.

    Each is trained on first use and cached like a zoo model (in ``cache_dir``, see
    :func:`camlib.zoo.cache_dir`), so a second call, in any notebook, loads them in a
    moment.

    Args:
        name: a key of :data:`camlib.zoo.ZOO`.
        seeds: distinct non-negative whole numbers.
        cache_dir: the cache folder, as for :func:`camlib.zoo.get`.
        **overrides: config keys, as for :func:`variant`.

    Returns:
        ``{seed: model}`` in the order of ``seeds``.
    """
    return {seed: zoo.get(variant(name, seed, **overrides), cache_dir=cache_dir)
            for seed in _check_seeds(seeds)}


def test_set(name: str, n: int | None = None, *, test_seed: int = 0, **dataset_overrides):
    """The test images, labels and boxes that every seed's model of ``name`` is scored on.

    They are the test split of the seed-``test_seed`` recipe, so they never overlap any
    seed's training images drawn with the same generator and a different seed.

    Args:
        name: a key of :data:`camlib.zoo.ZOO`.
        n: the number of images (default: the recipe's ``n_test``).
        test_seed: the recipe seed whose test split is used.
        **dataset_overrides: as for :func:`camlib.zoo.dataset`, e.g.
            ``return_info=True``.

    Returns:
        ``(images, labels, boxes)``, and ``info`` with ``return_info=True``.
    """
    if n is not None:
        dataset_overrides["n"] = n
    return zoo.dataset(variant(name, test_seed), "test", **dataset_overrides)


def seed_table(per_seed: dict, *, confidence: float = 0.95):
    """Rows for :func:`camlib.notebook.show_table`: one row per seed, then the mean.

    Args:
        per_seed: maps a seed to a dict of named numbers, for example
            ``{0: {"GAP": 0.87, "GMP": 0.31}, 1: {...}}``.
        confidence: the level of the interval of the mean.

    Returns:
        ``(rows, columns, summary)`` where ``summary`` maps each name to its
        :class:`camlib.stats.Estimate` across seeds.

    Example:
        >>> rows, columns, summary = seed_table({0: {"a": 1.0}, 1: {"a": 3.0}})
        >>> columns, rows[0], summary["a"].value
        (['seed', 'a'], [0, '1'], 2.0)
    """
    if not per_seed:
        raise ValueError("per_seed is empty; pass {seed: {name: value}} for at least 2 seeds")
    if not all(isinstance(values, dict) and values for values in per_seed.values()):
        raise ValueError("per_seed must map each seed to a non-empty dict of named numbers, "
                         "e.g. {0: {'GAP': 0.87}, 1: {'GAP': 0.84}}")
    names = list(next(iter(per_seed.values())))
    for seed, values in per_seed.items():
        if list(values) != names:
            raise ValueError(f"seed {seed} has the numbers {list(values)}, others {names}; "
                             "every seed must report the same names")
    summary = {name: mean_interval([values[name] for values in per_seed.values()], confidence)
               for name in names}
    rows = [[seed] + [f"{values[name]:.3g}" for name in names]
            for seed, values in per_seed.items()]
    rows.append([f"mean, {confidence:.0%} interval"]
                + [summary[name].format(".3g") for name in names])
    return rows, ["seed"] + names, summary
