"""camlib.counterfactual: an edit changes only what it should."""

import numpy as np
import pytest

from camlib import counterfactual as cf
from camlib import data, localize

BLOCKED, FREE, UNDEFINED = range(3)
N, SEED = 120, 5


@pytest.fixture(scope="module")
def original():
    return cf.lane_scenes(N, seed=SEED, return_info=True)


@pytest.mark.parametrize("cue", [None, "blocked", "random"])
def test_no_edit_is_the_data(cue):
    mine = cf.lane_scenes(80, seed=2, cue=cue, return_info=True)
    theirs = data.lane_scenes(80, seed=2, cue=cue, return_info=True)
    for a, b in zip(mine[:3], theirs[:3]):
        np.testing.assert_array_equal(a, b)
    for key, value in theirs[3].items():
        np.testing.assert_array_equal(mine[3][key], value)


def _changed(a, b):
    return np.abs(a - b).max(axis=-1) > 0


def test_remove_follower_changes_only_the_follower(original):
    images, labels, boxes, info = original
    edited, new_labels, new_boxes, new_info = cf.lane_scenes(N, seed=SEED, follower=False,
                                                             return_info=True)
    changed = _changed(images, edited)
    assert info["follower"].any()
    assert not changed[~info["follower_mask"]].any()
    assert changed[info["follower"]].any(axis=(1, 2)).all()
    assert not new_info["follower_mask"].any() and not new_info["follower"].any()
    np.testing.assert_array_equal(new_labels, labels)
    np.testing.assert_array_equal(new_boxes, boxes)


def test_add_follower_changes_only_the_new_follower(original):
    images, labels, boxes, info = original
    edited, new_labels, new_boxes, new_info = cf.lane_scenes(N, seed=SEED, follower=True,
                                                             return_info=True)
    assert not _changed(images, edited)[~new_info["follower_mask"]].any()
    np.testing.assert_array_equal(new_info["follower"], labels != UNDEFINED)
    np.testing.assert_array_equal(new_labels, labels)


def test_erase_solid_line_changes_only_the_line(original):
    images, labels, boxes, info = original
    edited, new_labels, new_boxes = cf.lane_scenes(N, seed=SEED, solid_line=False)
    changed = _changed(images, edited)
    line = cf.solid_line_mask(64)
    assert not changed[:, ~line].any()
    clear = labels != UNDEFINED
    assert changed[clear][:, line].mean() > 0.3  # vehicles hide some of the line
    np.testing.assert_array_equal(new_labels, labels)
    np.testing.assert_array_equal(new_boxes, boxes)


def test_erased_line_shows_the_ground_beneath(original):
    images = original[0]
    edited = cf.lane_scenes(N, seed=SEED, solid_line=False, follower=False, car="remove")[0]
    empty = cf.lane_scenes(N, seed=SEED, follower=False, car="remove")[0]
    line = cf.solid_line_mask(64)
    # the line is brighter than the asphalt and grass it covered
    assert empty[:, line].mean() > edited[:, line].mean() + 0.1
    assert images.shape == edited.shape


def test_line_over_the_car_changes_only_the_line(original):
    images = original[0]
    edited = cf.lane_scenes(N, seed=SEED, solid_line="over")[0]
    assert not _changed(images, edited)[:, ~cf.solid_line_mask(64)].any()


def test_remove_car_makes_blocked_free(original):
    images, labels, boxes, info = original
    edited, new_labels, new_boxes, new_info = cf.lane_scenes(N, seed=SEED, car="remove",
                                                             return_info=True)
    assert not _changed(images, edited)[~info["car_mask"]].any()
    assert not localize.has_box(new_boxes).any() and not new_info["car_mask"].any()
    np.testing.assert_array_equal(new_labels[labels == BLOCKED], FREE)
    np.testing.assert_array_equal(new_labels[labels != BLOCKED], labels[labels != BLOCKED])
    np.testing.assert_array_equal(new_info["original_label"], labels)


def test_car_to_our_lane_is_free_and_keeps_its_depth(original):
    images, labels, boxes, info = original
    edited, new_labels, new_boxes, new_info = cf.lane_scenes(N, seed=SEED, car="ego_lane",
                                                             return_info=True)
    moved = ~np.isnan(info["depth"])
    assert not _changed(images, edited)[~(info["car_mask"] | new_info["car_mask"])].any()
    assert (new_boxes == localize.NO_BOX).all()
    assert (new_info["car_box"][moved, 0] > boxes[moved, 0]).all()  # to the right
    np.testing.assert_array_equal(new_info["depth"], info["depth"])
    assert (new_labels[labels == BLOCKED] == FREE).all()


@pytest.mark.parametrize("depth, label", [(0.1, FREE), (0.28, cf.NO_LABEL), (0.6, BLOCKED)])
def test_move_car_relabels_by_depth(original, depth, label):
    images, labels, boxes, info = original
    edited, new_labels, new_boxes, new_info = cf.lane_scenes(N, seed=SEED, car_depth=depth,
                                                             return_info=True)
    present = ~np.isnan(info["depth"])
    assert (new_labels[present] == label).all()
    np.testing.assert_array_equal(new_labels[~present], labels[~present])
    np.testing.assert_allclose(new_info["depth"][present], depth)
    assert not _changed(images, edited)[~present].any()
    assert not _changed(images, edited)[~(info["car_mask"] | new_info["car_mask"])].any()
    bottoms = new_info["car_box"][present, 3]
    assert bottoms.max() - bottoms.min() <= 3  # every vehicle now stands at one depth


def test_nearer_car_stands_lower(original):
    present = ~np.isnan(original[3]["depth"])
    far, near = (cf.lane_scenes(N, seed=SEED, car_depth=d, return_info=True)[3]["car_box"]
                 for d in (0.1, 0.6))
    assert (near[present, 3] > far[present, 3]).all()


def test_bad_edits_are_refused():
    with pytest.raises(ValueError, match="car="):
        cf.lane_scenes(4, car="elsewhere")
    with pytest.raises(ValueError, match="not both"):
        cf.lane_scenes(4, car="remove", car_depth=0.5)
    with pytest.raises(ValueError, match="car_depth"):
        cf.lane_scenes(4, car_depth=1.5)
    with pytest.raises(ValueError, match="follower"):
        cf.lane_scenes(4, follower="yes")
    with pytest.raises(ValueError, match="solid_line"):
        cf.lane_scenes(4, solid_line="under")


def test_label_for_depth():
    np.testing.assert_array_equal(cf.label_for_depth([0.05, 0.16, 0.2, 0.4, 0.8, np.nan]),
                                  [FREE, FREE, cf.NO_LABEL, BLOCKED, BLOCKED, FREE])
