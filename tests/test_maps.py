"""Upsampling and scaling maps."""

import numpy as np
import pytest

from camlib import maps as M


def test_upsample_keeps_values_and_shape():
    maps = np.array([[[-1.0, 1.0], [1.0, -1.0]]], dtype=np.float32)
    big = M.upsample(maps, (8, 8))
    assert big.shape == (1, 8, 8) and big.dtype == np.float32
    assert big.min() == -1.0 and big.max() == 1.0  # corners keep the raw, signed values
    np.testing.assert_allclose(M.upsample(np.full((3, 3), 2.5), 9), np.full((9, 9), 2.5))


def test_normalize_maps_each_map_to_unit_range_without_nan():
    maps = np.stack([np.arange(9.0).reshape(3, 3) - 2, np.zeros((3, 3)), -np.ones((3, 3)),
                     np.full((3, 3), 4.0)])
    out = M.normalize(maps)
    assert not np.isnan(out).any()
    assert out[0].min() == 0.0 and out[0].max() == 1.0
    np.testing.assert_array_equal(out[1:], 0.0)



@pytest.mark.parametrize("function", [M.normalize, lambda m: M.upsample(m, 8)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_one_non_finite_pixel_is_refused_not_spread(function, bad):
    maps = np.ones((2, 4, 4), np.float32)
    maps[1, 2, 3] = bad
    with pytest.raises(ValueError, match="1 NaN or inf values"):
        function(maps)


@pytest.mark.parametrize(
    "maps, message",
    [
        (np.ones(4), r"\(h, w\) or \(N, h, w\)"),
        (np.ones((1, 2, 3, 4)), r"\(h, w\) or \(N, h, w\)"),
        (np.ones((0, 3, 3)), "empty"),
        (np.array([["a", "b"]]), "numeric"),
    ],
)
def test_maps_of_the_wrong_shape_or_type_are_refused(maps, message):
    with pytest.raises(ValueError, match=message):
        M.normalize(maps)


@pytest.mark.parametrize("size", [0, -3, (4,), (4, 0), 2.5, "8", None, (True, 4)])
def test_upsample_refuses_sizes_that_are_not_two_positive_whole_numbers(size):
    with pytest.raises(ValueError, match="size must be"):
        M.upsample(np.ones((2, 2)), size)


def test_upsample_accepts_numpy_and_whole_float_sizes():
    out = M.upsample(np.ones((2, 2)), (np.int64(4), 6.0))
    assert out.shape == (4, 6)
