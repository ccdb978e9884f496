"""Counterfactual lane scenes: the same scene with one element removed, added or moved.

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

Example
-------
>>> images, labels, boxes = lane_scenes(8, seed=0)
>>> from camlib import data
>>> bool((images == data.lane_scenes(8, seed=0)[0]).all())
True
"""

from __future__ import annotations

import numpy as np

from camlib import data
from camlib.data import (_CUE_FRACTION, _DASHED_U, _EGO_EDGE_U, _FAR_DEPTH, _HORIZON,  # noqa: F401
                         _NEAR_DEPTH, _ROAD_EDGE_U, _check_n_size, _col, _grid, _line_u,
                         _paint, _texture, _tight_boxes, _uv, _vehicle_masks, cue_box,
                         lane_regions)

__all__ = ["NO_LABEL", "NEAR_DEPTH", "FAR_DEPTH", "lane_scenes", "solid_line_mask",
           "label_for_depth"]

#: The label of a scene whose vehicle sits in the depth gap between FREE and BLOCKED.
NO_LABEL = -1
#: Depths of a BLOCKING vehicle's bottom edge (0 at the horizon, 1 at the bottom row).
NEAR_DEPTH = _NEAR_DEPTH
#: Depths of a far vehicle in a FREE scene.
FAR_DEPTH = _FAR_DEPTH

_CARS = (None, "remove", "ego_lane")


def solid_line_mask(size=64):
    """The H×W boolean mask of the solid line at the far edge of the adjacent lane.

    Example
    -------
    >>> mask = solid_line_mask(64)
    >>> mask.shape, bool(mask[:20].any())
    ((64, 64), False)
    """
    _check_n_size(1, size, 32)
    u, v = _uv(size)
    regions = lane_regions(size)
    s = np.clip((v - _HORIZON) / (1 - _HORIZON), 1e-3, None)
    half_width = 0.006 + 0.02 * s
    return (np.abs(u - _line_u(_ROAD_EDGE_U, v)) < half_width) & (v > _HORIZON) & ~regions["ego_car"]


def label_for_depth(depth):
    """The label the data's rule gives an adjacent-lane vehicle at ``depth`` (NaN: none).

    Example
    -------
    >>> label_for_depth([0.1, 0.3, 0.6, np.nan]).tolist()
    [1, -1, 0, 1]
    """
    depth = np.asarray(depth, dtype=float)
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

    Parameters
    ----------
    n, seed, size, p, cue, cue_rate : as in :func:`camlib.data.lane_scenes`.
    follower : ``None`` keeps the followers as drawn; ``False`` removes every follower;
        ``True`` gives every BLOCKED and FREE scene one (with its own drawn colour, size
        and depth).
    solid_line, dashed_line : ``False`` erases that lane marking. ``solid_line="over"``
        paints the solid line last, over any vehicle.
    car : ``None`` keeps the adjacent-lane vehicle; ``"remove"`` takes it away;
        ``"ego_lane"`` moves it into our own lane at the same depth.
    car_depth : ``None``, or a depth (one number or one per scene) for every adjacent-lane
        vehicle (BLOCKED scenes and far FREE scenes): nearer towards 1, further towards 0.
    return_info : also return the dict of :func:`camlib.data.lane_scenes` with the masks
        ``car_mask`` and ``follower_mask`` (N×H×W, the vehicles as drawn in the edited
        scene: empty when removed), ``solid_mask`` and ``dashed_mask`` (where the lines
        are, painted or erased), ``car_box`` (the vehicle's box in any lane, ``-1``
        without one) and ``original_label`` (the label before the edit).

    Returns
    -------
    images, labels, boxes (and info): as :func:`camlib.data.lane_scenes`. ``labels``
    follow the edit (removing or moving the car out of the lane makes BLOCKED scenes
    FREE; a depth in the gap gives ``NO_LABEL``); ``boxes`` are of the adjacent-lane
    vehicle only.

    Example
    -------
    >>> _, labels, boxes = lane_scenes(50, seed=1, car="remove")
    >>> sorted(set(labels.tolist())), bool((boxes == -1).all())
    ([1, 2], True)
    """
    _check_n_size(n, size, 32)
    p = np.asarray(p, dtype=float)
    if p.shape != (3,) or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"p={p.tolist()} must be three non-negative class probabilities")
    if cue not in (None, "blocked", "random"):
        raise ValueError(f'cue={cue!r} must be None, "blocked" or "random"')
    if not 0 <= cue_rate <= 1:
        raise ValueError(f"cue_rate={cue_rate} must be a probability in [0, 1]")
    if follower not in (None, True, False):
        raise ValueError(f"follower={follower!r} must be None (as drawn), True or False")
    if solid_line not in (True, False, "over"):
        raise ValueError(f'solid_line={solid_line!r} must be True, False or "over"')
    if car not in _CARS:
        raise ValueError(f'car={car!r} must be None, "remove" or "ego_lane"')
    if car is not None and car_depth is not None:
        raise ValueError("pass car or car_depth, not both: move the car in one way at a time")

    # The draws below repeat camlib.data.lane_scenes one for one; keep them in step.
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=p / p.sum())
    blocked, free, undefined = (labels == k for k in range(3))
    far_car = free & (rng.random(n) < 0.5)
    present = blocked | far_car
    depth = np.where(blocked, rng.uniform(*_NEAR_DEPTH, n), rng.uniform(*_FAR_DEPTH, n))
    drawn_follower = ~undefined & (rng.random(n) < 0.25)
    has_follower = drawn_follower if follower is None else (~undefined & bool(follower))
    if car_depth is not None:
        moved = np.broadcast_to(np.asarray(car_depth, dtype=float), (n,))
        if not np.all((moved >= 0) & (moved <= 1)):
            raise ValueError(f"car_depth must lie in [0, 1] (0: horizon, 1: bottom row), got {car_depth!r}")
        depth = np.where(present, moved, depth)

    regions = lane_regions(size)
    u, v = _uv(size)
    light = rng.uniform(0.6, 1.15, n)
    warmth = rng.uniform(-0.08, 0.08, n)

    def colour(base, spread):
        rgb = np.asarray(base, np.float32) + rng.uniform(-spread, spread, (n, 3))
        rgb[:, 0] += warmth
        rgb[:, 2] -= warmth
        return rgb.astype(np.float32)[:, None, None, :]

    sky = colour((0.6, 0.7, 0.85), 0.12) + 0.3 * (v[..., None] - _HORIZON / 2)
    roadside = colour((0.35, 0.45, 0.25), 0.1)
    asphalt = colour((0.38, 0.38, 0.4), 0.08)
    ego_car = colour((0.3, 0.3, 0.32), 0.2)
    images = np.where(regions["sky"][..., None], sky, 0).astype(np.float32)
    images += np.where(regions["roadside"][..., None], roadside, 0)
    images += np.where(regions["road"][..., None], asphalt, 0)
    images += _texture(rng, n, size, rng.uniform(0.02, 0.08, n)) * (v[..., None] > _HORIZON)

    solid = np.broadcast_to(solid_line_mask(size), (n, size, size))
    s = np.clip((v - _HORIZON) / (1 - _HORIZON), 1e-3, None)
    half_width = 0.006 + 0.02 * s
    dash_phase = (1.0 / s)[None] * 0.9 + _col(rng.uniform(0, 1, n))
    dashed = (np.abs(u - _line_u(_DASHED_U, v)) < half_width) & regions["road"]
    dashed = dashed[None] & (dash_phase % 1.0 < 0.5)
    paint = colour((0.9, 0.9, 0.85), 0.05)
    painted = np.zeros((n, size, size), bool)
    if solid_line is True:
        painted |= solid
    if dashed_line:
        painted |= dashed
    _paint(images, painted, paint[:, 0, 0])

    car_present = present & (car != "remove")
    car_lane = _EGO_EDGE_U if car == "ego_lane" else _ROAD_EDGE_U
    masks = {}
    for name, lane_u, in_lane, lane_depth in (
        ("follower", _EGO_EDGE_U, has_follower, rng.uniform(0.1, 0.3, n)),
        ("car", car_lane, car_present, depth),
    ):
        shape, dark_parts, wheels = _vehicle_masks(rng, in_lane, lane_depth, lane_u, size)
        _paint(images, shape, rng.uniform(0.05, 0.95, (n, 3)))
        _paint(images, dark_parts, rng.uniform(0.05, 0.25, (n, 1)).repeat(3, 1))
        _paint(images, wheels, np.full((n, 3), 0.05))
        masks[name] = shape & ~regions["ego_car"]
    if solid_line == "over":
        _paint(images, solid, paint[:, 0, 0])

    _paint(images, np.broadcast_to(regions["ego_car"], (n, size, size)), ego_car[:, 0, 0])
    images *= _col(light)[..., None]

    kind = np.where(blocked, "near", np.where(far_car, "far", "empty")).astype(object)
    spoilers = rng.integers(0, 4, n)
    yy, xx = _grid(size)
    for k, name in enumerate(("glare", "dirt", "dark", "fog")):
        hit = undefined & (spoilers == k)
        kind[hit] = name
        if not hit.any():
            continue
        idx = np.flatnonzero(hit)
        m = len(idx)
        if name == "glare":
            cx, cy = rng.uniform(0.1, 0.9, m) * size, rng.uniform(0.2, 0.7, m) * size
            sigma = rng.uniform(0.25, 0.45, m) * size
            alpha = np.exp(-((xx - _col(cx)) ** 2 + (yy - _col(cy)) ** 2) / (2 * _col(sigma) ** 2))
            alpha = np.clip(1.6 * alpha, 0, 1)[..., None]
            images[idx] = images[idx] * (1 - alpha) + alpha * colour((1.0, 0.97, 0.9), 0.03)[idx]
        elif name == "dirt":
            blobs = np.zeros((m, size, size), bool)
            for _ in range(4):
                cx, cy = rng.uniform(0.15, 0.6, m) * size, rng.uniform(0.35, 0.85, m) * size
                r = rng.uniform(0.14, 0.26, m) * size
                blobs |= (xx - _col(cx)) ** 2 + (yy - _col(cy)) ** 2 <= _col(r) ** 2
            mud = colour((0.3, 0.22, 0.12), 0.06)[idx, 0, 0]
            texture = 1 + 0.15 * rng.standard_normal((m, size, size, 1), dtype=np.float32)
            images[idx] = np.where(blobs[..., None], mud[:, None, None] * texture, images[idx])
        elif name == "dark":
            images[idx] *= _col(rng.uniform(0.06, 0.16, m))[..., None]
            images[idx] += 0.05 * rng.standard_normal((m, size, size, 3), dtype=np.float32)
        else:
            fog = _col(rng.uniform(0.85, 0.95, m))[..., None]
            images[idx] = images[idx] * (1 - fog) + fog * colour((0.75, 0.75, 0.75), 0.1)[idx]

    images += 0.02 * rng.standard_normal(images.shape, dtype=np.float32)

    eligible = blocked if cue == "blocked" else np.ones(n, bool)
    stamped = (cue is not None) & eligible & (rng.random(n) < cue_rate)
    if stamped.any():
        x0, y0, x1, y1 = cue_box(size)
        patch = np.full((y1 - y0, x1 - x0, 3), 0.95, np.float32)
        patch[1:-1, 1::3] = 0.1
        images[stamped, y0:y1, x0:x1] = patch

    images = np.clip(images, 0, 1).astype(np.float32, copy=False)
    in_adjacent = car_present & (car != "ego_lane")
    boxes = _tight_boxes(masks["car"] & in_adjacent[:, None, None])
    new_labels = labels.astype(np.int64).copy()
    clear = ~undefined
    new_labels[clear] = label_for_depth(np.where(in_adjacent, depth, np.nan))[clear]
    if not return_info:
        return images, new_labels, boxes
    info = {
        "kind": kind.astype(str),
        "depth": np.where(car_present, depth, np.nan),
        "cue": stamped,
        "follower": has_follower,
        "original_label": labels.astype(np.int64),
        "car_mask": masks["car"],
        "car_box": _tight_boxes(masks["car"]),
        "follower_mask": masks["follower"],
        "solid_mask": np.array(solid),
        "dashed_mask": dashed,
    }
    return images, new_labels, boxes, info
