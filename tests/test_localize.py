"""Boxes from maps and IoU, on hand-made maps whose answers are known."""

import numpy as np
import pytest
from scipy import ndimage

from camlib import localize
from camlib.localize import (
    NO_BOX,
    best_threshold,
    box_from_map,
    box_ious,
    boxes_from_maps,
    iou,
    localization_accuracy,
)


def blob_map(shape, *blobs):
    """A map with rectangular blobs, each ``(y0, y1, x0, x1, value)``."""
    m = np.zeros(shape)
    for y0, y1, x0, x1, value in blobs:
        m[y0:y1, x0:x1] = value
    return m


# --- box_from_map ---------------------------------------------------------------------


def test_single_blob_box_is_exclusive_on_the_right_and_bottom():
    m = blob_map((10, 12), (2, 5, 3, 9, 1.0))  # rows 2..4, columns 3..8
    box = box_from_map(m)
    assert box == (3, 2, 9, 5)
    x0, y0, x1, y1 = box
    assert m[y0:y1, x0:x1].min() == 1.0 and m[y0:y1, x0:x1].size == (m > 0).sum()
    assert all(type(v) is int for v in box)


def test_one_pixel_blob_has_unit_box():
    m = blob_map((5, 5), (4, 5, 0, 1, 3.0))  # bottom-left corner
    assert box_from_map(m) == (0, 4, 1, 5)


def test_largest_component_wins_over_highest_peak():
    m = blob_map((12, 12), (0, 2, 0, 2, 1.0), (5, 11, 4, 10, 0.5))
    assert box_from_map(m) == (4, 5, 10, 11)


def test_largest_component_uses_8_connectivity():
    m = np.eye(8)  # eight pixels touching only at corners: one component of 8
    m[0:2, 5:8] = 1.0  # a separate, compact blob of 6
    assert box_from_map(m) == (0, 0, 8, 8)  # with 4-connectivity the blob would win


def test_threshold_keeps_pixels_equal_to_the_cut():
    m = blob_map((6, 10), (2, 3, 0, 10, 0.5))  # a weak stripe across the row
    m[2, 4] = 2.5  # 0.2 * 2.5 == 0.5: the stripe stays
    assert box_from_map(m, threshold=0.2) == (0, 2, 10, 3)
    assert box_from_map(m, threshold=0.21) == (4, 2, 5, 3)  # only the peak survives


def test_threshold_edges():
    m = blob_map((6, 6), (1, 3, 1, 3, 1.0), (4, 6, 4, 6, 0.1))
    m[0, 0] = -1.0
    assert box_from_map(m, threshold=1.0) == (1, 1, 3, 3)  # only the maximum
    # threshold 0 keeps every non-negative pixel: everything but the -1 corner, connected
    assert box_from_map(m, threshold=0.0) == (0, 0, 6, 6)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        box_from_map(m, threshold=1.5)


@pytest.mark.parametrize("m", [np.zeros((7, 7)), -np.ones((7, 7)), np.full((4, 9), 0.3)])
def test_flat_map_has_no_contrast_and_gives_the_empty_box(m):
    assert box_from_map(m) == NO_BOX == (0, 0, 0, 0)
    assert iou(box_from_map(m), (0, 0, 7, 7)) == 0.0


def test_all_negative_map_is_boxed_by_its_contrast():
    m = -np.arange(49.0).reshape(7, 7)       # largest (least negative) at the top left
    assert box_from_map(m, threshold=0.9) == box_from_map(m + 100.0, threshold=0.9)
    assert box_from_map(m, threshold=0.99) == (0, 0, 1, 1)


@pytest.mark.parametrize("offset, scale", [(5.0, 1.0), (-3.0, 1.0), (0.0, 7.5), (100.0, 0.01)])
def test_box_is_invariant_to_offset_and_positive_scale(offset, scale):
    rng = np.random.default_rng(3)
    for _ in range(20):
        m = ndimage.gaussian_filter(rng.normal(size=(16, 16)), 2.0)
        for threshold in (0.2, 0.5, 0.8):
            assert box_from_map(scale * m + offset, threshold) == box_from_map(m, threshold)


def test_a_positive_floor_does_not_swallow_the_image():
    m = np.full((10, 10), 0.6)               # Score-CAM-like: non-negative, high floor
    m[2:5, 3:6] = 1.0
    assert box_from_map(m) == (3, 2, 6, 5)


def test_box_from_map_refuses_bad_maps():
    with pytest.raises(ValueError, match="2-D"):
        box_from_map(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        box_from_map(np.array([[np.nan, 1.0]]))


# --- iou ------------------------------------------------------------------------------


def test_iou_identical_disjoint_half_overlapping():
    assert iou((1, 2, 5, 6), (1, 2, 5, 6)) == 1.0
    assert iou((0, 0, 2, 2), (5, 5, 8, 8)) == 0.0
    assert iou((0, 0, 2, 2), (2, 0, 4, 2)) == 0.0  # touching edges share no pixel
    assert iou((0, 0, 4, 2), (2, 0, 6, 2)) == pytest.approx(1 / 3)  # half of each box
    assert iou((0, 0, 4, 4), (0, 0, 4, 2)) == 0.5  # one box is half the other


def test_iou_with_empty_boxes_is_zero():
    assert iou(NO_BOX, NO_BOX) == 0.0
    assert iou(NO_BOX, (0, 0, 3, 3)) == 0.0
    assert iou((2, 2, 2, 5), (0, 0, 5, 5)) == 0.0


def test_iou_is_symmetric():
    a, b = (1, 1, 7, 4), (3, 0, 9, 6)
    assert iou(a, b) == iou(b, a)


# --- batches and accuracy -------------------------------------------------------------


def test_boxes_from_maps_in_map_and_image_pixels():
    maps = np.stack([blob_map((4, 4), (1, 3, 1, 3, 1.0)), blob_map((4, 4), (0, 1, 0, 4, 1.0))])
    np.testing.assert_array_equal(boxes_from_maps(maps), [[1, 1, 3, 3], [0, 0, 4, 1]])
    big = boxes_from_maps(maps, image_size=(16, 16))
    assert big.shape == (2, 4) and big.dtype == np.int64
    # each map pixel is a 4x4 image block; bilinear blur grows the box by under a block
    assert big[0, 0] in range(2, 5) and big[0, 2] in range(12, 15)
    np.testing.assert_array_equal(boxes_from_maps(maps[0]), [[1, 1, 3, 3]])


def test_localization_accuracy_counts_iou_at_least_one_half():
    maps = np.stack([blob_map((8, 8), (0, 4, 0, 4, 1.0))] * 3)
    true_boxes = [(0, 0, 4, 4), (0, 0, 4, 8), (4, 4, 8, 8)]  # IoU 1, exactly 0.5, 0
    np.testing.assert_allclose(box_ious(maps, true_boxes), [1.0, 0.5, 0.0])
    assert localization_accuracy(maps, true_boxes) == pytest.approx(2 / 3)
    assert localization_accuracy(maps, true_boxes, iou_threshold=0.6) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="one per map"):
        localization_accuracy(maps, true_boxes[:2])


def test_best_threshold_finds_the_cut_that_separates_object_from_glow():
    m = blob_map((10, 10), (1, 9, 1, 9, 0.3), (2, 5, 2, 5, 1.0))  # object on a glow
    t, accuracy = best_threshold(m[None], [(2, 2, 5, 5)])
    assert accuracy == 1.0 and 0.3 < t <= 1.0
    assert localization_accuracy(m[None], [(2, 2, 5, 5)], threshold=0.2) == 0.0


def test_equal_areas_are_decided_by_the_stronger_component():
    m = blob_map((6, 10), (0, 2, 0, 2, 0.6), (3, 5, 6, 8, 0.9))
    assert box_from_map(m) == (6, 3, 8, 5)


def test_threshold_sweep_matches_accuracy_at_each_threshold():
    maps = np.zeros((2, 8, 8))
    maps[0, 2:6, 2:6] = 1.0
    maps[0, 0, 0] = 0.3        # a faint second blob that joins only at low thresholds
    maps[1, 4:8, 0:4] = 1.0
    boxes = [(2, 2, 6, 6), (0, 4, 4, 8)]
    sweep = localize.threshold_sweep(maps, boxes, [0.2, 0.5])
    expected = [localize.localization_accuracy(maps, boxes, t) for t in (0.2, 0.5)]
    np.testing.assert_allclose(sweep, expected)
    assert localize.best_threshold(maps, boxes, [0.2, 0.5]) == (0.2, 1.0)


def test_localization_error_needs_both_the_class_and_the_box():
    maps = np.zeros((3, 8, 8))
    maps[:, 2:6, 2:6] = 1.0
    boxes = [(2, 2, 6, 6), (2, 2, 6, 6), (0, 0, 2, 2)]
    # image 0: right class, right box; image 1: wrong class; image 2: wrong box
    assert localize.localization_error(maps, boxes, [1, 0, 2], [1, 2, 2]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="predicted classes"):
        localize.localization_error(maps, boxes, [1, 0], [1, 2, 2])


def test_area_share_is_the_box_over_the_image():
    np.testing.assert_allclose(localize.area_share([(0, 0, 32, 16), (10, 10, 10, 20)], (64, 64)),
                               [0.125, 0.0])


def test_area_share_reads_one_int_as_a_square_image():
    boxes = [(0, 0, 32, 16), (8, 8, 64, 64)]
    np.testing.assert_array_equal(localize.area_share(boxes, 64),
                                  localize.area_share(boxes, (64, 64)))
    shares = localize.area_share([(0, 0, 64, 64)], 64)
    assert shares.tolist() == [1.0]
    with pytest.raises(ValueError, match="outside the 64×64 image"):
        localize.area_share([(0, 0, 65, 64)], 64)


# --- one "no box" value ---------------------------------------------------------------


def test_has_box_marks_no_box_and_other_empty_boxes():
    boxes = [(2, 2, 5, 5), NO_BOX, (3, 1, 3, 4)]
    assert localize.has_box(boxes).tolist() == [True, False, False]
    assert localize.has_box((1, 1, 2, 2)).tolist() == [True]


def test_a_flat_map_gives_the_same_no_box_as_the_data():
    from camlib import data

    _, labels, boxes = data.lane_scenes(40, seed=0)
    undefined = boxes[labels == data.LANE_CLASSES.index("UNDEFINED")]
    assert len(undefined) and (undefined == box_from_map(np.zeros((4, 4)))).all()


def test_scores_against_a_true_no_box_are_refused_and_has_box_is_the_fix():
    maps = np.stack([blob_map((8, 8), (0, 4, 0, 4, 1.0))] * 2)
    true_boxes = np.array([(0, 0, 4, 4), NO_BOX])
    for score in (box_ious, localization_accuracy, localize.threshold_sweep):
        args = ([0.2],) if score is localize.threshold_sweep else ()
        with pytest.raises(ValueError, match=r"keep = localize.has_box\(true_boxes\)"):
            score(maps, true_boxes, *args)
    keep = localize.has_box(true_boxes)
    assert localization_accuracy(maps[keep], true_boxes[keep]) == 1.0


def test_check_boxes_converts_whole_floats_and_one_box():
    checked = localize.check_boxes(np.array([1.0, 2.0, 3.0, 4.0]), image_size=(8, 8))
    assert checked.dtype == np.int64 and checked.tolist() == [[1, 2, 3, 4]]
    assert localize.check_image_size(np.int64(12)) == (12, 12)
    assert localize.check_image_size(np.zeros((2, 48, 64, 3)).shape[1:3]) == (48, 64)


def test_image_size_is_keyword_only_where_it_is_optional():
    maps = np.ones((1, 4, 4))
    with pytest.raises(TypeError):
        localization_accuracy(maps, [(0, 0, 4, 4)], 0.2, 0.5, (4, 4))
    with pytest.raises(TypeError):
        boxes_from_maps(maps, 0.2, (8, 8))
