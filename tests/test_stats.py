"""camlib.stats: intervals on known cases, and refusals of bad input."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from camlib.stats import Estimate, bootstrap_interval, mean_interval, paired_difference


def test_mean_interval_matches_scipys_t_interval():
    values = [0.81, 0.87, 0.79, 0.92, 0.85]
    estimate = mean_interval(values)
    low, high = scipy_stats.t.interval(0.95, len(values) - 1, loc=np.mean(values),
                                       scale=scipy_stats.sem(values))
    assert estimate.value == pytest.approx(np.mean(values))
    assert (estimate.low, estimate.high) == pytest.approx((low, high))
    assert estimate.n == 5 and estimate.low < estimate.value < estimate.high


def test_constant_values_give_a_zero_width_interval():
    estimate = mean_interval([0.5] * 5)
    assert estimate.low == estimate.value == estimate.high == 0.5


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_more_data():
    rng = np.random.default_rng(0)
    small = bootstrap_interval(rng.normal(1.0, 1.0, 50))
    large = bootstrap_interval(rng.normal(1.0, 1.0, 5000))
    assert small.low < 1.0 < small.high and large.low < 1.0 < large.high
    assert (large.high - large.low) < (small.high - small.low) / 5


def test_bootstrap_is_repeatable_with_its_seed():
    values = np.arange(30.0)
    assert bootstrap_interval(values, seed=3) == bootstrap_interval(values, seed=3)


def test_paired_difference_sees_a_small_shift_that_separate_intervals_miss():
    rng = np.random.default_rng(1)
    shared = rng.normal(0, 1, 200)              # image difficulty, common to both methods
    a, b = shared + 0.05, shared
    separate_a, separate_b = bootstrap_interval(a), bootstrap_interval(b)
    assert separate_a.low < separate_b.high     # the two intervals overlap
    difference = paired_difference(a, b)
    assert difference.value == pytest.approx(0.05) and difference.excludes(0)


def test_estimate_formats_and_tests_a_reference():
    estimate = Estimate(0.874, 0.801, 0.921, 5)
    assert str(estimate) == "0.874 [0.801, 0.921]"
    assert estimate.format(".0%") == "87% [80%, 92%]"
    assert estimate.excludes(0.5) and not estimate.excludes(0.85)


@pytest.mark.parametrize("bad, message", [
    ([1.0], "at least 2"),
    ([[1.0, 2.0]], "1-D"),
    ([1.0, np.nan], "NaN"),
    ([1.0, np.inf], "NaN or inf"),
])
def test_bad_values_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        mean_interval(bad)
    with pytest.raises(ValueError, match=message):
        bootstrap_interval(bad)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="confidence"):
        mean_interval([1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_interval([1.0, 2.0], resamples=10)
    with pytest.raises(ValueError, match="paired"):
        paired_difference([1.0, 2.0, 3.0], [1.0, 2.0])


def test_median_seconds_warms_up_then_takes_the_median_of_the_timed_calls(monkeypatch):
    from camlib import stats

    calls = []
    # A fake clock: each timed call lasts as long as the next entry says, so the median is
    # known without measuring real time.
    durations = iter([5.0, 1.0, 3.0])
    clock = {"now": 0.0, "pending": None}

    def perf_counter():
        if clock["pending"] is None:
            clock["pending"] = next(durations)
            return clock["now"]
        clock["now"] += clock["pending"]
        clock["pending"] = None
        return clock["now"]

    monkeypatch.setattr(stats.time, "perf_counter", perf_counter)
    assert stats.median_seconds(lambda: calls.append(1), repeats=3, warmup=2) == 3.0
    assert len(calls) == 5
