"""Adebayo et al.'s sanity checks: the similarities, the controls and the data test.

SSIM is checked against tf.image.ssim and, when it is installed, scikit-image. The
models are tiny and hand-built (nothing is trained).
"""

import numpy as np
import pytest
import tensorflow as tf
from builders import small_cnn
from scipy import ndimage, stats

from camlib import cam as C
from camlib import metrics as M

BT709 = np.array([0.2125, 0.7154, 0.0721])


def scaled(maps):
    """Adebayo et al.'s normalize_image, map by map: (x - min) / (max - min)."""
    maps = np.asarray(maps, np.float64)
    low = maps.min(axis=(1, 2), keepdims=True)
    return (maps - low) / (maps.max(axis=(1, 2), keepdims=True) - low)


def tf_ssim(a, b, **kwargs):
    """tf.image.ssim of maps that are already in [0, 1], one value per pair."""
    a = tf.constant(np.asarray(a)[..., None], tf.float32)
    b = tf.constant(np.asarray(b)[..., None], tf.float32)
    return tf.image.ssim(a, b, **kwargs).numpy()


def random_pairs(n=4, shape=(16, 16), seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, *shape))
    return a, a + rng.normal(size=a.shape)  # related but not equal


def images(n=4, size=16, seed=0, channels=3):
    return np.random.default_rng(seed).random((n, size, size, channels), dtype=np.float32)


@pytest.fixture(scope="module")
def model():
    return small_cnn(size=16, classes=4, seed=3)


# --- rank correlation, with and without the sign ----------------------------------------


def test_rank_correlation_with_and_without_the_sign():
    a = np.random.default_rng(1).normal(size=(3, 8, 8))
    np.testing.assert_allclose(M.rank_correlation(a, a), 1.0)
    np.testing.assert_allclose(M.rank_correlation(a, -a), -1.0)
    np.testing.assert_allclose(M.rank_correlation(a, -a, absolute=True), 1.0)
    np.testing.assert_array_equal(M.rank_correlation(a, a), M.rank_correlation(a, a,
                                                                             absolute=False))


def test_absolute_rank_correlation_is_spearmans_rho_of_the_absolute_values():
    a, b = random_pairs(n=3, shape=(9, 7), seed=2)
    b[0, :3] = 0.0  # ties
    expected = [stats.spearmanr(np.abs(x).ravel(), np.abs(y).ravel())[0] for x, y in zip(a, b)]
    np.testing.assert_allclose(M.rank_correlation(a, b, absolute=True), expected, atol=1e-12)
    signed = [stats.spearmanr(x.ravel(), y.ravel())[0] for x, y in zip(a, b)]
    np.testing.assert_allclose(M.rank_correlation(a, b), signed, atol=1e-12)


def test_absolute_rank_correlation_of_a_flat_map_is_zero_not_nan():
    a = np.arange(16.0).reshape(1, 4, 4) - 8
    assert M.rank_correlation(a, np.full_like(a, -3.0), absolute=True).tolist() == [0.0]


@pytest.mark.parametrize("absolute", ["yes", 1, None])
def test_rank_correlation_refuses_an_absolute_that_is_not_a_bool(absolute):
    a = np.ones((1, 4, 4))
    with pytest.raises(ValueError, match="absolute must be True or False"):
        M.rank_correlation(a, a, absolute=absolute)


# --- SSIM -------------------------------------------------------------------------------


def test_ssim_of_a_map_and_itself_is_exactly_one():
    a, _ = random_pairs(n=3)
    assert M.ssim(a, a).tolist() == [1.0, 1.0, 1.0]
    # Scaled to [0, 1] first, so scaling or shifting a map changes nothing.
    np.testing.assert_allclose(M.ssim(a, 5 * a - 2), 1.0, atol=1e-12)
    assert M.ssim(a, a, data_range=1, sample_covariance=False).tolist() == [1.0] * 3


@pytest.mark.parametrize("shape", [(16, 16), (11, 11), (13, 20)])
@pytest.mark.parametrize("data_range", [1.0, 2.0])
def test_ssim_matches_tf_image_ssim(shape, data_range):
    a, b = random_pairs(shape=shape, seed=3)
    # tf.image.ssim uses the population covariance: Wang et al.'s SSIM.
    ours = M.ssim(a, b, data_range=data_range, sample_covariance=False)
    expected = tf_ssim(scaled(a), scaled(b), max_val=data_range)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    assert np.all(np.abs(ours) < 1)


def test_ssim_matches_tf_image_ssim_with_a_smaller_window():
    a, b = random_pairs(shape=(8, 9), seed=4)
    ours = M.ssim(a, b, window=7, sigma=1.0, data_range=1, sample_covariance=False)
    expected = tf_ssim(scaled(a), scaled(b), max_val=1.0, filter_size=7, filter_sigma=1.0)
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_ssim_defaults_are_adebayo_et_al_s_scikit_image_call():
    metrics = pytest.importorskip("skimage.metrics")
    a, b = random_pairs(seed=5)
    # Their call was compare_ssim(x, y, gaussian_weights=True) in scikit-image 0.15,
    # which took data_range = 2 for float images; today it must be passed.
    expected = [metrics.structural_similarity(x, y, gaussian_weights=True, data_range=2.0)
                for x, y in zip(scaled(a), scaled(b))]
    np.testing.assert_allclose(M.ssim(a, b), expected, atol=1e-7)
    # scikit-image sets the window from sigma: 2 * int(3.5 * sigma + 0.5) + 1 = 9 for 1.
    textbook = [metrics.structural_similarity(x, y, gaussian_weights=True, sigma=1.0,
                                              use_sample_covariance=False, data_range=1.0)
                for x, y in zip(scaled(a), scaled(b))]
    np.testing.assert_allclose(M.ssim(a, b, window=9, sigma=1.0, data_range=1,
                                      sample_covariance=False), textbook, atol=1e-7)


def test_ssim_scales_a_flat_map_to_zeros_and_never_gives_nan():
    a, _ = random_pairs(n=2)
    flat = np.full_like(a, 0.3)
    assert M.ssim(flat, flat).tolist() == [1.0, 1.0]  # the same map
    against = M.ssim(flat, a, data_range=1, sample_covariance=False)
    assert np.isfinite(against).all() and np.all(np.abs(against) < 0.01)
    np.testing.assert_allclose(against, tf_ssim(np.zeros_like(a), scaled(a), max_val=1.0),
                               atol=1e-5)
    assert np.isfinite(M.ssim(flat, a)).all()


def test_ssim_refuses_maps_smaller_than_the_window_and_names_the_fixes():
    small = np.random.default_rng(6).random((2, 8, 8))
    with pytest.raises(ValueError, match=r"11 × 11 window does not fit maps of 8 × 8.*"
                                         r"image_size=\(H, W\).*window=7"):
        M.ssim(small, small)
    with pytest.raises(ValueError, match="window does not fit") as info:
        M.ssim(small[:, :2], small[:, :2], window=3)
    assert "window=" not in str(info.value).split("image_size")[1]  # no window fits 2 rows
    assert M.ssim(small, small, window=7).tolist() == [1.0, 1.0]


def test_ssim_upsamples_to_image_size():
    from camlib.maps import upsample

    a, b = random_pairs(shape=(8, 8), seed=7)
    expected = M.ssim(upsample(a, 16), upsample(b, 16))
    np.testing.assert_allclose(M.ssim(a, b, image_size=16), expected)
    np.testing.assert_allclose(M.ssim(a, b, image_size=(16, 16)), expected)


@pytest.mark.parametrize("settings, message", [
    ({"window": 10}, "window must be an odd whole number"),
    ({"window": 1}, "window must be an odd whole number"),
    ({"window": 7.0}, "window must be an odd whole number"),
    ({"window": True}, "window must be an odd whole number"),
    ({"sigma": 0}, "sigma"),
    ({"sigma": float("nan")}, "sigma"),
    ({"data_range": 0}, "data_range"),
    ({"data_range": 1e-9}, "data_range must be between"),
    ({"data_range": 1e9}, "data_range must be between"),
    ({"sample_covariance": "yes"}, "sample_covariance must be True or False"),
    ({"image_size": (16, 0)}, "image_size"),
])
def test_ssim_refuses_bad_settings(settings, message):
    a, b = random_pairs(n=1)
    with pytest.raises(ValueError, match=message):
        M.ssim(a, b, **settings)


def test_ssim_refuses_maps_that_do_not_pair_up_or_are_not_finite():
    a, b = random_pairs(n=2)
    with pytest.raises(ValueError, match="pair up"):
        M.ssim(a, b[:1])
    b[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="maps_b contain 1 NaN"):
        M.ssim(a, b)


# --- sanity_check with each measure ------------------------------------------------------


@pytest.mark.parametrize("measure", M.SIMILARITIES)
def test_sanity_check_with_each_measure(model, measure):
    x = images(seed=8)
    classes = np.array([0, 1, 2, 3])
    before = C.cam(model, x, classes)
    after = C.cam(M.randomize_top(model, 1, seed=2), x, classes)
    expected = {
        "spearman": lambda: M.rank_correlation(before, after),
        "abs_spearman": lambda: M.rank_correlation(before, after, absolute=True),
        "ssim": lambda: M.ssim(before, after, image_size=16),  # at the image size
    }[measure]()
    got = M.sanity_check(C.cam, model, x, classes, seed=2, measure=measure)
    assert got.shape == (4,) and np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert np.all(got < 0.999)  # the randomised head changes the maps
    given = M.sanity_check(C.cam, model, x, classes, seed=2, measure=measure, maps=before)
    np.testing.assert_allclose(given, got, atol=1e-6)
    cascade = M.sanity_check(C.cam, model, x, classes, layers=[1, 2], seed=2, measure=measure)
    assert cascade.shape == (2, 4)
    np.testing.assert_allclose(cascade[0], got, atol=1e-6)


def test_sanity_check_default_measure_is_still_spearman(model):
    x = images(seed=9)
    np.testing.assert_array_equal(M.sanity_check(C.cam, model, x, 1),
                                  M.sanity_check(C.cam, model, x, 1, measure="spearman"))


@pytest.mark.parametrize("measure", ["pearson", "SSIM", None, M.ssim])
def test_sanity_check_refuses_an_unknown_measure(model, measure):
    with pytest.raises(ValueError, match=r"measure must be one of \('spearman', "
                                         r"'abs_spearman', 'ssim'\)"):
        M.sanity_check(C.cam, model, images(), measure=measure)


def test_sanity_check_refuses_ssim_on_images_smaller_than_the_window():
    tiny = small_cnn(size=8, seed=1)
    with pytest.raises(ValueError, match=r'measure="ssim" compares the maps at the image '
                                         r"size, 8 × 8.*spearman"):
        M.sanity_check(C.cam, tiny, images(size=8), measure="ssim")


# --- the edge control -------------------------------------------------------------------


def sobel_magnitude(grey):
    return np.hypot(ndimage.sobel(grey, axis=1), ndimage.sobel(grey, axis=0))


def test_edge_control_is_the_sobel_magnitude_of_the_grey_image():
    x = images(n=3, size=12, seed=10).astype(np.float64)
    expected = np.stack([sobel_magnitude(image @ BT709) for image in x])
    np.testing.assert_allclose(M.edge_control(None, x), expected, rtol=1e-5, atol=1e-5)
    one = x[..., :1]
    np.testing.assert_allclose(M.edge_control(None, one),
                               np.stack([sobel_magnitude(g[..., 0]) for g in one]), atol=1e-5)
    two = x[..., :2]  # neither grey nor RGB: the mean of the channels
    np.testing.assert_allclose(M.edge_control(None, two),
                               np.stack([sobel_magnitude(g.mean(-1)) for g in two]), atol=1e-5)
    assert M.edge_control(None, x).dtype == np.float32


@pytest.mark.parametrize("measure", M.SIMILARITIES)
def test_edge_control_fails_every_randomisation_with_exactly_one(model, measure):
    x = images(seed=11)
    cascade = M.sanity_check(M.edge_control, model, x, layers=[1, 2, 3], measure=measure)
    assert cascade.tolist() == [[1.0] * 4] * 3
    other = small_cnn(size=16, classes=4, seed=30)
    assert M.model_comparison(M.edge_control, model, other, x, 0,
                              measure=measure).tolist() == [1.0] * 4


def test_edge_control_of_a_flat_image_is_flat():
    flat = np.full((1, 16, 16, 3), 0.5, np.float32)
    edges = M.edge_control(None, flat)
    assert np.ptp(edges) == 0 and np.allclose(edges, 0, atol=1e-6)  # flat, zero up to rounding
    model = small_cnn(size=16, seed=12)
    # Rank correlation calls a flat map 0; SSIM calls two flat maps the same.
    assert M.sanity_check(M.edge_control, model, flat).tolist() == [0.0]
    assert M.sanity_check(M.edge_control, model, flat, measure="ssim").tolist() == [1.0]


def test_edge_control_accepts_map_method_settings_and_refuses_others():
    x = images(n=1)
    np.testing.assert_array_equal(M.edge_control(None, x, 2, layer="c2", batch_size=8),
                                  M.edge_control(None, x))
    with pytest.raises(ValueError, match=r"edge_control does not take \['sigma'\]"):
        M.edge_control(None, x, sigma=2)
    with pytest.raises(ValueError, match=r"images must be \(N, H, W, C\)"):
        M.edge_control(None, x[0])


# --- the random control -----------------------------------------------------------------


def test_random_control_shapes_and_values():
    x = images(n=3, size=12)
    maps = M.random_control(None, x, rng=0)
    assert maps.shape == (3, 12, 12) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() < 1
    assert M.random_control(None, x, size=5).shape == (3, 5, 5)
    assert M.random_control(None, x, size=(4, 6), layer="c2", batch_size=2).shape == (3, 4, 6)


def test_random_control_with_an_int_is_the_same_for_every_model_and_fails(model):
    x = images(seed=13)
    np.testing.assert_array_equal(M.random_control(model, x, rng=4),
                                  M.random_control(None, x, rng=4))
    assert M.sanity_check(M.random_control, model, x, rng=4).tolist() == [1.0] * 4


def test_random_control_redrawn_on_every_call_passes_even_against_itself(model):
    x = images(n=8, seed=14)
    passed = M.sanity_check(M.random_control, model, x, rng=np.random.default_rng(0))
    assert abs(passed.mean()) < 0.15 and np.all(np.abs(passed) < 0.4)
    # A Generator makes the run repeatable; each call still draws new maps.
    again = M.sanity_check(M.random_control, model, x, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(passed, again)
    itself = M.model_comparison(M.random_control, model, model, x, 0,
                                rng=np.random.default_rng(1))
    assert abs(itself.mean()) < 0.15
    # None draws fresh maps on every call, and every run differs.
    assert not np.array_equal(M.random_control(None, x), M.random_control(None, x))


@pytest.mark.parametrize("rng", [-1, 1.5, True, "0", np.random.RandomState(0)])
def test_random_control_refuses_a_bad_rng(rng):
    with pytest.raises(ValueError, match="rng must be None"):
        M.random_control(None, images(n=1), rng=rng)


def test_random_control_refuses_a_bad_size_or_setting():
    x = images(n=1)
    with pytest.raises(ValueError, match="size"):
        M.random_control(None, x, size=0)
    with pytest.raises(ValueError, match=r"random_control does not take \['seed'\]"):
        M.random_control(None, x, seed=0)


# --- the data randomisation test --------------------------------------------------------


@pytest.mark.parametrize("measure", M.SIMILARITIES)
def test_model_comparison_of_a_model_with_itself_is_one(model, measure):
    x = images(seed=15)
    maps = C.cam(model, x, [0, 1, 2, 3])
    assert np.all(maps.max(axis=(1, 2)) > maps.min(axis=(1, 2)))  # no flat map
    got = M.model_comparison(C.cam, model, model, x, [0, 1, 2, 3], measure=measure)
    np.testing.assert_allclose(got, 1.0, atol=1e-12)


def test_model_comparison_compares_the_maps_of_the_same_classes(model):
    x = images(seed=16)
    other = small_cnn(size=16, classes=4, seed=40)
    labels = np.array([3, 2, 1, 0])
    expected = M.rank_correlation(C.cam(model, x, labels), C.cam(other, x, labels))
    got = M.model_comparison(C.cam, model, other, x, labels)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert np.all(got < 0.999)
    predicted = M.predicted_classes(model, x)
    np.testing.assert_allclose(M.model_comparison(C.cam, model, other, x, None),
                               M.model_comparison(C.cam, model, other, x, predicted))
    ssim = M.model_comparison(C.cam, model, other, x, labels, measure="ssim")
    expected = M.ssim(C.cam(model, x, labels), C.cam(other, x, labels), image_size=16)
    np.testing.assert_allclose(ssim, expected, atol=1e-6)


def test_model_comparison_refuses_models_of_different_shapes_or_classes(model):
    x = images()
    with pytest.raises(ValueError, match=r"model_a takes images of shape \(16, 16, 3\) but "
                                         r"model_b takes \(12, 12, 3\)"):
        M.model_comparison(C.cam, model, small_cnn(size=12, classes=4), x, 0)
    with pytest.raises(ValueError, match="model_a has 4 classes but model_b has 3"):
        M.model_comparison(C.cam, model, small_cnn(size=16, classes=3), x, 0)


def test_model_comparison_refuses_bad_measures_methods_and_classes(model):
    x = images()
    with pytest.raises(ValueError, match="measure must be one of"):
        M.model_comparison(C.cam, model, model, x, 0, measure="hog")
    with pytest.raises(ValueError, match="method must be a map method"):
        M.model_comparison("cam", model, model, x, 0)
    with pytest.raises(ValueError, match="out of range"):
        M.model_comparison(C.cam, model, model, x, 7)
    with pytest.raises(ValueError, match="model must be a Keras model"):
        M.model_comparison(C.cam, model, None, x, 0)
    tiny = small_cnn(size=8)
    with pytest.raises(ValueError, match='measure="ssim" compares the maps at the image size'):
        M.model_comparison(C.cam, tiny, tiny, images(size=8), 0, measure="ssim")
