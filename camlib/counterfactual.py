"""Counterfactual lane scenes (chapter 6): the same scene with one element edited.

A CAM shows where a model's evidence lies; it does not show that the model *uses* what
lies there. A counterfactual test does: draw the same scene twice, once as it is and once
with one element changed, and compare the model's probabilities and maps. Because
:func:`lane_scenes` repeats every random draw of :func:`camlib.data.lane_scenes`, an
edited scene differs from the original only where the edit is: the same light, colours,
texture, noise and vehicles everywhere else.

The edits:

- ``follower=False`` removes the harmless vehicle that follows us in our own lane;
  ``follower=True`` adds one to every clear scene (BLOCKED or FREE).
- ``solid_line=False`` erases the solid line at the far edge of the adjacent lane, and
  ``dashed_line=False`` the dashed line between the two lanes: the road and the roadside
  under the paint show through, with their own colour and texture.
  ``solid_line="over"`` paints the solid line over the vehicles, so that no vehicle
  hides any part of it (a scene no camera would see, made to test one cue at a time).
- ``car="remove"`` takes the adjacent-lane vehicle away; ``car="ego_lane"`` moves it, at
  the same depth, into our own lane; ``car_depth=d`` moves it nearer (towards 1) or further
  away (towards 0) in the adjacent lane.

Labels follow the data's own rule: a vehicle in the adjacent lane at depth 0.4 or more is
BLOCKED; an adjacent lane that is empty, or whose vehicle is at depth 0.16 or less, is
FREE. :func:`camlib.data.lane_scenes` never draws a vehicle between the two depths, so a
scene moved there has no label by construction: its label is ``NO_LABEL`` (-1).

Both generators draw with :func:`camlib.data.draw_lane_scenes`, so the drawing exists once.

Example:
    >>> images, labels, boxes = lane_scenes(8, seed=0)
    >>> from camlib import data
    >>> bool((images == data.lane_scenes(8, seed=0)[0]).all())
    True
"""

from __future__ import annotations

import numpy as np

from camlib import data
from camlib.data import FAR_DEPTH, NEAR_DEPTH, solid_line_mask

__all__ = ["NO_LABEL", "NEAR_DEPTH", "FAR_DEPTH", "lane_scenes", "solid_line_mask",
           "label_for_depth"]

#: The label of a scene whose vehicle sits in the depth gap between FREE and BLOCKED.
NO_LABEL = -1


def label_for_depth(depth):
    """The label the data's rule gives an adjacent-lane vehicle at ``depth`` (NaN: none).

    Example:
        >>> label_for_depth([0.1, 0.3, 0.6, np.nan]).tolist()
        [1, -1, 0, 1]
    """
    try:
        depth = np.asarray(depth, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"depth must be numbers in [0, 1] (NaN: no vehicle), got {depth!r}"
                         ) from None
    if np.any(np.isinf(depth)) or np.any((depth < 0) | (depth > 1)):
        raise ValueError(f"depth must lie in [0, 1] (0: horizon, 1: bottom row; NaN: no "
                         f"vehicle), got {depth.tolist()!r}")
    blocked, free = data.LANE_CLASSES.index("BLOCKED"), data.LANE_CLASSES.index("FREE")
    labels = np.full(depth.shape, NO_LABEL, dtype=np.int64)
    labels[np.isnan(depth) | (depth <= FAR_DEPTH[1])] = free
    labels[~np.isnan(depth) & (depth >= NEAR_DEPTH[0])] = blocked
    return labels


def lane_scenes(n, *, seed=0, size=64, p=(0.4, 0.35, 0.25), cue=None, cue_rate=1.0,
                follower=None, solid_line=True, dashed_line=True, car=None, car_depth=None,
                return_info=False):
    """:func:`camlib.data.lane_scenes` with one or more elements of each scene edited.

    With the defaults the result equals ``camlib.data.lane_scenes(n, seed=seed, ...)``
    exactly. Every random draw is the same whatever the edits, so an edit changes only
    the pixels of the elements it touches.

    Args:
        n: as in :func:`camlib.data.lane_scenes`.
        seed: as in :func:`camlib.data.lane_scenes`.
        size: as in :func:`camlib.data.lane_scenes`.
        p: as in :func:`camlib.data.lane_scenes`.
        cue: as in :func:`camlib.data.lane_scenes`.
        cue_rate: as in :func:`camlib.data.lane_scenes`.
        follower: ``None`` keeps the followers as drawn; ``False`` removes every follower;
            ``True`` gives every BLOCKED and FREE scene one (with its own drawn colour,
            size and depth).
        solid_line: ``False`` erases the solid edge line; ``"over"`` paints it last, over
            any vehicle.
        dashed_line: ``False`` erases the dashed line.
        car: ``None`` keeps the adjacent-lane vehicle; ``"remove"`` takes it away;
            ``"ego_lane"`` moves it into our own lane at the same depth.
        car_depth: ``None``, or a depth (one number or one per scene) for every
            adjacent-lane vehicle (BLOCKED scenes and far FREE scenes): nearer towards 1,
            further towards 0.
        return_info: also return the dict of :func:`camlib.data.lane_scenes` with the masks
            ``car_mask`` and ``follower_mask`` (N×H×W, the vehicles as drawn in the edited
            scene: empty when removed), ``solid_mask`` and ``dashed_mask`` (where the lines
            are, painted or erased), ``car_box`` (the vehicle's box in any lane,
            :data:`camlib.localize.NO_BOX` without one) and ``original_label`` (the label
            before the edit).

    Returns:
        ``images, labels, boxes`` (and ``info``), as :func:`camlib.data.lane_scenes`.
        ``labels`` follow the edit (removing or moving the car out of the lane makes
        BLOCKED scenes FREE; a depth in the gap gives ``NO_LABEL``); ``boxes`` are of the
        adjacent-lane vehicle only, :data:`camlib.localize.NO_BOX` without one.

    Raises:
        ValueError: any setting of the wrong type or out of its range.

    Example:
        >>> from camlib import localize
        >>> _, labels, boxes = lane_scenes(50, seed=1, car="remove")
        >>> sorted(set(labels.tolist())), bool(localize.has_box(boxes).any())
        ([1, 2], False)
    """
    if not isinstance(return_info, (bool, np.bool_)):
        raise ValueError(f"return_info={return_info!r} must be True or False")
    images, labels, scene = data.draw_lane_scenes(
        n, seed=seed, size=size, p=p, cue=cue, cue_rate=cue_rate, follower=follower,
        solid_line=solid_line, dashed_line=dashed_line, car=car, car_depth=car_depth)
    in_adjacent = scene["car_in_adjacent_lane"]
    boxes = data.boxes_of_masks(scene["car_mask"] & in_adjacent[:, None, None])
    new_labels = labels.copy()
    clear = labels != data.LANE_CLASSES.index("UNDEFINED")
    new_labels[clear] = label_for_depth(np.where(in_adjacent, scene["depth"], np.nan))[clear]
    if not return_info:
        return images, new_labels, boxes
    info = {key: scene[key] for key in ("kind", "depth", "cue", "follower")}
    info.update(
        original_label=labels,
        car_mask=scene["car_mask"],
        car_box=data.boxes_of_masks(scene["car_mask"]),
        follower_mask=scene["follower_mask"],
        solid_mask=scene["solid_mask"],
        dashed_mask=scene["dashed_mask"],
    )
    return images, new_labels, boxes, info
