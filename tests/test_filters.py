"""camlib.filters: Sobel against an independent implementation, kernels, shape features."""

import numpy as np
import pytest
from scipy import ndimage

from camlib import data, filters


@pytest.fixture(scope="module")
def photo():
    return data.sample_image("camera")


def test_sobel_matches_scipy_on_a_photo(photo):
    gx, gy = filters.sobel(photo)
    np.testing.assert_allclose(gx, ndimage.sobel(photo.astype(np.float64), axis=1,
                                                mode="reflect"), atol=1e-5)
    np.testing.assert_allclose(gy, ndimage.sobel(photo.astype(np.float64), axis=0,
                                                mode="reflect"), atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 1), (2, 7), (5, 3), (31, 17)])
def test_sobel_matches_scipy_on_random_images_including_tiny_ones(shape):
    image = np.random.default_rng(1).random(shape).astype(np.float32)
    gx, gy = filters.sobel(image)
    assert gx.shape == gy.shape == shape and gx.dtype == np.float32
    np.testing.assert_allclose(gx, ndimage.sobel(image.astype(np.float64), axis=1,
                                                mode="reflect"), atol=1e-5)
    np.testing.assert_allclose(gy, ndimage.sobel(image.astype(np.float64), axis=0,
                                                mode="reflect"), atol=1e-5)


def test_sobel_x_answers_vertical_edges_and_y_horizontal_ones():
    step = np.zeros((9, 9), np.float32)
    step[:, 5:] = 1.0
    gx, gy = filters.sobel(step)
    assert gx[4, 4] == 4.0 and gx[4, 5] == 4.0 and np.abs(gy).max() == 0.0
    gx_t, gy_t = filters.sobel(step.T)
    assert np.array_equal(gy_t, gx.T) and np.abs(gx_t).max() == 0.0


def test_sobel_kernels_are_the_fixed_ones():
    assert filters.SOBEL_X.tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert np.array_equal(filters.SOBEL_Y, filters.SOBEL_X.T)


@pytest.mark.parametrize("kernel_name", list(filters.KERNELS))
def test_correlate2d_matches_scipy_correlate_for_every_kernel(photo, kernel_name):
    kernel = filters.KERNELS[kernel_name]
    expected = ndimage.correlate(photo.astype(np.float64), kernel.astype(np.float64),
                                 mode="reflect")
    np.testing.assert_allclose(filters.correlate2d(photo, kernel), expected, atol=1e-4)


def test_correlate2d_does_not_flip_the_kernel():
    impulse = np.zeros((7, 7), np.float32)
    impulse[3, 3] = 1.0
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3)
    # correlation of an impulse draws the kernel upside down and mirrored
    np.testing.assert_array_equal(filters.correlate2d(impulse, kernel)[2:5, 2:5],
                                  kernel[::-1, ::-1])


def test_correlate2d_filters_colour_channels_independently():
    image = np.random.default_rng(2).random((12, 10, 3)).astype(np.float32)
    blur = filters.gaussian_kernel(5, 1.0)
    out = filters.correlate2d(image, blur)
    for channel in range(3):
        np.testing.assert_allclose(out[..., channel],
                                   filters.correlate2d(image[..., channel], blur), atol=1e-6)


def test_even_sized_kernel_keeps_the_image_size():
    image = np.random.default_rng(3).random((8, 9)).astype(np.float32)
    assert filters.correlate2d(image, np.ones((2, 4))).shape == image.shape


def test_gaussian_kernel_is_normalised_and_symmetric():
    kernel = filters.gaussian_kernel(7, 1.5)
    assert kernel.shape == (7, 7) and abs(kernel.sum() - 1) < 1e-6
    np.testing.assert_allclose(kernel, kernel.T)
    assert kernel.argmax() == 24


def test_to_gray_matches_skimage():
    from skimage.color import rgb2gray

    photo = data.sample_image("astronaut")
    np.testing.assert_allclose(filters.to_gray(photo), rgb2gray(photo), atol=1e-5)


# --- bad input: each error names the problem and the fix ---------------------------------

def test_sobel_refuses_a_colour_image_and_names_the_conversion():
    with pytest.raises(ValueError, match=r"colour image.*to_gray"):
        filters.sobel(np.zeros((8, 8, 3)))


@pytest.mark.parametrize("empty", [np.zeros((0, 5)), np.zeros((0, 0)), np.array([])])
def test_sobel_refuses_an_empty_array(empty):
    with pytest.raises(ValueError, match="empty"):
        filters.sobel(empty)


def test_sobel_refuses_a_1d_array_and_nan():
    with pytest.raises(ValueError, match="2-D"):
        filters.sobel(np.zeros(5))
    image = np.zeros((4, 4))
    image[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        filters.sobel(image)


@pytest.mark.parametrize("kernel", [np.ones(3), np.ones((3, 3, 3)), np.ones((1, 1, 1, 1))])
def test_correlate2d_refuses_a_kernel_that_is_not_2d(kernel):
    with pytest.raises(ValueError, match="kernel must be 2-D"):
        filters.correlate2d(np.zeros((5, 5)), kernel)


def test_gaussian_kernel_refuses_even_size_and_bad_sigma():
    with pytest.raises(ValueError, match="odd"):
        filters.gaussian_kernel(4, 1.0)
    with pytest.raises(ValueError, match="sigma"):
        filters.gaussian_kernel(5, 0.0)


# --- shape features -----------------------------------------------------------------------

def test_shape_features_on_a_hand_made_ring():
    ring = np.zeros((20, 30), bool)
    ring[5:15, 5:25] = True
    ring[8:12, 10:20] = False
    features = filters.shape_features(ring)
    assert features["area"] == 200 - 40
    assert (features["height"], features["width"]) == (10, 20)
    assert features["holes"] == 1
    assert features["centroid"] == pytest.approx((14.5, 9.5))
    assert features["centroid_relative"] == pytest.approx((0.5, 0.5))
    assert features["orientation"] == pytest.approx(0.0, abs=1e-6)


def test_shape_features_orientation_of_a_diagonal_bar():
    # from bottom-left to top-right
    bar = np.eye(40, dtype=bool)[::-1] | np.eye(40, k=1, dtype=bool)[::-1]
    assert filters.shape_features(bar)["orientation"] == pytest.approx(45.0, abs=2.0)


def test_a_diagonal_gap_is_not_a_hole():
    # Foreground touching only at corners still encloses nothing: background is 4-connected.
    diamond = np.zeros((7, 7), bool)
    for r, c in [(1, 3), (2, 2), (2, 4), (3, 1), (3, 5), (4, 2), (4, 4), (5, 3)]:
        diamond[r, c] = True
    assert filters.shape_features(diamond)["holes"] == 1
    open_shape = diamond.copy()
    open_shape[5, 3] = False
    open_shape[4, 4] = False
    assert filters.shape_features(open_shape)["holes"] == 0


@pytest.mark.parametrize("char,holes", [("A", 1), ("B", 2), ("8", 2), ("0", 1), ("1", 0), ("W", 0),
                                        ("X", 0), ("*", 0), ("_", 0), ("/", 0)])
def test_hole_counts_of_the_slide_characters(char, holes):
    assert filters.shape_features(data.character(char))["holes"] == holes


def test_shape_features_accepts_0_1_integers_and_keeps_the_keys():
    features = filters.shape_features(np.pad(np.ones((3, 3), np.uint8), 2))
    assert {"area", "height", "width", "holes", "centroid", "orientation"} <= set(features)
    assert features["orientation"] is None  # a square has no preferred axis


def test_shape_features_refuses_a_non_binary_image():
    with pytest.raises(ValueError, match="binary.*threshold"):
        filters.shape_features(np.linspace(0, 1, 16).reshape(4, 4))


@pytest.mark.parametrize("bad,message", [(np.zeros((0, 3), bool), "empty"),
                                         (np.zeros((3, 3, 3), bool), "2-D"),
                                         (np.zeros((4, 4), bool), "no foreground")])
def test_shape_features_refuses_empty_3d_and_blank_images(bad, message):
    with pytest.raises(ValueError, match=message):
        filters.shape_features(bad)
