"""Intervals for the book's comparisons: across training seeds, and across images.

A headline claim ("GAP localizes better than GMP") must hold for more than one lucky
training seed, and a difference between two methods on the same images needs an interval
before it is called a difference. Two tools cover the book's cases:

- :func:`mean_interval`: the mean of a few values (one per training seed) with a
  Student-t interval, since five seeds are too few for a bootstrap;
- :func:`bootstrap_interval` and :func:`paired_difference`: a percentile bootstrap over
  images, for one method's mean score or for the mean difference between two methods
  scored on the same images.

Each of these returns an :class:`Estimate`, whose ``str`` is ``"0.87 [0.80, 0.92]"``.

:func:`median_seconds` times a call (the median of a few runs after a warm-up), the one
timer that :func:`camlib.metrics.evaluate` and the book's timings use.
"""

from __future__ import annotations

import numbers
import time
from typing import NamedTuple

import numpy as np

__all__ = ["Estimate", "mean_interval", "bootstrap_interval", "paired_difference",
           "median_seconds"]


class Estimate(NamedTuple):
    """A point estimate with a confidence interval ``[low, high]`` from ``n`` values."""

    value: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    def excludes(self, reference: float = 0.0) -> bool:
        """Whether the interval lies wholly above or wholly below ``reference``."""
        return self.low > reference or self.high < reference

    def format(self, spec: str = ".3g") -> str:
        """The estimate and its interval, e.g. ``"0.87 [0.80, 0.92]"``."""
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"

    def __str__(self) -> str:
        return self.format()


def _values(values, name="values", *, minimum=2):
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got {values!r}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got shape {array.shape}")
    if array.size < minimum:
        raise ValueError(f"{name} needs at least {minimum} values for an interval, got "
                         f"{array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf; drop or fix those entries first")
    return array


def _confidence(confidence):
    if (isinstance(confidence, bool) or not isinstance(confidence, numbers.Real)
            or not 0.0 < float(confidence) < 1.0):
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence!r}")
    return float(confidence)


def _whole(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def mean_interval(values, confidence: float = 0.95) -> Estimate:
    """The mean of ``values`` with a Student-t confidence interval.

    Use it for one number per training seed: with five seeds, the t interval is honest
    about how little five values say, where a bootstrap would be too narrow.

    Example:
        >>> print(mean_interval([0.8, 0.9, 1.0]))
        0.9 [0.652, 1.15]
    """
    from scipy import stats

    array = _values(values)
    confidence = _confidence(confidence)
    mean = float(array.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, array.size - 1)
                 * array.std(ddof=1) / np.sqrt(array.size))
    return Estimate(mean, mean - half, mean + half, int(array.size), confidence)


def bootstrap_interval(values, confidence: float = 0.95, *, resamples: int = 2000,
                       seed: int = 0) -> Estimate:
    """The mean of ``values`` with a percentile-bootstrap interval (resampling values).

    Use it for one number per image, such as a per-image IoU or deletion AUC.

    Example:
        >>> estimate = bootstrap_interval(np.linspace(0, 1, 101))
        >>> round(estimate.value, 2), estimate.low < 0.5 < estimate.high
        (0.5, True)
    """
    array = _values(values)
    confidence = _confidence(confidence)
    if not _whole(resamples) or resamples < 100:
        raise ValueError(f"resamples must be an integer >= 100, got {resamples!r}")
    if not _whole(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    picks = rng.integers(0, array.size, size=(int(resamples), array.size))
    means = array[picks].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Estimate(float(array.mean()), float(low), float(high), int(array.size), confidence)


def paired_difference(a, b, confidence: float = 0.95, *, resamples: int = 2000,
                      seed: int = 0) -> Estimate:
    """Mean of ``a - b`` over paired items (the same images), with a bootstrap interval.

    Resampling the pairs together keeps what the two share (an image that is hard for
    both), so the interval is much narrower than comparing two separate intervals.

    Example:
        >>> a = np.linspace(0, 1, 50); b = a - 0.1
        >>> difference = paired_difference(a, b)
        >>> round(difference.value, 3), difference.excludes(0)
        (0.1, True)
    """
    first, second = _values(a, "a"), _values(b, "b")
    if first.shape != second.shape:
        raise ValueError(f"a and b must be paired, one value per item each; got {first.size} "
                         f"and {second.size} values")
    return bootstrap_interval(first - second, confidence, resamples=resamples, seed=seed)


def median_seconds(function, *, repeats=3, warmup=1):
    """The median wall-clock time of ``function()``, in seconds.

    ``function`` is called ``warmup`` times first, untimed (the first call of a Keras
    model compiles it), then ``repeats`` times, each timed with ``time.perf_counter``. The
    median damps a run slowed by other programs on the machine.

    Args:
        function: a callable taking no arguments, e.g. ``lambda: cam.cam(model, images)``.
        repeats: how many timed calls, at least 1.
        warmup: how many untimed calls first, at least 0.

    Returns:
        The median time of the timed calls, in seconds (a float).

    Raises:
        ValueError: ``function`` not callable, or ``repeats``/``warmup`` not whole numbers
            in range.

    Example:
        >>> median_seconds(lambda: sum(range(1000))) >= 0
        True
    """
    if not callable(function):
        raise ValueError(f"function must be a callable taking no arguments, got {function!r}; "
                         "wrap a call in a lambda: lambda: f(x)")
    if not _whole(repeats) or repeats < 1:
        raise ValueError(f"repeats must be a whole number of at least 1, got {repeats!r}")
    if not _whole(warmup) or warmup < 0:
        raise ValueError(f"warmup must be a whole number of at least 0, got {warmup!r}")
    for _ in range(int(warmup)):
        function()
    times = []
    for _ in range(int(repeats)):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
