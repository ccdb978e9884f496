"""A sweep of bad input across localize, metrics, data, counterfactual, filters, plot,
widgets and stats: each case must end in a ValueError whose message names the fix.

One row per case: (module, case, call, expected message fragment). The fragment is what a
reader needs to fix the call, so it is part of the contract.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from camlib import (  # noqa: E402
    counterfactual,
    data,
    filters,
    graph,
    localize,
    metrics,
    plot,
    stats,
    widgets,
)

NAN = float("nan")
MAPS = np.zeros((2, 8, 8), np.float32)
MAPS[:, 2:5, 2:5] = 1.0
BOXES = np.array([(2, 2, 5, 5), (2, 2, 5, 5)])
IMAGE = np.zeros((8, 8))


def _model(units=2):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    activation = "sigmoid" if units == 1 else "softmax"
    built = keras.Model(inputs, keras.layers.Dense(units, activation=activation)(x))
    return graph.declare_input_range(built, 0.0, 1.0)


_MODELS = {}


def model(units=2):
    if units not in _MODELS:
        _MODELS[units] = _model(units)
    return _MODELS[units]


X = np.random.default_rng(0).random((2, 8, 8, 3)).astype(np.float32)


def axes():
    plt.close("all")
    return plt.subplots()[1]


CASES = [
    # --- localize: boxes --------------------------------------------------------------
    ("localize", "check_boxes transposed (4, N)",
     lambda: localize.check_boxes(np.zeros((4, 3))), "transposed"),
    ("localize", "check_boxes (x, y, w, h)",
     lambda: localize.check_boxes([(10, 10, 5, 5)]), r"not \(x, y, w, h\)"),
    ("localize", "check_boxes -1 rows",
     lambda: localize.check_boxes([(-1, -1, -1, -1)]), r"NO_BOX = \(0, 0, 0, 0\)"),
    ("localize", "check_boxes NaN", lambda: localize.check_boxes([(0, 0, NAN, 2)]), "NaN"),
    ("localize", "check_boxes inf",
     lambda: localize.check_boxes([(0, 0, np.inf, 2)]), "NaN or inf"),
    ("localize", "check_boxes fractions",
     lambda: localize.check_boxes([(0, 0, 2.5, 2)]), r"np.round\(boxes\)"),
    ("localize", "check_boxes strings", lambda: localize.check_boxes("0 0 2 2"), "string"),
    ("localize", "check_boxes object dtype",
     lambda: localize.check_boxes([(0, 0, None, 2)]), "dtype"),
    ("localize", "check_boxes ragged",
     lambda: localize.check_boxes([(0, 0, 2), (0, 0, 2, 2)]), "ragged"),
    ("localize", "check_boxes bool", lambda: localize.check_boxes(np.ones((1, 4), bool)),
     "dtype bool"),
    ("localize", "check_boxes (N, 3)", lambda: localize.check_boxes(np.zeros((2, 3))),
     r"\(N, 4\)"),
    ("localize", "check_boxes 3-D", lambda: localize.check_boxes(np.zeros((2, 4, 1))),
     r"\(N, 4\)"),
    ("localize", "check_boxes negative", lambda: localize.check_boxes([(-2, 0, 3, 3)]),
     "negative"),
    ("localize", "check_boxes outside the image",
     lambda: localize.check_boxes([(0, 0, 9, 4)], image_size=8), r"outside the 8×8 image"),
    ("localize", "check_boxes wrong count",
     lambda: localize.check_boxes(BOXES, n=3), "one per map"),
    ("localize", "check_boxes NO_BOX refused",
     lambda: localize.check_boxes([localize.NO_BOX], allow_no_box=False),
     r"keep = localize.has_box\(boxes\)"),
    ("localize", "has_box (x, y, w, h)", lambda: localize.has_box([(5, 5, 1, 1)]),
     r"not \(x, y, w, h\)"),
    ("localize", "image_size 0", lambda: localize.check_image_size(0), "at least 1"),
    ("localize", "image_size str", lambda: localize.check_image_size("64"), r"\(H, W\)"),
    ("localize", "image_size 3 values",
     lambda: localize.check_image_size((64, 64, 3)), r"\(H, W\)"),
    ("localize", "image_size NaN", lambda: localize.check_image_size(NAN), r"\(H, W\)"),
    ("localize", "image_size fraction",
     lambda: localize.check_image_size((64, 63.5)), "whole number"),
    ("localize", "image_size None pair",
     lambda: localize.check_image_size((None, 64)), r"\(H, W\)"),
    # --- localize: maps and scores -------------------------------------------------------
    ("localize", "box_from_map NaN map",
     lambda: localize.box_from_map(np.array([[NAN, 1.0]])), "NaN"),
    ("localize", "box_from_map inf map",
     lambda: localize.box_from_map(np.array([[np.inf, 1.0]])), "NaN or inf"),
    ("localize", "box_from_map empty", lambda: localize.box_from_map(np.zeros((0, 3))),
     "empty"),
    ("localize", "box_from_map 3-D", lambda: localize.box_from_map(MAPS), "boxes_from_maps"),
    ("localize", "box_from_map 1-D", lambda: localize.box_from_map(np.ones(4)), r"\(h, w\)"),
    ("localize", "box_from_map strings", lambda: localize.box_from_map([["a", "b"]]),
     "numeric"),
    ("localize", "threshold str", lambda: localize.box_from_map(IMAGE, "0.2"),
     "number in"),
    ("localize", "threshold None", lambda: localize.box_from_map(IMAGE, None), "number in"),
    ("localize", "threshold NaN", lambda: localize.box_from_map(IMAGE, NAN), r"\[0, 1\]"),
    ("localize", "threshold 20 (a percentage)", lambda: localize.box_from_map(IMAGE, 20),
     r"\[0, 1\]"),
    ("localize", "threshold bool", lambda: localize.box_from_map(IMAGE, True), "number in"),
    ("localize", "boxes_from_maps image_size 0",
     lambda: localize.boxes_from_maps(MAPS, image_size=0), "at least 1"),
    ("localize", "iou NaN box", lambda: localize.iou((0, 0, NAN, 1), (0, 0, 1, 1)), "NaN"),
    ("localize", "iou inverted box", lambda: localize.iou((3, 3, 1, 1), (0, 0, 1, 1)),
     r"not \(x, y, w, h\)"),
    ("localize", "iou of batches", lambda: localize.iou(BOXES, BOXES), "box_ious"),
    ("localize", "box_ious true NO_BOX",
     lambda: localize.box_ious(MAPS, [(2, 2, 5, 5), localize.NO_BOX]),
     r"keep = localize.has_box\(true_boxes\)"),
    ("localize", "box_ious -1 rows",
     lambda: localize.box_ious(MAPS, [(2, 2, 5, 5), (-1, -1, -1, -1)]), "NO_BOX"),
    ("localize", "box_ious transposed",
     lambda: localize.box_ious(np.zeros((3, 8, 8)), np.zeros((4, 3))), "transposed"),
    ("localize", "box_ious boxes outside the maps' grid",
     lambda: localize.box_ious(MAPS, [(0, 0, 16, 16)] * 2), "map's grid"),
    ("localize", "box_ious count", lambda: localize.box_ious(MAPS, BOXES[:1]), "one per map"),
    ("localize", "iou_threshold 0",
     lambda: localize.localization_accuracy(MAPS, BOXES, iou_threshold=0), r"\(0, 1\]"),
    ("localize", "iou_threshold str",
     lambda: localize.localization_accuracy(MAPS, BOXES, iou_threshold="half"), "number"),
    ("localize", "thresholds empty", lambda: localize.threshold_sweep(MAPS, BOXES, []),
     "non-empty"),
    ("localize", "thresholds str", lambda: localize.threshold_sweep(MAPS, BOXES, "0.2"),
     "sequence"),
    ("localize", "thresholds with NaN",
     lambda: localize.best_threshold(MAPS, BOXES, [0.2, NAN]), "each threshold"),
    ("localize", "localization_error float classes",
     lambda: localize.localization_error(MAPS, BOXES, [0.5, 1.0], [0, 1]), "integer"),
    ("localize", "localization_error class count",
     lambda: localize.localization_error(MAPS, BOXES, [0, 1, 1], [0, 1, 1]), "one per map"),
    ("localize", "area_share outside", lambda: localize.area_share([(0, 0, 65, 10)], 64),
     "outside the 64×64"),
    ("localize", "area_share image_size None",
     lambda: localize.area_share([(0, 0, 5, 5)], None), r"\(H, W\)"),
    ("localize", "area_share image_size str",
     lambda: localize.area_share([(0, 0, 5, 5)], "64"), r"\(H, W\)"),
    # --- metrics ---------------------------------------------------------------------
    ("metrics", "pointing_game true NO_BOX",
     lambda: metrics.pointing_game(MAPS, [(2, 2, 5, 5), localize.NO_BOX]),
     r"keep = localize.has_box\(boxes\)"),
    ("metrics", "energy_in_box -1 rows",
     lambda: metrics.energy_in_box(MAPS, [(2, 2, 5, 5), (-1, -1, -1, -1)]), "NO_BOX"),
    ("metrics", "energy_in_box transposed",
     lambda: metrics.energy_in_box(np.zeros((3, 8, 8)), np.zeros((4, 3))), "transposed"),
    ("metrics", "energy_in_box (x, y, w, h)",
     lambda: metrics.energy_in_box(MAPS, [(4, 4, 2, 2)] * 2), r"not \(x, y, w, h\)"),
    ("metrics", "energy_in_box NaN map",
     lambda: metrics.energy_in_box(np.full((1, 4, 4), NAN), [(0, 0, 2, 2)]), "NaN"),
    ("metrics", "localization_accuracy image_size -1",
     lambda: metrics.localization_accuracy(MAPS, BOXES, image_size=-1), "at least 1"),
    ("metrics", "pointing tolerance NaN",
     lambda: metrics.pointing_hits(MAPS, BOXES, tolerance=NAN), "finite number"),
    ("metrics", "pointing tolerance negative",
     lambda: metrics.pointing_hits(MAPS, BOXES, tolerance=-1), "≥ 0"),
    ("metrics", "pointing tolerance str",
     lambda: metrics.pointing_hits(MAPS, BOXES, tolerance="15"), "finite number"),
    ("metrics", "baseline unknown name",
     lambda: metrics.baseline_images(X, "noise"), "must be one of"),
    ("metrics", "baseline None", lambda: metrics.baseline_images(X, None), "must be one of"),
    ("metrics", "baseline NaN", lambda: metrics.baseline_images(X, NAN), "NaN"),
    ("metrics", "baseline wrong shape",
     lambda: metrics.baseline_images(X, np.zeros((1, 8, 8, 3))), "images' shape"),
    ("metrics", "blur sigma NaN", lambda: metrics.baseline_images(X, sigma=NAN),
     "finite number"),
    ("metrics", "blur sigma 0", lambda: metrics.baseline_images(X, sigma=0), "> 0"),
    ("metrics", "sigma without blur",
     lambda: metrics.baseline_images(X, "zero", sigma=2), 'baseline="blur"'),
    ("metrics", "images 3-D", lambda: metrics.baseline_images(X[0]), r"image\[None\]"),
    ("metrics", "images NaN", lambda: metrics.baseline_images(np.full((1, 4, 4, 3), NAN)),
     "NaN"),
    ("metrics", "pixel_ranks seed negative", lambda: metrics.pixel_ranks(MAPS, seed=-1),
     "non-negative integer"),
    ("metrics", "pixel_ranks seed float", lambda: metrics.pixel_ranks(MAPS, seed=0.5),
     "non-negative integer"),
    ("metrics", "deletion steps 0",
     lambda: metrics.deletion_curve(model(), X, MAPS, steps=0), "at least 1"),
    ("metrics", "deletion steps NaN",
     lambda: metrics.deletion_curve(model(), X, MAPS, steps=NAN), "whole number"),
    ("metrics", "deletion batch_size None",
     lambda: metrics.deletion_curve(model(), X, MAPS, batch_size=None), "whole number"),
    ("metrics", "deletion batch_size inf",
     lambda: metrics.deletion_curve(model(), X, MAPS, batch_size=float("inf")),
     "whole number"),
    ("metrics", "deletion score unknown",
     lambda: metrics.deletion_curve(model(), X, MAPS, score="softmax"), '"probability"'),
    ("metrics", "deletion score array",
     lambda: metrics.deletion_curve(model(), X, MAPS, score=np.array(["a", "b"])),
     '"probability"'),
    ("metrics", "deletion maps count",
     lambda: metrics.deletion_curve(model(), X, MAPS[:1]), "one per image"),
    ("metrics", "deletion class out of range",
     lambda: metrics.deletion_curve(model(), X, MAPS, 5), "out of range"),
    ("metrics", "insertion binary class 2",
     lambda: metrics.insertion_curve(model(1), X, MAPS, 2), "out of range"),
    ("metrics", "insertion images 0-255",
     lambda: metrics.insertion_curve(model(), (X * 255).astype(np.uint8), MAPS),
     "float32"),
    ("metrics", "area_under NaN", lambda: metrics.area_under([[1.0, NAN]]), "NaN"),
    ("metrics", "area_under one point", lambda: metrics.area_under([[1.0]]), "2 points"),
    ("metrics", "area_under 1-D", lambda: metrics.area_under([1.0, 0.5]), r"curve\[None\]"),
    ("metrics", "area_under strings", lambda: metrics.area_under([["a", "b"]]), "numeric"),
    ("metrics", "randomize_top layers str",
     lambda: metrics.randomize_top(model(), layers="1"), "whole number"),
    ("metrics", "randomize_top layers 1.5",
     lambda: metrics.randomize_top(model(), layers=1.5), "whole number"),
    ("metrics", "randomize_top too many",
     lambda: metrics.randomize_top(model(), layers=9), r"in 1\.\.2"),
    ("metrics", "randomize_top seed negative",
     lambda: metrics.randomize_top(model(), seed=-1), "non-negative integer"),
    ("metrics", "randomize_top not a model",
     lambda: metrics.randomize_top("model"), "model"),
    ("metrics", "rank_correlation shapes",
     lambda: metrics.rank_correlation(MAPS, MAPS[:1]), "pair up"),
    ("metrics", "sanity_check layers str",
     lambda: metrics.sanity_check(lambda m, x, c: MAPS, model(), X, layers="top"),
     "whole number"),
    ("metrics", "sanity_check method not callable",
     lambda: metrics.sanity_check("grad_cam", model(), X), "map method"),
    ("metrics", "accuracy labels None", lambda: metrics.accuracy(model(), X, None),
     "one class index per image"),
    ("metrics", "accuracy one int label", lambda: metrics.accuracy(model(), X, 1),
     "one class index per image"),
    ("metrics", "accuracy labels str", lambda: metrics.accuracy(model(), X, "01"),
     "one class index per image"),
    ("metrics", "accuracy labels count", lambda: metrics.accuracy(model(), X, [0, 1, 0]),
     "one class per image"),
    ("metrics", "accuracy labels out of range", lambda: metrics.accuracy(model(), X, [0, 3]),
     "out of range"),
    ("metrics", "accuracy binary label 2", lambda: metrics.accuracy(model(1), X, [0, 2]),
     "out of range"),
    ("metrics", "accuracy fractional labels",
     lambda: metrics.accuracy(model(), X, [0.5, 1]), "integers"),
    ("metrics", "accuracy batch_size 0",
     lambda: metrics.accuracy(model(), X, [0, 1], batch_size=0), "at least 1"),
    ("metrics", "evaluate true NO_BOX",
     lambda: metrics.evaluate(lambda m, x, c: MAPS, model(), X,
                              [(2, 2, 5, 5), localize.NO_BOX]), "has_box"),
    ("metrics", "evaluate method not callable",
     lambda: metrics.evaluate(None, model(), X, BOXES), "map method"),
    # --- data (more in test_data) -----------------------------------------------------
    ("data", "shapes scale too large", lambda: data.shapes(2, scale=(0.2, 0.6)), "fits inside"),
    ("data", "shapes scale reversed", lambda: data.shapes(2, scale=(0.3, 0.2)), "low <= high"),
    ("data", "shapes scale NaN", lambda: data.shapes(2, scale=(NAN, 0.2)), "low <= high"),
    ("data", "shapes scale one number", lambda: data.shapes(2, scale=0.2), "two numbers"),
    ("data", "shapes n float", lambda: data.shapes(2.5), "positive integer"),
    ("data", "shapes n bool", lambda: data.shapes(True), "positive integer"),
    ("data", "shapes seed negative", lambda: data.shapes(2, seed=-1), "non-negative"),
    ("data", "shapes seed None", lambda: data.shapes(2, seed=None), "non-negative"),
    ("data", "shapes clutter str", lambda: data.shapes(2, clutter="yes"), "True or False"),
    ("data", "shapes size float", lambda: data.shapes(2, size=64.5), "integer of at least"),
    ("data", "lane p NaN", lambda: data.lane_scenes(2, p=(NAN, 1, 1)), "three non-negative"),
    ("data", "lane p str", lambda: data.lane_scenes(2, p="abc"), "three non-negative"),
    ("data", "lane cue list", lambda: data.lane_scenes(2, cue=["blocked"]), '"blocked"'),
    ("data", "lane cue array", lambda: data.lane_scenes(2, cue=np.array(["a", "b"])),
     '"blocked"'),
    ("data", "lane cue_rate str", lambda: data.lane_scenes(2, cue_rate="1"), "probability"),
    ("data", "lane cue_rate NaN", lambda: data.lane_scenes(2, cue_rate=NAN), "probability"),
    ("data", "lane return_info str", lambda: data.lane_scenes(2, return_info="yes"),
     "True or False"),
    ("data", "cue_box str size", lambda: data.cue_box("64"), "integer of at least"),
    ("data", "boxes_of_masks float masks", lambda: data.boxes_of_masks(np.zeros((1, 3, 3))),
     "image > 0.5"),
    ("data", "sample_image list", lambda: data.sample_image(["camera"]), "choose one of"),
    ("data", "character size str", lambda: data.character("A", "64"), "whole number"),
    ("data", "character weight", lambda: data.character("A", weight="fat"), "must be one of"),
    # --- counterfactual ---------------------------------------------------------------
    ("counterfactual", "car list", lambda: counterfactual.lane_scenes(2, car=["remove"]),
     '"remove"'),
    ("counterfactual", "solid_line str",
     lambda: counterfactual.lane_scenes(2, solid_line="under"), '"over"'),
    ("counterfactual", "dashed_line str",
     lambda: counterfactual.lane_scenes(2, dashed_line="no"), "True or False"),
    ("counterfactual", "follower str",
     lambda: counterfactual.lane_scenes(2, follower="yes"), "True or False"),
    ("counterfactual", "car_depth str",
     lambda: counterfactual.lane_scenes(2, car_depth="near"), r"\[0, 1\]"),
    ("counterfactual", "car_depth NaN",
     lambda: counterfactual.lane_scenes(2, car_depth=NAN), r"\[0, 1\]"),
    ("counterfactual", "car_depth wrong length",
     lambda: counterfactual.lane_scenes(2, car_depth=[0.5] * 3), "one per scene"),
    ("counterfactual", "car and car_depth",
     lambda: counterfactual.lane_scenes(2, car="remove", car_depth=0.5), "not both"),
    ("counterfactual", "return_info None",
     lambda: counterfactual.lane_scenes(2, return_info=None), "True or False"),
    ("counterfactual", "label_for_depth str", lambda: counterfactual.label_for_depth("x"),
     "numbers in"),
    ("counterfactual", "label_for_depth inf",
     lambda: counterfactual.label_for_depth([np.inf]), r"\[0, 1\]"),
    # --- filters ----------------------------------------------------------------------
    ("filters", "gaussian_kernel sigma NaN", lambda: filters.gaussian_kernel(5, NAN),
     "positive finite"),
    ("filters", "gaussian_kernel sigma inf", lambda: filters.gaussian_kernel(5, np.inf),
     "positive finite"),
    ("filters", "gaussian_kernel sigma str", lambda: filters.gaussian_kernel(5, "1"),
     "positive finite"),
    ("filters", "gaussian_kernel size 4.5", lambda: filters.gaussian_kernel(4.5),
     "odd integer"),
    ("filters", "gaussian_kernel size 5.0", lambda: filters.gaussian_kernel(5.0),
     "odd integer"),
    ("filters", "gaussian_kernel size str", lambda: filters.gaussian_kernel("5"),
     "odd integer"),
    ("filters", "gaussian_kernel size even", lambda: filters.gaussian_kernel(4), "odd"),
    ("filters", "correlate2d NaN kernel",
     lambda: filters.correlate2d(IMAGE, np.full((3, 3), NAN)), "NaN"),
    ("filters", "correlate2d str kernel", lambda: filters.correlate2d(IMAGE, "sobel"),
     "SOBEL_X"),
    ("filters", "correlate2d NaN image",
     lambda: filters.correlate2d(np.full((4, 4), NAN), filters.SOBEL_X), "NaN"),
    ("filters", "correlate2d complex image",
     lambda: filters.correlate2d(np.ones((4, 4), complex), filters.SOBEL_X), "real"),
    ("filters", "correlate2d 1-D kernel", lambda: filters.correlate2d(IMAGE, [1, 0, -1]),
     "2-D"),
    ("filters", "to_gray NaN", lambda: filters.to_gray(np.full((4, 4, 3), NAN)), "NaN"),
    ("filters", "to_gray 2 channels", lambda: filters.to_gray(np.zeros((4, 4, 2))),
     "H×W×3"),
    ("filters", "to_gray str", lambda: filters.to_gray("photo"), "numeric"),
    ("filters", "sobel colour", lambda: filters.sobel(np.zeros((4, 4, 3))), "to_gray"),
    ("filters", "gradient_magnitude shapes",
     lambda: filters.gradient_magnitude(np.zeros((4, 4)), np.zeros((3, 3))),
     "same shape"),
    ("filters", "gradient_magnitude NaN",
     lambda: filters.gradient_magnitude(np.array([NAN]), np.array([1.0])), "NaN"),
    ("filters", "shape_features grey", lambda: filters.shape_features(np.full((4, 4), 0.5)),
     "threshold it first"),
    # --- plot -------------------------------------------------------------------------
    ("plot", "draw_box (x, y, w, h)", lambda: plot.draw_box(axes(), (5, 5, 2, 2)),
     r"not \(x, y, w, h\)"),
    ("plot", "draw_box -1 box", lambda: plot.draw_box(axes(), (-1, -1, -1, -1)), "NO_BOX"),
    ("plot", "draw_box NaN", lambda: plot.draw_box(axes(), (0, 0, NAN, 2)), "NaN"),
    ("plot", "draw_box two boxes", lambda: plot.draw_box(axes(), BOXES), "one box"),
    ("plot", "draw_box linewidth 0",
     lambda: plot.draw_box(axes(), (0, 0, 2, 2), linewidth=0), "> 0"),
    ("plot", "method_grid boxes outside",
     lambda: plot.method_grid(X, {"A": MAPS}, boxes=[(0, 0, 9, 9)] * 2), "outside the 8×8"),
    ("plot", "method_grid maps not a dict", lambda: plot.method_grid(X, MAPS), "dict"),
    ("plot", "method_grid NaN images",
     lambda: plot.method_grid(np.full((2, 8, 8, 3), NAN), {"A": MAPS}), "NaN"),
    ("plot", "grid_shape n str", lambda: plot.grid_shape("3", 5), "whole number"),
    ("plot", "grid_shape n None", lambda: plot.grid_shape(None, 5), "whole number"),
    ("plot", "grid_shape max_cols 0", lambda: plot.grid_shape(3, 0), "at least 1"),
    ("plot", "panels width str", lambda: plot.panels(1, 1, width="7"), "finite number"),
    ("plot", "panels width too wide", lambda: plot.panels(1, 1, width=9), "PAGE_WIDTH"),
    ("plot", "panels aspect NaN", lambda: plot.panels(1, 1, aspect=NAN), "finite number"),
    ("plot", "panels nrows 1.5", lambda: plot.panels(1.5, 1), "whole number"),
    ("plot", "readability_problems not a figure",
     lambda: plot.readability_problems("fig"), "matplotlib Figure"),
    ("plot", "signed_map NaN values", lambda: plot.signed_map(axes(), [[NAN, 1.0]]), "NaN"),
    ("plot", "signed_map limit str",
     lambda: plot.signed_map(axes(), IMAGE, limit="2"), "finite number"),
    ("plot", "robust_limit NaN", lambda: plot.robust_limit(np.array([NAN, 1.0])), "NaN"),
    ("plot", "robust_limit percentile 200",
     lambda: plot.robust_limit(np.ones(3), 200), r"\[0, 100\]"),
    ("plot", "image_grid one image", lambda: plot.image_grid(np.zeros((8, 8))), r"\[image\]"),
    ("plot", "image_grid 1-D image", lambda: plot.image_grid([np.zeros(8)]), "dimensions"),
    ("plot", "image_grid title str",
     lambda: plot.image_grid([IMAGE, IMAGE], "ab"), "list of strings"),
    ("plot", "image_grid size NaN", lambda: plot.image_grid([IMAGE], size=NAN),
     "finite number"),
    ("plot", "show_kernel NaN", lambda: plot.show_kernel(np.full((3, 3), NAN)), "NaN"),
    ("plot", "overlay alpha 2", lambda: plot.overlay(X[0], IMAGE, axes(), alpha=2),
     r"\[0, 1\]"),
    ("plot", "overlay NaN heat map",
     lambda: plot.overlay(X[0], np.full((4, 4), NAN), axes()), "NaN"),
    ("plot", "overlay vmin above vmax",
     lambda: plot.overlay(X[0], IMAGE, axes(), vmin=1, vmax=0), "below vmax"),
    ("plot", "overlay two-channel image",
     lambda: plot.overlay(np.zeros((8, 8, 2)), IMAGE, axes()), "H×W×3"),
    ("plot", "flow one string", lambda: plot.flow("abc"), "not one string"),
    ("plot", "layer_maps channels 0",
     lambda: plot.layer_maps(X[0], {"c": np.ones((4, 4, 3))}, channels=0), "at least 1"),
    ("plot", "layer_maps not a dict", lambda: plot.layer_maps(X[0], np.ones((4, 4, 3))),
     "dict"),
    ("plot", "channel_grid channels str",
     lambda: plot.channel_grid(np.ones((4, 4, 3)), channels="all"), "whole number"),
    # --- widgets ----------------------------------------------------------------------
    ("widgets", "filter_explorer images array",
     lambda: widgets.filter_explorer(np.zeros((2, 8, 8)), filters.KERNELS), "dict"),
    ("widgets", "filter_explorer NaN kernel",
     lambda: widgets.filter_explorer({"a": IMAGE}, {"k": np.full((3, 3), NAN)}), "NaN"),
    ("widgets", "show_response NaN response",
     lambda: widgets.show_response(axes(), filters.SOBEL_X, np.full((4, 4), NAN)),
     "finite"),
    ("widgets", "show_response limit 0",
     lambda: widgets.show_response(axes(), filters.SOBEL_X, IMAGE, limit=0), "positive"),
    ("widgets", "activation_browser layer object",
     lambda: widgets.activation_browser(model(), X, model().layers[1]), "layer.name"),
    ("widgets", "activation_browser Dense layer",
     lambda: widgets.activation_browser(model(), X, model().layers[-1].name),
     "convolution"),
    ("widgets", "activation_browser empty list",
     lambda: widgets.activation_browser(model(), X, []), "non-empty list"),
    # --- stats ------------------------------------------------------------------------
    ("stats", "median_seconds not callable", lambda: stats.median_seconds(3), "callable"),
    ("stats", "median_seconds repeats 0",
     lambda: stats.median_seconds(lambda: None, repeats=0), "at least 1"),
    ("stats", "median_seconds warmup -1",
     lambda: stats.median_seconds(lambda: None, warmup=-1), "at least 0"),
    ("stats", "median_seconds repeats 2.5",
     lambda: stats.median_seconds(lambda: None, repeats=2.5), "whole number"),
    ("stats", "mean_interval strings", lambda: stats.mean_interval(["a", "b"]), "numbers"),
    ("stats", "mean_interval NaN", lambda: stats.mean_interval([1.0, NAN]), "NaN"),
    ("stats", "mean_interval one value", lambda: stats.mean_interval([1.0]), "at least 2"),
    ("stats", "confidence str", lambda: stats.mean_interval([1.0, 2.0], "95%"), r"\(0, 1\)"),
    ("stats", "confidence 95", lambda: stats.mean_interval([1.0, 2.0], 95), r"\(0, 1\)"),
    ("stats", "bootstrap resamples str",
     lambda: stats.bootstrap_interval([1.0, 2.0], resamples="many"), "integer"),
    ("stats", "bootstrap seed negative",
     lambda: stats.bootstrap_interval([1.0, 2.0], seed=-1), "non-negative"),
    ("stats", "paired_difference lengths",
     lambda: stats.paired_difference([1.0, 2.0], [1.0, 2.0, 3.0]), "paired"),
]


@pytest.mark.parametrize("module, case, call, message", CASES,
                         ids=[f"{module}: {case}" for module, case, _, _ in CASES])
def test_bad_input_is_refused_with_the_fix(module, case, call, message):
    with pytest.raises(ValueError, match=message):
        call()


# Documented conversions: what is accepted instead of refused, and what it becomes.


def test_one_int_image_size_is_a_square_image_everywhere():
    assert localize.check_image_size(8) == (8, 8)
    np.testing.assert_array_equal(localize.boxes_from_maps(MAPS, image_size=16),
                                  localize.boxes_from_maps(MAPS, image_size=(16, 16)))
    assert metrics.pointing_game(MAPS, BOXES * 2, image_size=16) == \
        metrics.pointing_game(MAPS, BOXES * 2, image_size=(16, 16))


def test_whole_float_boxes_and_one_box_are_converted():
    assert localize.check_boxes([2.0, 2.0, 5.0, 5.0]).tolist() == [[2, 2, 5, 5]]
    assert localize.iou([2.0, 2.0, 5.0, 5.0], (2, 2, 5, 5)) == 1.0


def test_no_box_is_drawn_as_nothing_and_is_worth_no_area():
    assert plot.draw_box(axes(), localize.NO_BOX) is None
    assert localize.area_share([localize.NO_BOX], 8).tolist() == [0.0]
    assert localize.iou(localize.NO_BOX, (0, 0, 4, 4)) == 0.0


def test_the_sweep_covers_every_module_it_names():
    covered = {module for module, _, _, _ in CASES}
    assert covered == {"localize", "metrics", "data", "counterfactual", "filters", "plot",
                       "widgets", "stats"}
