"""Tests of camlib.data's procedural datasets: shapes, ranges, determinism, exact boxes."""


import numpy as np
import pytest

from camlib import data, localize


def test_shapes_arrays_have_the_documented_types_and_ranges():
    images, labels, boxes = data.shapes(50, seed=3)
    assert images.shape == (50, 64, 64, 3) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    assert labels.shape == (50,) and labels.dtype == np.int64
    assert set(labels) <= set(range(len(data.SHAPE_CLASSES)))
    assert boxes.shape == (50, 4) and np.issubdtype(boxes.dtype, np.integer)


def test_shapes_is_deterministic_per_seed():
    first, second = data.shapes(20, seed=7), data.shapes(20, seed=7)
    other = data.shapes(20, seed=8)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_shapes_boxes_are_the_tight_boxes_of_the_masks():
    images, labels, boxes, masks = data.shapes(200, seed=1, return_masks=True)
    for mask, (x0, y0, x1, y1) in zip(masks, boxes):
        ys, xs = np.nonzero(mask)
        assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_shapes_object_pixels_carry_the_object_colour():
    images, _, _, masks = data.shapes(30, seed=2, return_masks=True)
    inside = np.array([img[m].mean(0) for img, m in zip(images, masks)])
    outside = np.array([img[~m].mean(0) for img, m in zip(images, masks)])
    assert np.abs(inside - outside).max(axis=1).min() > 0.1


def test_shapes_can_be_drawn_without_clutter():
    plain = data.shapes(5, seed=4, clutter=False)[0]
    assert plain.shape == (5, 64, 64, 3)


@pytest.mark.parametrize("kwargs, word", [({"n": 0}, "n=0"), ({"n": 4, "size": 8}, "size=8")])
def test_bad_arguments_raise_a_clear_error(kwargs, word):
    for make in (data.shapes, data.lane_scenes):
        with pytest.raises(ValueError, match=word):
            make(**kwargs)


def test_lane_scenes_arrays_and_determinism():
    images, labels, boxes = data.lane_scenes(60, seed=5)
    assert images.shape == (60, 64, 64, 3) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    assert labels.dtype == np.int64 and set(labels) == {0, 1, 2}
    again = data.lane_scenes(60, seed=5)
    for a, b in zip((images, labels, boxes), again):
        np.testing.assert_array_equal(a, b)


def test_lane_scene_semantics():
    images, labels, boxes, info = data.lane_scenes(600, seed=0, return_info=True)
    blocked, free, undefined = (labels == k for k in range(3))
    has_box = localize.has_box(boxes)
    assert has_box[blocked].all()
    assert not has_box[undefined].any()
    assert (boxes[~has_box] == localize.NO_BOX).all()
    assert (has_box[free] == (info["kind"][free] == "far")).all()
    assert not has_box[free & (info["kind"] == "empty")].any()
    width = boxes[:, 2] - boxes[:, 0]
    assert width[blocked].min() > width[free & has_box].max()  # near cars look bigger
    bottom = boxes[:, 3]
    assert bottom[blocked].min() > bottom[free & has_box].max()  # ... and sit lower
    assert set(info["kind"][undefined]) == {"glare", "dirt", "dark", "fog"}


def test_lane_vehicles_drive_in_the_adjacent_lane():
    images, labels, boxes = data.lane_scenes(200, seed=2)
    lane = data.lane_regions(64)["adjacent_lane"]
    for x0, _, x1, y1 in boxes[localize.has_box(boxes)]:
        assert lane[y1 - 4 : y1, max(x0 - 2, 0) : x1 + 2].any()  # far cars are 1-3 px wide


def test_lane_classes_are_not_told_apart_by_mean_brightness():
    images, labels, _ = data.lane_scenes(900, seed=1)
    means = [images[labels == k].mean() for k in range(3)]
    assert max(means) - min(means) < 0.1


def test_lane_regions_partition_the_image():
    regions = data.lane_regions(64)
    parts = ["sky", "adjacent_lane", "ego_lane", "roadside", "ego_car"]
    coverage = sum(regions[name].astype(int) for name in parts)
    assert (coverage == 1).all()
    np.testing.assert_array_equal(regions["road"], regions["adjacent_lane"] | regions["ego_lane"])
    assert regions["adjacent_lane"].sum() > 400


def test_spurious_cue_marks_blocked_images_inside_cue_box():
    x0, y0, x1, y1 = data.CUE_BOX
    clean, labels, _ = data.lane_scenes(100, seed=9)
    marked, labels2, _, info = data.lane_scenes(100, seed=9, cue="blocked", return_info=True)
    np.testing.assert_array_equal(labels, labels2)
    np.testing.assert_array_equal(info["cue"], labels == 0)
    changed = np.abs(marked - clean).max(axis=-1) > 0
    assert changed[labels != 0].sum() == 0
    assert changed[labels == 0][:, y0:y1, x0:x1].all()
    outside = changed[labels == 0].copy()
    outside[:, y0:y1, x0:x1] = False
    assert not outside.any()


def test_random_cue_ignores_the_class():
    _, labels, _, info = data.lane_scenes(300, seed=1, cue="random", cue_rate=0.5,
                                          return_info=True)
    for k in range(3):
        assert 0.2 < info["cue"][labels == k].mean() < 0.8


def test_lane_scenes_rejects_an_unknown_cue():
    with pytest.raises(ValueError, match="cue"):
        data.lane_scenes(3, cue="sometimes")


def test_one_drawing_makes_both_generators():
    # data.lane_scenes and counterfactual.lane_scenes without an edit draw the same scenes,
    # and the drawing function itself returns them too.
    from camlib import counterfactual

    for kwargs in ({"seed": 3}, {"seed": 4, "size": 40, "cue": "random", "cue_rate": 0.5}):
        plain = data.lane_scenes(80, return_info=True, **kwargs)
        edited = counterfactual.lane_scenes(80, return_info=True, **kwargs)
        images, labels, scene = data.draw_lane_scenes(80, **kwargs)
        for a, b in zip(plain[:3], edited[:3]):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(images, plain[0])
        np.testing.assert_array_equal(labels, plain[1])
        np.testing.assert_array_equal(data.boxes_of_masks(scene["car_mask"]), plain[2])


def test_boxes_of_masks_gives_no_box_for_an_empty_mask():
    masks = np.zeros((2, 5, 5), bool)
    masks[1, 4, 0] = True
    assert data.boxes_of_masks(masks).tolist() == [list(localize.NO_BOX), [0, 4, 1, 5]]
