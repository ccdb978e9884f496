"""camlib.wsol against the authors' own unit tests (clovaai/wsolevaluation, evaluation_test.py).

Each test named ``test_authors_...`` is one of their cases with their expected values. Their
mask tests read three OpenImages masks; the expected values depend only on the masks' pixel
counts (object, background and ignored pixels), so the masks here are built with those
counts. Their ``resize_bbox`` tests are not ported: camlib's boxes are made at the image's
own size and never resized.
"""

import numpy as np
import pytest

pytest.importorskip("cv2")

from camlib import localize, wsol  # noqa: E402

# --- calculate_multiple_iou ------------------------------------------------------------


def test_authors_iou_of_degenerate_zero_boxes_is_one():
    ious = wsol.iou_matrix(np.zeros((3, 4), dtype=int), np.zeros((5, 4), dtype=int))
    assert ious.dtype == np.float64 and ious.shape == (3, 5)
    assert (ious == 1.0).all()  # inclusive ends: (0, 0, 0, 0) is one pixel


def test_authors_box_convention_is_enforced():
    with pytest.raises(ValueError, match="x0 ≤ x1 and y0 ≤ y1"):
        wsol.iou_matrix(np.array([[1, 1, 0, 0]]), np.array([[1, 1, 2, 2]]))


def test_authors_iou_of_eye_boxes():
    boxes = np.array([[1, 1, 3, 3], [4, 4, 5, 5]])
    assert (wsol.iou_matrix(boxes, boxes) == np.eye(2)).all()


def test_authors_iou_realistic_values():
    ious = wsol.iou_matrix(np.array([[1, 2, 5, 6]]), np.array([[3, 1, 4, 5]]))
    assert ious[0, 0] == pytest.approx(8.0 / 27, abs=1e-6)


# --- compute_bboxes_from_scoremaps ----------------------------------------------------

THRESHOLDS = np.arange(0, 1, 0.2)
# The authors' multimodal case (array[y][x]), used twice below.
MULTIMODAL = np.array([[0.4, 0.0, 0.2, 0.2, 0.2],
                       [0.4, 0.4, 0.0, 0.4, 0.0],
                       [0.0, 0.0, 0.0, 0.4, 0.0],
                       [1.0, 0.6, 0.8, 0.2, 0.2]])


def first_boxes(score_map):
    return [boxes[0].tolist() for boxes in wsol.boxes_from_map(score_map, THRESHOLDS)]


def test_authors_boxes_of_a_zero_map():
    assert first_boxes(np.zeros((3, 3))) == [[0, 0, 0, 0]] * 5


def test_authors_boxes_of_a_unimodal_map():
    score_map = np.array([[0.0, 0.0, 0.0, 0.0, 0.0],
                          [0.0, 0.4, 0.4, 0.4, 0.6],
                          [0.0, 0.4, 1.0, 0.8, 0.6],
                          [0.0, 0.4, 0.4, 0.4, 0.6]])
    assert first_boxes(score_map) == [[1, 1, 4, 3], [1, 1, 4, 3], [2, 1, 4, 3],
                                      [2, 2, 4, 3], [2, 2, 3, 3]]


def test_authors_boxes_of_a_multimodal_map():
    """At 0.2 the largest contour is the three-pixel blob at the top left: the five-pixel
    region at the bottom is one pixel wide, so its contour has a smaller area."""
    assert first_boxes(MULTIMODAL) == [[0, 0, 4, 3], [0, 0, 2, 2], [0, 3, 3, 3],
                                      [2, 3, 3, 3], [0, 3, 1, 3]]


def test_authors_nan_map_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        wsol.boxes_from_map(np.full((3, 3), np.nan), THRESHOLDS)


def test_camlib_rule_differs_from_the_protocol_on_the_multimodal_map():
    """The protocol at 0.2 keeps the values above int(0.2 · 255) = 51, the pixels ≥ 0.4;
    camlib at 0.4 keeps the same pixels, but boxes the region with the most pixels (the
    five-pixel chain), with exclusive ends. The protocol boxes the three-pixel blob,
    one pixel larger than the blob on the right and at the bottom."""
    assert wsol.boxes_from_map(MULTIMODAL, [0.2])[0].tolist() == [[0, 0, 2, 2]]
    assert tuple(localize.box_from_map(MULTIMODAL, 0.4)) == (0, 1, 4, 4)


# --- MaskEvaluator (PxAP) -------------------------------------------------------------

SIDE = 224  # the authors resize every mask to 224 × 224


def counted_mask(n_object, n_background, seed=0):
    """A 224 × 224 mask with exactly these object and background pixels; the rest is
    ignored, as in the authors' test masks."""
    assert n_object + n_background <= SIDE * SIDE
    order = np.random.default_rng(seed).permutation(SIDE * SIDE)
    mask = np.zeros(SIDE * SIDE, bool)
    mask[order[:n_object]] = True
    ignore = np.ones(SIDE * SIDE, bool)
    ignore[order[: n_object + n_background]] = False
    return mask.reshape(1, SIDE, SIDE), ignore.reshape(1, SIDE, SIDE)


# The pixel counts of the authors' three test masks, from their expected values.
AUTHORS_MASKS = {"mask0": (43031, 7145), "mask1": (833, 49342), "mask2": (347, 13909)}


@pytest.mark.parametrize("name", list(AUTHORS_MASKS))
def test_authors_perfect_score_map_scores_100(name):
    mask, ignore = counted_mask(*AUTHORS_MASKS[name])
    for ignore_score in (0.0, 1.0):  # the authors' _VALIDATION_SCORES
        score_map = np.where(ignore, ignore_score, mask.astype(float))
        assert 100 * wsol.pxap(score_map, mask, ignore=ignore) == 100.0


@pytest.mark.parametrize("name", list(AUTHORS_MASKS))
@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_authors_constant_score_map_scores_the_object_share(name, value):
    n_object, n_background = AUTHORS_MASKS[name]
    mask, ignore = counted_mask(n_object, n_background)
    auc = 100 * wsol.pxap(np.full(mask.shape, value), mask, ignore=ignore)
    assert auc == pytest.approx(100.0 * n_object / (n_object + n_background), abs=0.1)


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_authors_masks_without_object_are_refused(value):
    mask = np.zeros((1, SIDE, SIDE), bool)
    with pytest.raises(ValueError, match="no object pixel"):
        wsol.pxap(np.full(mask.shape, value), mask)


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_authors_all_object_masks_score_100(value):
    mask = np.ones((1, SIDE, SIDE), bool)
    assert 100 * wsol.pxap(np.full(mask.shape, value), mask) == pytest.approx(100.0, abs=0.1)


def test_authors_nan_score_map_is_refused_by_pxap():
    mask = np.ones((1, 8, 8), bool)
    with pytest.raises(ValueError, match="NaN"):
        wsol.pxap(np.full(mask.shape, np.nan), mask)


# --- MaxBoxAcc on known cases ---------------------------------------------------------


def test_max_box_acc_of_maps_that_are_the_boxes_is_one():
    boxes = np.array([[8, 10, 30, 40], [0, 0, 64, 20], [40, 40, 60, 64]])
    maps = np.zeros((3, 64, 64))
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        maps[i, y0:y1, x0:x1] = 1.0
    found = wsol.max_box_acc(maps, boxes, image_size=64, iou_thresholds=(30, 50, 70, 90))
    assert all(accuracy == 1.0 for accuracy, _ in found.values())
    assert wsol.max_box_acc_v2(maps, boxes, image_size=64) == 1.0


def test_max_box_acc_takes_the_best_threshold_and_v2_every_contour():
    """Two blobs: the true object is the smaller, dimmer one. One contour per map can
    only find it at no threshold (the larger blob wins by area, and above its value
    only the bright blob is left), so MaxBoxAcc misses it; MaxBoxAccV2 boxes every
    contour and finds it."""
    maps = np.zeros((1, 64, 64))
    maps[0, 4:36, 4:36] = 1.0     # large, bright: a distractor
    maps[0, 48:58, 48:58] = 0.6   # small, dimmer: the object
    boxes = np.array([[48, 48, 58, 58]])
    single = wsol.max_box_acc(maps, boxes, image_size=64, iou_thresholds=(50,))
    assert single[50][0] == 0.0
    assert wsol.max_box_acc_v2(maps, boxes, image_size=64) == 1.0


def test_bad_input_is_refused_with_the_fix():
    maps, boxes = np.ones((2, 8, 8)), np.array([[0, 0, 4, 4], [0, 0, 0, 0]])
    with pytest.raises(ValueError, match="has_box"):
        wsol.max_box_acc(maps, boxes, image_size=8)
    with pytest.raises(ValueError, match="2 maps but 1 boxes"):
        wsol.max_box_acc(maps, boxes[:1], image_size=8)
    with pytest.raises(ValueError, match="percent"):
        wsol.max_box_acc(maps[:1], boxes[:1], image_size=8, iou_thresholds=(0.5, 150))
    with pytest.raises(ValueError, match="thresholds"):
        wsol.boxes_from_map(np.zeros((3, 3)), [1.5])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        wsol.boxes_from_map(np.full((3, 3), 2.0))
    with pytest.raises(ValueError, match="booleans"):
        wsol.pxap(np.zeros((1, 4, 4)), np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="same shape"):
        wsol.pxap(np.zeros((1, 4, 4)), np.zeros((1, 5, 4), bool))


def test_scale_maps_is_the_authors_bicubic_resize_then_min_max():
    import cv2

    maps = np.random.default_rng(3).standard_normal((2, 4, 4)).astype(np.float32)
    maps[1] = 5.0  # flat: zeros, as normalize_scoremap gives
    scaled = wsol.scale_maps(maps, image_size=(8, 12))
    resized = cv2.resize(maps[0], (12, 8), interpolation=cv2.INTER_CUBIC)
    expected = (resized - resized.min()) / (resized.max() - resized.min())
    np.testing.assert_allclose(scaled[0], expected, rtol=1e-6, atol=1e-7)
    assert scaled.shape == (2, 8, 12) and (scaled[1] == 0).all()
    assert scaled[0].min() == 0.0 and scaled[0].max() == 1.0


# --- bootstrap intervals over images ----------------------------------------------------------


def _protocol_case(n=40, seed=0):
    rng = np.random.default_rng(seed)
    maps = rng.random((n, 8, 8)) * 0.3
    boxes = []
    for i in range(n):
        x0, y0 = rng.integers(0, 20, 2)
        maps[i, y0 // 4:y0 // 4 + 3, x0 // 4:x0 // 4 + 3] += 1.0
        boxes.append((int(x0), int(y0), int(x0) + 12, int(y0) + 12))
    return maps, np.array(boxes)


def test_best_ious_is_the_table_behind_max_box_acc():
    maps, boxes = _protocol_case()
    table = wsol.best_ious(maps, boxes, image_size=(32, 32))
    accuracy, threshold = wsol.max_box_acc(maps, boxes, image_size=(32, 32))[50]
    per_threshold = (table >= 0.5).mean(axis=0)
    assert per_threshold.max() == accuracy
    assert wsol.CAM_THRESHOLDS[np.argmax(per_threshold)] == threshold


def test_box_accuracy_interval_holds_max_box_acc_and_v2():
    maps, boxes = _protocol_case()
    table = wsol.best_ious(maps, boxes, image_size=(32, 32))
    estimate = wsol.box_accuracy_interval(table, resamples=200)
    assert estimate.value == wsol.max_box_acc(maps, boxes, image_size=(32, 32))[50][0]
    assert estimate.low <= estimate.value <= estimate.high and estimate.n == len(maps)
    multi = wsol.best_ious(maps, boxes, image_size=(32, 32), multi_contour=True)
    v2 = wsol.box_accuracy_interval(multi, iou_thresholds=wsol.IOU_THRESHOLDS,
                                    resamples=200)
    assert v2.value == pytest.approx(wsol.max_box_acc_v2(maps, boxes, image_size=(32, 32)))
    again = wsol.box_accuracy_interval(table, resamples=200)
    assert again == estimate  # the same seed, the same interval


def test_pxap_interval_holds_pxap():
    maps, boxes = _protocol_case()
    masks = np.zeros((len(maps), 8, 8), bool)
    for i, (x0, y0, x1, y1) in enumerate(boxes // 4):
        masks[i, y0:y1, x0:x1] = True
    scaled = maps / maps.max(axis=(1, 2), keepdims=True)
    estimate = wsol.pxap_interval(scaled, masks, resamples=200)
    assert estimate.value == wsol.pxap(scaled, masks)
    assert estimate.low <= estimate.value <= estimate.high


@pytest.mark.parametrize("call, fragment", [
    (lambda: wsol.box_accuracy_interval(np.zeros(4)), r"\(N, T\)"),
    (lambda: wsol.box_accuracy_interval(np.full((2, 2), np.nan)), "NaN"),
    (lambda: wsol.box_accuracy_interval(np.zeros((2, 2)), resamples=10), "resamples"),
    (lambda: wsol.box_accuracy_interval(np.zeros((2, 2)), confidence=95), "confidence"),
    (lambda: wsol.pxap_interval(np.zeros((1, 2, 2)), np.ones((1, 2, 2), bool),
                                resamples=5), "resamples"),
])
def test_intervals_refuse_bad_settings(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()
