"""Tests of camlib.data.several_shapes and of localize.instances_found."""

import numpy as np
import pytest

from camlib import data, localize


@pytest.fixture(scope="module")
def drawn():
    return data.several_shapes(60, seed=3, count=(1, 4), return_masks=True)


def test_arrays_have_the_documented_types_shapes_and_ranges(drawn):
    images, labels, boxes, classes, masks = drawn
    assert images.shape == (60, 64, 64, 3) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    assert labels.shape == (60,) and labels.dtype == np.int64
    assert set(labels) <= set(range(len(data.SHAPE_CLASSES)))
    assert boxes.shape == (60, 4, 4) and boxes.dtype == np.int64
    assert classes.shape == (60, 4) and classes.dtype == np.int64
    assert masks.shape == (60, 4, 64, 64) and masks.dtype == bool


def test_same_seed_same_arrays_other_seed_other_arrays():
    first = data.several_shapes(12, seed=7, return_masks=True)
    second = data.several_shapes(12, seed=7, return_masks=True)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], data.several_shapes(12, seed=8)[0])


def test_boxes_are_the_tight_boxes_of_the_instance_masks(drawn):
    _, _, boxes, _, masks = drawn
    expected = data.boxes_of_masks(masks.reshape(-1, 64, 64)).reshape(boxes.shape)
    np.testing.assert_array_equal(boxes, expected)


def test_objects_and_their_boxes_keep_the_gap():
    for gap in (0, 2, 5):
        _, _, boxes, classes, masks = data.several_shapes(30, seed=1, count=3, gap=gap,
                                                          return_masks=True)
        assert masks.sum(axis=1).max() == 1  # no pixel belongs to two objects
        for image_boxes in boxes:
            for a in range(3):
                for b in range(a + 1, 3):
                    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = image_boxes[a], image_boxes[b]
                    assert (ax1 + gap <= bx0 or bx1 + gap <= ax0
                            or ay1 + gap <= by0 or by1 + gap <= ay0)


def test_padding_layout_real_objects_first_largest_first(drawn):
    _, labels, boxes, classes, masks = drawn
    real = classes >= 0
    np.testing.assert_array_equal(real, localize.has_box(boxes.reshape(-1, 4)).reshape(real.shape))
    assert real[:, 0].all()
    assert (np.sort(real, axis=1)[:, ::-1] == real).all()  # no gap between real slots
    assert (boxes[~real] == localize.NO_BOX).all() and not masks[~real].any()
    assert masks[real].any(axis=(1, 2)).all()
    areas = masks.sum(axis=(2, 3))
    assert (np.diff(areas, axis=1) <= 0).all()
    np.testing.assert_array_equal(labels, classes[:, 0])


def test_same_class_gives_instances_of_the_label(drawn):
    _, labels, _, classes, _ = drawn
    assert ((classes == labels[:, None]) | (classes == -1)).all()


def test_different_classes_and_the_label_of_the_largest_object():
    _, labels, _, classes, masks = data.several_shapes(40, seed=2, count=(2, 4),
                                                      same_class=False, return_masks=True)
    for row in classes:
        real = row[row >= 0]
        assert len(set(real)) == len(real)
    largest = masks.sum(axis=(2, 3)).argmax(axis=1)
    np.testing.assert_array_equal(labels, classes[np.arange(40), largest])


def test_count_range_is_inclusive_and_a_single_count_is_exact():
    counts = (data.several_shapes(200, seed=4, count=(1, 3), clutter=False)[3] >= 0).sum(1)
    assert set(counts) == {1, 2, 3}
    fixed = data.several_shapes(10, seed=4, count=2)[3]
    assert fixed.shape == (10, 2) and (fixed >= 0).all()


def test_object_pixels_carry_an_object_colour(drawn):
    images, _, _, classes, masks = drawn
    for image, image_masks, row in zip(images, masks, classes):
        background = image[~image_masks.any(0)].mean(0)
        for mask in image_masks[row >= 0]:
            assert np.abs(image[mask].mean(0) - background).max() > 0.1


def test_other_sizes_and_no_clutter():
    images, _, boxes, _ = data.several_shapes(4, seed=0, size=48, clutter=False)
    assert images.shape == (4, 48, 48, 3)
    localize.check_boxes(boxes.reshape(-1, 4), image_size=48)


@pytest.mark.parametrize("kwargs, words", [
    ({"count": 60}, "cannot fit"),
    ({"count": 3, "scale": (0.3, 0.4)}, "cannot fit"),
    ({"count": 9}, "could not place"),
    ({"count": 5, "same_class": False}, "only 4 classes"),
])
def test_refuses_objects_that_do_not_fit_or_classes_that_do_not_exist(kwargs, words):
    with pytest.raises(ValueError, match=words):
        data.several_shapes(20, seed=0, **kwargs)


@pytest.mark.parametrize("kwargs, words", [
    ({"n": 0}, "n=0"),
    ({"size": 16}, "size=16"),
    ({"seed": -1}, "seed=-1"),
    ({"count": 0}, "count=0"),
    ({"count": (3, 2)}, r"count=\(3, 2\)"),
    ({"count": 2.5}, "count=2.5"),
    ({"count": True}, "count=True"),
    ({"count": "2"}, "count='2'"),
    ({"scale": (0.2, 0.1)}, "scale="),
    ({"scale": (0.01, 0.1)}, "at least 2"),
    ({"gap": -1}, "gap=-1"),
    ({"gap": 1.5}, "gap=1.5"),
    ({"same_class": "yes"}, "same_class="),
    ({"clutter": 1}, "clutter="),
    ({"return_masks": None}, "return_masks="),
])
def test_bad_arguments_name_what_is_wrong(kwargs, words):
    with pytest.raises(ValueError, match=words):
        data.several_shapes(**{"n": 2, **kwargs})


# ---------------------------------------------------------------------------------------
# instances_found and share_of_instances_found
# ---------------------------------------------------------------------------------------

BOXES = [[(0, 0, 4, 4), (10, 10, 16, 16), localize.NO_BOX]]


def peaks(*spots, size=16):
    cam = np.zeros((1, size, size))
    for (y, x), value in spots:
        cam[0, y, x] = value
    return cam


def test_two_peaks_find_both_objects_one_peak_finds_one():
    assert localize.instances_found(peaks(((1, 1), 1.0), ((12, 12), 0.9)), BOXES).tolist() == [
        [True, True, False]]
    assert localize.instances_found(peaks(((1, 1), 1.0)), BOXES).tolist() == [
        [True, False, False]]
    assert localize.instances_found(peaks(((1, 1), 1.0), ((12, 12), 0.4)), BOXES).tolist() == [
        [True, False, False]]


def test_a_flat_map_finds_nothing_at_any_level():
    for level in (0.0, 0.5, 1.0):
        for value in (0.0, 3.0):
            flat = np.full((1, 16, 16), value)
            assert not localize.instances_found(flat, BOXES, level=level).any()


def test_level_zero_finds_every_object_and_level_one_only_the_maximum():
    cam = peaks(((1, 1), 1.0), ((12, 12), 0.999))
    assert localize.instances_found(cam, BOXES, level=0.0).tolist() == [[True, True, False]]
    assert localize.instances_found(cam, BOXES, level=1.0).tolist() == [[True, False, False]]
    # A value exactly at the cut counts: 0.5 on a map scaled to [0, 1].
    half = peaks(((1, 1), 1.0), ((12, 12), 0.5))
    assert localize.instances_found(half, BOXES, level=0.5).tolist() == [[True, True, False]]


def test_the_map_is_min_max_scaled_so_offset_and_scale_do_not_matter():
    cam = peaks(((1, 1), 1.0), ((12, 12), 0.6))
    for changed in (cam + 5, 3 * cam, cam - 2):
        np.testing.assert_array_equal(localize.instances_found(changed, BOXES),
                                      localize.instances_found(cam, BOXES))


def test_padded_rows_are_never_found_and_the_share_skips_them():
    cam = np.ones((2, 16, 16))
    cam[:, 0, 0] = 0  # not flat: every pixel but one is at the maximum
    boxes = [[(0, 0, 4, 4), localize.NO_BOX, localize.NO_BOX],
             [(0, 0, 4, 4), (10, 10, 16, 16), localize.NO_BOX]]
    found = localize.instances_found(cam, boxes, level=1.0)
    assert found.tolist() == [[True, False, False], [True, True, False]]
    assert localize.share_of_instances_found(cam, boxes, level=1.0) == 1.0
    one_peak = np.concatenate([peaks(((1, 1), 1.0)), peaks(((1, 1), 1.0))])
    assert localize.share_of_instances_found(one_peak, boxes) == pytest.approx(2 / 3)


def test_small_maps_are_upsampled_to_the_image():
    cam = np.zeros((1, 4, 4))
    cam[0, 3, 3] = 1.0  # the bottom-right quarter of a 16-pixel image
    found = localize.instances_found(cam, BOXES, image_size=16)
    assert found.tolist() == [[False, True, False]]


def test_one_map_with_its_boxes_as_k_by_4():
    found = localize.instances_found(peaks(((1, 1), 1.0))[0], BOXES[0])
    assert found.tolist() == [[True, False, False]]


def test_works_on_several_shapes_with_their_own_masks():
    _, _, boxes, classes, masks = data.several_shapes(5, seed=0, count=3, return_masks=True)
    found = localize.instances_found(masks.sum(axis=1).astype(float), boxes)
    assert found.all()
    first_only = localize.instances_found(masks[:, 0].astype(float), boxes)
    assert first_only[:, 0].all() and not first_only[:, 1:].any()
    assert localize.share_of_instances_found(masks[:, 0].astype(float), boxes) == (
        pytest.approx(1 / 3))


@pytest.mark.parametrize("maps, boxes, kwargs, words", [
    (np.zeros((2, 8, 8)), np.zeros((3, 2, 4)), {}, "3 images but 2 maps"),
    (np.zeros((2, 8, 8)), np.zeros((2, 4)), {}, r"\(N, K, 4\)"),
    (np.zeros((1, 8, 8)), np.zeros((1, 2, 3)), {}, r"\(N, K, 4\)"),
    (np.zeros((1, 8, 8)), [[(0, 0, 9, 4)]], {}, "outside"),
    (np.zeros((1, 8, 8)), [[(0, 0, 2.5, 4)]], {}, "whole pixel"),
    (np.zeros((1, 8, 8)), [[(-1, -1, -1, -1)]], {}, "NO_BOX"),
    (np.zeros((1, 8, 8)), [[(0, 0, 4, 4)]], {"level": 1.5}, "level"),
    (np.zeros((1, 8, 8)), [[(0, 0, 4, 4)]], {"level": True}, "level"),
    (np.full((1, 8, 8), np.nan), [[(0, 0, 4, 4)]], {}, "NaN"),
])
def test_instances_found_refuses_bad_input(maps, boxes, kwargs, words):
    with pytest.raises(ValueError, match=words):
        localize.instances_found(maps, boxes, **kwargs)


def test_share_refuses_boxes_without_any_object():
    with pytest.raises(ValueError, match="no real box"):
        localize.share_of_instances_found(np.eye(8)[None], [[localize.NO_BOX]])
