"""The authors' protocols: TorchRay's pointing game, RISE's CausalMetric and ROAD.

Every expected value is worked out by hand or by a straight numpy port of the original
code, on hand-made maps and tiny hand-built models (nothing is trained).
"""

import keras
import numpy as np
import pytest
from scipy import ndimage

from camlib import graph
from camlib import metrics as M

# --- the pointing game: camlib's rule and TorchRay's ------------------------------------

SIZE = 16
BOX = (4, 4, 8, 8)  # x0, y0, x1, y1: the pixels x = 4..7, y = 4..7


def point_map(y, x, size=SIZE):
    m = np.zeros((1, size, size), np.float32)
    m[0, y, x] = 1.0
    return m


def hits(m, boxes, **kwargs):
    return M.pointing_hits(m, boxes, **kwargs).tolist()


def test_a_maximum_exactly_at_the_tolerance_hits_under_box_and_misses_under_torchray():
    m = point_map(11, 10)  # 3 columns and 4 rows from the corner pixel (7, 7): d = 5
    assert hits(m, [BOX], tolerance=5) == [True]           # d <= r
    assert hits(m, [BOX], tolerance=5, rule="torchray") == [False]   # d² < r² fails
    assert hits(m, [BOX], tolerance=5.01, rule="torchray") == [True]  # just inside
    assert hits(m, [BOX], tolerance=4.99) == [False]
    next_to = point_map(5, 8)  # one column right of the box: d = 1
    assert hits(next_to, [BOX], tolerance=1) == [True]
    assert hits(next_to, [BOX], tolerance=1, rule="torchray") == [False]


def test_torchray_default_tolerance_is_15_pixels_and_the_box_default_is_inside():
    corner = (0, 0, 1, 1)
    assert hits(point_map(0, 14), [corner], rule="torchray") == [True]   # d = 14
    assert hits(point_map(0, 15), [corner], rule="torchray") == [False]  # d = 15
    assert hits(point_map(0, 1), [corner]) == [False]                    # box: d = 1 > 0
    assert hits(point_map(0, 0), [corner]) == [True]


def test_tolerance_zero():
    inside = point_map(5, 5)
    assert hits(inside, [BOX], tolerance=0) == [True]
    assert hits(point_map(5, 8), [BOX], tolerance=0) == [False]
    with pytest.raises(ValueError, match=r"tolerance=0 never hits.*TorchRay uses 15"):
        M.pointing_hits(inside, [BOX], tolerance=0, rule="torchray")
    # Any tolerance in (0, 1] under TorchRay's rule means: inside the object.
    assert hits(inside, [BOX], tolerance=0.5, rule="torchray") == [True]
    assert hits(point_map(5, 8), [BOX], tolerance=0.5, rule="torchray") == [False]


def test_a_flat_map_misses_under_box_and_points_at_the_top_left_pixel_under_torchray():
    flat = np.full((1, SIZE, SIZE), 0.3, np.float32)
    everything = (0, 0, SIZE, SIZE)
    assert hits(flat, [everything]) == [False]
    assert hits(flat, [everything], tolerance=100) == [False]
    assert hits(flat, [everything], rule="torchray") == [True]
    assert hits(flat, [(8, 8, 16, 16)], rule="torchray") == [True]    # d² = 128 < 225
    assert hits(flat, [(12, 12, 16, 16)], rule="torchray") == [False]  # d² = 288


def test_ties_go_to_the_first_maximum_in_row_major_order_under_both_rules():
    m = np.zeros((1, SIZE, SIZE), np.float32)
    m[0, 2, 13] = m[0, 13, 2] = 1.0  # (2, 13) comes first
    near_first, near_second = (12, 0, 16, 4), (0, 12, 4, 16)
    assert hits(np.repeat(m, 2, 0), [near_first, near_second]) == [True, False]
    assert hits(np.repeat(m, 2, 0), [near_first, near_second], tolerance=1,
                rule="torchray") == [True, False]


def test_torchray_rule_takes_object_masks():
    mask = np.zeros((1, SIZE, SIZE), bool)  # an L: rows 4..7 of columns 4..5, and a foot
    mask[0, 4:8, 4:6] = True
    mask[0, 6:8, 6:8] = True
    notch = point_map(4, 7)  # inside the L's bounding box, 2 pixels from the L
    assert hits(notch, [(4, 4, 8, 8)], rule="torchray", tolerance=2) == [True]
    assert hits(notch, mask, rule="torchray", tolerance=2) == [False]
    assert hits(notch, mask, rule="torchray", tolerance=2.1) == [True]
    assert hits(notch, mask.astype(np.uint8), rule="torchray", tolerance=2.1) == [True]


def test_a_box_and_its_mask_give_the_same_hits_under_torchray():
    rng = np.random.default_rng(0)
    maps = rng.random((40, SIZE, SIZE)).astype(np.float32)
    boxes = np.array([(1, 2, 5, 9), (6, 6, 7, 7), (0, 0, 16, 3), (10, 3, 16, 16)] * 10)
    masks = np.zeros((40, SIZE, SIZE), bool)
    for mask, (x0, y0, x1, y1) in zip(masks, boxes):
        mask[y0:y1, x0:x1] = True
    for tolerance in (0.5, 1, 3, 4.5, 15):
        by_box = M.pointing_hits(maps, boxes, rule="torchray", tolerance=tolerance)
        by_mask = M.pointing_hits(maps, masks, rule="torchray", tolerance=tolerance)
        np.testing.assert_array_equal(by_box, by_mask)
    assert M.pointing_game(maps, masks, rule="torchray", tolerance=3) == pytest.approx(
        M.pointing_hits(maps, masks, rule="torchray", tolerance=3).mean())


def test_torchray_rule_upsamples_the_map_to_the_masks():
    small = np.zeros((1, 4, 4), np.float32)
    small[0, 3, 0] = 1  # image rows 12..15, columns 0..3 at 16 × 16
    mask = np.zeros((1, 16, 16), bool)
    mask[0, 12:, :4] = True
    assert hits(small, mask, image_size=16, rule="torchray", tolerance=1) == [True]
    assert hits(small, mask[:, ::-1], image_size=16, rule="torchray", tolerance=1) == [False]


@pytest.mark.parametrize(
    "objects, kwargs, message",
    [
        (np.ones((1, SIZE, SIZE), bool), {}, 'need rule="torchray"'),
        (np.ones((1, 8, 8), bool), dict(rule="torchray"), r"\(N, H, W\) = \(1, 16, 16\)"),
        (np.ones((2, SIZE, SIZE), bool), dict(rule="torchray"), "one mask per map"),
        (np.zeros((1, SIZE, SIZE), bool), dict(rule="torchray"), "empty.*masks.any"),
        (np.full((1, SIZE, SIZE), 0.5), dict(rule="torchray"), "masks > 0.5"),
        ([BOX], dict(rule="TorchRay"), 'rule must be "box"'),
        ([BOX], dict(rule="torchray", tolerance=-1), "tolerance"),
        ([BOX], dict(tolerance=np.nan), "tolerance"),
    ],
)
def test_bad_pointing_arguments_are_refused(objects, kwargs, message):
    with pytest.raises(ValueError, match=message):
        M.pointing_hits(point_map(5, 5), objects, **kwargs)


# --- deletion and insertion as RISE's CausalMetric --------------------------------------


def rise_gkern(klen, nsig):
    """RISE's gkern: a Gaussian-smoothed dirac (one channel of its 3 × 3 kernel)."""
    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    return ndimage.gaussian_filter(inp, nsig).astype("float32")


def rise_blur(image, klen=11, nsig=5):
    """torch's conv2d(x, gkern(11, 5), padding=5) on one (H, W, C) image, in numpy."""
    kern = rise_gkern(klen, nsig)
    pad = klen // 2
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)))  # zeros
    out = np.zeros(image.shape, np.float64)
    h, w = image.shape[:2]
    for i in range(klen):
        for j in range(klen):
            out += kern[i, j] * padded[i:i + h, j:j + w]
    return out.astype(np.float32)


def rise_single_run(model, img, explanation, mode, step, substrate_fn):
    """RISE's CausalMetric.single_run, line by line, for one (H, W, C) image."""
    HW = img.shape[0] * img.shape[1]
    pred = model(img[None].copy())
    c = np.argmax(pred, 1)[0]
    n_steps = (HW + step - 1) // step
    if mode == "del":
        start = img.copy()
        finish = substrate_fn(img)
    else:
        start = substrate_fn(img)
        finish = img.copy()
    scores = np.empty(n_steps + 1)
    salient_order = np.flip(np.argsort(explanation.reshape(-1, HW), axis=1), axis=-1)
    for i in range(n_steps + 1):
        pred = model(start[None].copy())
        scores[i] = pred[0, c]
        if i < n_steps:
            coords = salient_order[:, step * i:step * (i + 1)]
            start.reshape(HW, -1)[coords[0]] = finish.reshape(HW, -1)[coords[0]]
    return scores


def rise_auc(arr):
    return (arr.sum() - arr[0] / 2 - arr[-1] / 2) / (arr.shape[0] - 1)


@pytest.fixture(scope="module")
def softmax_model():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="fc")(x)
    return keras.Model(inputs, outputs)


def test_the_rise_blur_is_rises_kernel_convolved_with_zero_padding():
    images = np.random.default_rng(1).random((2, 13, 9, 3)).astype(np.float32)
    expected = np.stack([rise_blur(image) for image in images])
    np.testing.assert_allclose(M.baseline_images(images, "rise-blur"), expected, rtol=1e-5,
                               atol=1e-6)
    kern = rise_gkern(11, 5)
    assert kern.sum() == pytest.approx(1, abs=1e-6) and np.allclose(kern, kern.T)
    ones = M.baseline_images(np.ones((1, 32, 32, 1)), "rise-blur")
    assert ones[0, 16, 16, 0] == pytest.approx(1, abs=1e-6)   # away from the border
    assert ones[0, 0, 0, 0] < 0.5                             # the zero padding
    with pytest.raises(ValueError, match='only with baseline="blur"'):
        M.baseline_images(images, "rise-blur", sigma=2)


@pytest.mark.parametrize("mode, baseline", [("del", "zero"), ("ins", "rise-blur"),
                                            ("del", "rise-blur"), ("ins", "zero")])
def test_curves_equal_a_port_of_rises_causal_metric(softmax_model, mode, baseline):
    rng = np.random.default_rng(2)
    images = rng.random((2, 8, 8, 3)).astype(np.float32)
    maps = rng.random((2, 8, 8)).astype(np.float32)
    assert all(len(np.unique(m)) == m.size for m in maps)  # no ties
    step = 4  # pixels per step: 64 / 4 = 16 steps
    substrate = {"zero": np.zeros_like, "rise-blur": rise_blur}[baseline]

    def predict(x):
        return softmax_model(x, training=False).numpy()

    ported = np.stack([rise_single_run(predict, image, m, mode, step, substrate)
                       for image, m in zip(images, maps)])
    curve = (M.deletion_curve if mode == "del" else M.insertion_curve)(
        softmax_model, images, maps, steps=64 // step, baseline=baseline)
    assert curve.shape == ported.shape == (2, 17)
    np.testing.assert_allclose(curve, ported, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(M.area_under(curve), [rise_auc(p) for p in ported],
                               rtol=1e-5, atol=1e-6)


# --- ROAD: noisy linear imputation -----------------------------------------------------


def neighbour_mean(image, y, x):
    """ROAD's weighted mean of the neighbours of (y, x) inside the image, renormalised."""
    total, weights = 0.0, 0.0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ny, nx = y + dy, x + dx
            if (dy, dx) == (0, 0) or not (0 <= ny < image.shape[0] and 0 <= nx < image.shape[1]):
                continue
            weight = 1 / 6 if dy == 0 or dx == 0 else 1 / 12
            total, weights = total + weight * image[ny, nx], weights + weight
    return total / weights


def ramp(height, width):
    y, x = np.mgrid[:height, :width].astype(np.float64)
    return np.stack([2 * y + 3 * x + 1, 0.5 * x - y], axis=-1)[None]  # (1, H, W, 2)


def test_a_hole_in_a_linear_ramp_is_filled_exactly():
    image = ramp(9, 10)
    removed = np.zeros((1, 9, 10), bool)
    removed[0, 2:6, 3:7] = True  # a block
    removed[0, 7, 1] = removed[0, 1, 8] = True  # single pixels, inside the border
    holed = np.where(removed[..., None], -50.0, image)
    filled = M.noisy_linear_imputation(holed, removed, noise=0)
    assert filled.dtype == np.float32 and filled.shape == image.shape
    np.testing.assert_allclose(filled, image, atol=1e-4)


def test_every_imputed_pixel_is_the_weighted_mean_of_its_neighbours_also_at_the_border():
    rng = np.random.default_rng(3)
    images = rng.random((2, 7, 6, 3)).astype(np.float32)
    removed = rng.random((2, 7, 6)) < 0.5
    removed[:, 0, 0] = removed[:, -1, :] = True  # a corner and a whole border row
    filled = M.noisy_linear_imputation(images, removed, noise=0).astype(np.float64)
    for n, y, x in zip(*np.nonzero(removed)):
        np.testing.assert_allclose(filled[n, y, x], neighbour_mean(filled[n], y, x),
                                   atol=1e-5)
    for n in range(2):  # the imputed values stay within the known values
        known = images[n][~removed[n]]
        assert (filled[n][removed[n]] >= known.min(0) - 1e-5).all()
        assert (filled[n][removed[n]] <= known.max(0) + 1e-5).all()


def test_a_removed_region_touching_the_border_of_a_constant_image():
    image = np.ones((1, 6, 6, 3), np.float32) * np.array([0.2, 0.5, 0.9], np.float32)
    removed = np.zeros((1, 6, 6), bool)
    removed[0, :3, :4] = True  # the top-left corner and part of two borders
    removed[0, 5, :] = True    # the whole bottom row
    holed = np.where(removed[..., None], 0.0, image)
    np.testing.assert_allclose(M.noisy_linear_imputation(holed, removed, noise=0), image,
                               atol=1e-6)


def test_noise_is_added_to_removed_pixels_only_and_follows_the_seed():
    rng = np.random.default_rng(4)
    images = rng.random((2, 30, 30, 3)).astype(np.float32)
    removed = np.zeros((2, 30, 30), bool)
    removed[:, 5:25, 5:25] = True
    clean = M.noisy_linear_imputation(images, removed, noise=0)
    noisy = M.noisy_linear_imputation(images, removed, noise=0.05, seed=7)
    np.testing.assert_array_equal(noisy[~removed], images[~removed])  # untouched
    np.testing.assert_array_equal(clean[~removed], images[~removed])
    difference = (noisy - clean)[removed]
    assert (difference != 0).all()
    assert difference.std() == pytest.approx(0.05, rel=0.1)
    assert abs(difference.mean()) < 0.01
    np.testing.assert_array_equal(
        noisy, M.noisy_linear_imputation(images, removed, noise=0.05, seed=7))
    assert not np.array_equal(
        noisy, M.noisy_linear_imputation(images, removed, noise=0.05, seed=8))


def test_nothing_removed_changes_nothing_and_everything_removed_is_refused():
    images = np.random.default_rng(5).random((2, 4, 4, 1)).astype(np.float32)
    np.testing.assert_array_equal(
        M.noisy_linear_imputation(images, np.zeros((2, 4, 4), bool)), images)
    removed = np.zeros((2, 4, 4), bool)
    removed[1] = True
    with pytest.raises(ValueError, match=r"every pixel of images \[1\].*at least one"):
        M.noisy_linear_imputation(images, removed)
    removed[1, 3, 3] = False  # one known pixel is enough: it fills the whole image
    filled = M.noisy_linear_imputation(images, removed, noise=0)
    np.testing.assert_allclose(filled[1], np.full((4, 4, 1), images[1, 3, 3, 0]), atol=1e-6)


@pytest.mark.parametrize(
    "removed, kwargs, message",
    [
        (np.zeros((4, 4), bool), {}, r"removed\[None\]"),
        (np.zeros((1, 4, 5), bool), {}, r"\(N, H, W\) = \(1, 4, 4\)"),
        (np.full((1, 4, 4), 0.5), {}, "bools"),
        (np.zeros((1, 4, 4), bool), dict(noise=-0.1), "noise"),
        (np.zeros((1, 4, 4), bool), dict(seed=-1), "seed"),
    ],
)
def test_bad_imputation_arguments_are_refused(removed, kwargs, message):
    with pytest.raises(ValueError, match=message):
        M.noisy_linear_imputation(np.ones((1, 4, 4, 1)), removed, **kwargs)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        M.noisy_linear_imputation(np.ones((4, 4, 1)), np.zeros((4, 4), bool))


ROAD_NEIGHBOURS = [((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
                   ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6)]


def road_impute(img, mask):
    """ROAD's NoisyLinearImputer with noise 0, line by line: img (C, H, W), mask 1 = kept."""
    from scipy.sparse import csc_matrix, lil_matrix
    from scipy.sparse.linalg import spsolve

    maskflt = mask.flatten()
    imgflat = img.reshape((img.shape[0], -1))
    indices = np.argwhere(maskflt == 0).flatten()
    coords_to_vidx = np.zeros(len(maskflt), dtype=int)
    coords_to_vidx[indices] = np.arange(len(indices))
    A = lil_matrix((len(indices), len(indices)))
    b = np.zeros((len(indices), img.shape[0]))
    sum_neighbors = np.ones(len(indices))
    for offset, weight in ROAD_NEIGHBOURS:
        cord1 = indices % mask.shape[1] + offset[1]
        cord0 = indices // mask.shape[1] + offset[0]
        valid = ~((cord0 < 0) | (cord1 < 0) | (cord0 >= mask.shape[0])
                  | (cord1 >= mask.shape[1]))
        new_coords = indices + offset[0] * mask.shape[1] + offset[1]
        valid_coords = new_coords[valid]
        valid_ids = np.argwhere(valid == 1).flatten()
        has_values_coords = valid_coords[maskflt[valid_coords] > 0.5]
        has_values_ids = valid_ids[maskflt[valid_coords] > 0.5]
        b[has_values_ids, :] -= weight * imgflat[:, has_values_coords].T
        has_no_values = valid_coords[maskflt[valid_coords] < 0.5]
        variable_ids = coords_to_vidx[has_no_values]
        has_no_values_ids = valid_ids[maskflt[valid_coords] < 0.5]
        A[has_no_values_ids, variable_ids] = weight
        sum_neighbors[np.argwhere(valid == 0).flatten()] -= weight
    A[np.arange(len(indices)), np.arange(len(indices))] = -sum_neighbors
    res = spsolve(csc_matrix(A), b)
    img_infill = imgflat.copy()
    img_infill[:, indices] = res.T
    return img_infill.reshape(img.shape)


def test_the_imputation_equals_a_port_of_roads_noisy_linear_imputer():
    rng = np.random.default_rng(8)
    images = rng.random((3, 9, 7, 3)).astype(np.float32)
    removed = rng.random((3, 9, 7)) < np.array([0.2, 0.6, 0.95])[:, None, None]
    removed[:, 0, 0] = True
    removed[2, 4, 4] = False  # at least one known pixel
    ported = np.stack([
        np.moveaxis(road_impute(np.moveaxis(image, -1, 0).astype(np.float64),
                                (~mask).astype(np.uint8)), 0, -1)
        for image, mask in zip(images, removed)])
    np.testing.assert_allclose(M.noisy_linear_imputation(images, removed, noise=0), ported,
                               rtol=1e-5, atol=1e-6)


# --- ROAD: the curve --------------------------------------------------------------------


@pytest.fixture(scope="module")
def box_sum_model():
    """logit_0 = the sum of the pixels in the top-left 2 × 2 of a 4 × 4 image, logit_1 = 0."""
    inputs = keras.Input((4, 4, 1))
    dense = keras.layers.Dense(2, activation="softmax", name="fc")
    outputs = dense(keras.layers.Flatten()(inputs))
    kernel = np.zeros((16, 2), np.float32)
    kernel[[0, 1, 4, 5], 0] = 1.0
    dense.set_weights([kernel, np.zeros(2, np.float32)])
    return keras.Model(inputs, outputs)


def box_image():
    image = np.zeros((1, 4, 4, 1), np.float32)
    image[0, :2, :2] = 1.0
    return image


def box_first_map():
    m = np.zeros((1, 4, 4), np.float32)
    m[0, :2, :2] = 2.0
    return m + np.arange(16).reshape(4, 4) / 100  # no ties


def test_road_curve_on_a_model_with_a_known_answer(box_sum_model):
    kwargs = dict(class_index=0, fractions=(0.25, 0.5, 0.75), noise=0, score="logit")
    morf = M.road_curve(box_sum_model, box_image(), box_first_map(), order="morf", **kwargs)
    lerf = M.road_curve(box_sum_model, box_image(), box_first_map(), order="lerf", **kwargs)
    # MoRF removes the box first; its neighbours are 0, so it is filled with 0. LeRF
    # removes the other pixels and leaves the box alone.
    np.testing.assert_allclose(morf, [[0, 0, 0]], atol=1e-5)
    np.testing.assert_allclose(lerf, [[4, 4, 4]], atol=1e-5)


def test_morf_is_below_lerf_for_a_map_that_ranks_the_box_first(box_sum_model):
    images = np.repeat(box_image(), 3, 0)
    maps = np.repeat(box_first_map(), 3, 0)
    morf = M.road_curve(box_sum_model, images, maps, order="morf")
    lerf = M.road_curve(box_sum_model, images, maps, order="lerf")
    assert morf.shape == lerf.shape == (3, 9) and morf.dtype == np.float32
    assert (morf[:, 1:] < lerf[:, 1:]).all()  # 0.1 of 16 pixels rounds down to one
    assert (morf[:, 3:] < 0.6).all() and (lerf > 0.95).all()


def test_road_removes_the_top_or_bottom_fraction_rounded_down(box_sum_model, monkeypatch):
    seen = []
    impute = M._impute

    def recording(image, removed, *args):
        seen.append(removed.copy())
        return impute(image, removed, *args)

    monkeypatch.setattr(M, "_impute", recording)
    ranks = M.pixel_ranks(box_first_map())[0]
    fractions = (0.1, 0.3, 0.29, 0.9)  # 1.6, 4.8, 4.64, 14.4 pixels
    for order in ("morf", "lerf"):
        seen.clear()
        M.road_curve(box_sum_model, box_image(), box_first_map(), order=order,
                     fractions=fractions)
        counts = [int(r.sum()) for r in seen]
        assert counts == [1, 4, 4, 14]
        for removed, count in zip(seen, counts):
            expected = ranks < count if order == "morf" else ranks >= 16 - count
            np.testing.assert_array_equal(removed, expected)


def test_road_curve_follows_the_seed_not_the_batch_size(box_sum_model):
    rng = np.random.default_rng(6)
    images = rng.random((3, 4, 4, 1)).astype(np.float32)
    maps = rng.random((3, 2, 2)).astype(np.float32)  # upsampled to 4 × 4 inside
    curves = M.road_curve(box_sum_model, images, maps, noise=0.05, score="logit")
    for batch_size in (1, 4, 100):
        np.testing.assert_array_equal(
            M.road_curve(box_sum_model, images, maps, noise=0.05, score="logit",
                         batch_size=batch_size), curves)
    assert not np.array_equal(
        M.road_curve(box_sum_model, images, maps, noise=0.05, score="logit", seed=1), curves)


def test_imputed_values_are_clipped_to_the_models_input_range():
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    graph.declare_input_range(model, 0.0, 1.0)
    images = np.zeros((2, 4, 4, 1), np.float32)  # at the lower end of the range
    curves = M.road_curve(model, images, box_first_map().repeat(2, 0), noise=0.5)
    assert np.isfinite(curves).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(order="MoRF"), 'order must be "morf"'),
        (dict(order="random"), 'order must be "morf"'),
        (dict(fractions=(0, 0.5)), "strictly between 0 and 1"),
        (dict(fractions=(0.5, 1)), "strictly between 0 and 1"),
        (dict(fractions=[1.5]), "strictly between 0 and 1"),
        (dict(fractions=[-0.1]), "strictly between 0 and 1"),
        (dict(fractions=[np.nan]), "strictly between 0 and 1"),
        (dict(fractions=[True]), "strictly between 0 and 1"),
        (dict(fractions=[]), "empty"),
        (dict(fractions=0.5), r"pass \[f\]"),
        (dict(fractions="0.5"), r"pass \[f\]"),
        (dict(fractions=[[0.1], [0.2, 0.3]]), r"pass \[f\]"),
        (dict(noise=-1), "noise"),
        (dict(score="rank"), "score"),
        (dict(batch_size=0), "batch_size"),
        (dict(seed=0.5), "seed"),
        (dict(class_index=5), "out of range"),
    ],
)
def test_bad_road_arguments_are_refused(box_sum_model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        M.road_curve(box_sum_model, box_image(), box_first_map(), **kwargs)


def test_road_curve_needs_one_map_per_image(box_sum_model):
    with pytest.raises(ValueError, match="2 images but 1 maps"):
        M.road_curve(box_sum_model, np.repeat(box_image(), 2, 0), box_first_map())
