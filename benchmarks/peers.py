"""camlib against tf-keras-vis: speed, Score-CAM memory, and agreement of the maps.

tf-keras-vis is not a dependency of camlib. Install it somewhere of its own, without its
dependencies (so that it cannot replace the NumPy or TensorFlow you test with), plus the
two small packages it imports:

    pip install --target /tmp/peers --no-deps tf-keras-vis deprecated wrapt imageio

Run (not part of ``make test``; the numbers depend on the machine):

    python benchmarks/peers.py --peer-path /tmp/peers [--batch 256] [--repeats 3]

The model is the zoo's ``shapes-gap`` (trained and cached on first use) and the images are
``batch`` test images of ``shapes``, each explained for its true class, in both libraries,
in one run. The script prints:

- per method (Grad-CAM, Grad-CAM++, Score-CAM), the median wall-clock time of each library
  over ``repeats`` runs after a warm-up, and their ratio;
- Score-CAM's peak memory in each library: TensorFlow's CPU allocations are invisible to
  ``tracemalloc``, and ``tf.config.experimental.get_memory_info("CPU:0")`` reports zeros,
  so each method runs in a fresh subprocess that reports how far its resident-set
  high-water mark (VmHWM, reset after loading the model and the data and a two-image
  warm-up) rose above the resident set at that point;
- how well the maps agree: the Pearson correlation of each pair of maps after both are
  scaled to [0, 1], as the mean and the minimum over images.

Where the two libraries define a method differently, the script says how, and also
compares camlib with a ``LayerMethod`` subclass written to the peer's definition.
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from camlib import cam, methods, models  # noqa: E402

LAYER = "conv_cam"
METHODS = ("Grad-CAM", "Grad-CAM++", "Score-CAM")


class PeerGradCAMPlusPlus(methods.LayerMethod):
    """Grad-CAM++ as tf-keras-vis 0.8 defines it: the paper's pixel weights α, divided by
    their sum over positions in each channel before they weight ReLU(gradient)."""

    def weights(self, activations, grads):
        squared = grads**2
        total = tf.reduce_sum(activations, axis=(1, 2), keepdims=True)
        denominator = 2.0 * squared + total * squared * grads
        denominator += tf.cast(squared == 0.0, denominator.dtype)
        alpha = squared / denominator
        norm = tf.reduce_sum(alpha, axis=(1, 2), keepdims=True)
        alpha /= norm + tf.cast(norm == 0.0, norm.dtype)
        return tf.reduce_sum(alpha * tf.nn.relu(grads), axis=(1, 2))


class PeerScoreCAM(cam.ScoreCAM):
    """Score-CAM with tf-keras-vis 0.8's masks: upsampled first, with corners aligned (as
    ``scipy.ndimage.zoom`` with ``order=1`` does), then scaled to [0, 1] with an epsilon."""

    def masks(self, activations, size):
        up = tf.compat.v1.image.resize_bilinear(activations, size, align_corners=True)
        low = tf.reduce_min(up, axis=(1, 2), keepdims=True)
        high = tf.reduce_max(up, axis=(1, 2), keepdims=True)
        return (up - low) / (high - low + 1e-7)


def setup(batch):
    model = models.get("shapes-gap", verbose=0)
    images, labels, _ = models.dataset("shapes-gap", "test", n=batch)
    return model, images, labels


def camlib_method(name):
    return {
        "Grad-CAM": lambda m, x, y: cam.grad_cam(m, x, y, layer=LAYER),
        "Grad-CAM++": lambda m, x, y: cam.grad_cam_plus_plus(m, x, y, layer=LAYER),
        "Score-CAM": lambda m, x, y: cam.score_cam(m, x, y, layer=LAYER),
        "Grad-CAM++ (peer's definition)": lambda m, x, y: PeerGradCAMPlusPlus()(
            m, x, y, layer=LAYER),
        "Score-CAM (peer's masks)": lambda m, x, y: PeerScoreCAM()(m, x, y, layer=LAYER),
    }[name]


def peer_method(name, model):
    """A tf-keras-vis explainer for ``name``, built once (it clones the model)."""
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    kind = {"Grad-CAM": Gradcam, "Grad-CAM++": GradcamPlusPlus, "Score-CAM": Scorecam}[name]
    explainer = kind(model, model_modifier=ReplaceToLinear(), clone=True)

    def run(m, x, y):
        kwargs = dict(penultimate_layer=LAYER, expand_cam=False, normalize_cam=False)
        if name == "Score-CAM":
            kwargs["batch_size"] = cam.DEFAULT_BATCH_SIZE
        with contextlib.redirect_stdout(io.StringIO()):  # its model.predict progress bar
            return np.asarray(explainer(CategoricalScore(list(map(int, y))), x, **kwargs))

    return run


def median_time(function, repeats):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def agreement(a, b):
    a, b = cam.normalize(a).reshape(len(a), -1), cam.normalize(b).reshape(len(b), -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    r = np.where(norm > 0, (a * b).sum(axis=1) / np.where(norm > 0, norm, 1), np.nan)
    return float(np.nanmean(r)), float(np.nanmin(r))


def _status_mib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def peak_memory(library, name, batch):
    """Run one method in this process; print, as JSON, how far the resident set's
    high-water mark (VmHWM) rose above the resident set after the warm-up, in MiB.

    ``ru_maxrss`` would not do: Linux carries it over from the parent through fork and
    exec. VmHWM belongs to this process, and writing 5 to /proc/self/clear_refs resets it.
    """
    model, images, labels = setup(batch)
    run = camlib_method(name) if library == "camlib" else peer_method(name, model)
    run(model, images[:2], labels[:2])
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = _status_mib("VmRSS")
    run(model, images, labels)
    peak = _status_mib("VmHWM")
    print(json.dumps({"rise_mib": peak - before, "peak_mib": peak}))


def measure_in_subprocess(library, name, batch, peer_path):
    env = dict(os.environ)
    if peer_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), peer_path]))
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--memory", library, name,
         "--batch", str(batch)],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-path", default=None,
                        help="folder where tf-keras-vis was installed with pip --target")
    parser.add_argument("--memory", nargs=2, metavar=("LIBRARY", "METHOD"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_path:
        sys.path.append(args.peer_path)
    if args.memory:
        peak_memory(*args.memory, args.batch)
        return

    import keras

    try:
        import tf_keras_vis
    except ImportError as error:
        sys.exit(f"tf-keras-vis is not importable ({error}); see the module docstring.")
    model, images, labels = setup(args.batch)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, "
          f"tf-keras-vis {tf_keras_vis.__version__}; {os.cpu_count()} CPUs")
    print(f"model shapes-gap, layer {LAYER}, {args.batch} images of "
          f"{images.shape[1]}×{images.shape[2]}, median of {args.repeats} runs\n")

    print(f"{'method':12s} {'camlib s':>9s} {'peer s':>9s} {'peer/camlib':>12s} "
          f"{'corr mean':>10s} {'corr min':>9s}")
    maps = {}
    for name in METHODS:
        ours, theirs = camlib_method(name), peer_method(name, model)
        t_ours = median_time(lambda ours=ours: ours(model, images, labels), args.repeats)
        t_theirs = median_time(lambda theirs=theirs: theirs(model, images, labels),
                               args.repeats)
        maps[name] = ours(model, images, labels), theirs(model, images, labels)
        mean, low = agreement(*maps[name])
        print(f"{name:12s} {t_ours:9.3f} {t_theirs:9.3f} {t_theirs / t_ours:11.1f}× "
              f"{mean:10.4f} {low:9.4f}")

    peer_definition = camlib_method("Grad-CAM++ (peer's definition)")(model, images, labels)
    mean, low = agreement(peer_definition, maps["Grad-CAM++"][1])
    peer_masks = camlib_method("Score-CAM (peer's masks)")(model, images, labels)
    mean_masks, low_masks = agreement(peer_masks, maps["Score-CAM"][1])
    print(f"\nGrad-CAM++: tf-keras-vis divides the pixel weights α by their sum over "
          f"positions in each channel;\n  camlib (like the paper and pytorch-grad-cam) "
          f"does not. camlib's LayerMethod written to\n  the peer's definition agrees "
          f"with tf-keras-vis: corr mean {mean:.4f}, min {low:.4f}.")
    print("Score-CAM: both weight channels by the class probability of the masked image; "
          "tf-keras-vis\n  upsamples the masks with scipy.ndimage.zoom (order 1), camlib "
          "with bilinear tf.image.resize,\n  and tf-keras-vis adds an epsilon to the "
          "min-max scaling.\n  With those masks (a ScoreCAM subclass overriding masks()) "
          f"camlib agrees with tf-keras-vis:\n  corr mean {mean_masks:.4f}, "
          f"min {low_masks:.4f}.")

    print(f"\nScore-CAM peak memory on {args.batch} images, each library in a fresh process:")
    for library in ("camlib", "tf-keras-vis"):
        measured = measure_in_subprocess(library, "Score-CAM", args.batch, args.peer_path)
        print(f"  {library:12s} {measured['rise_mib']:8.0f} MiB above the resident set "
              f"(process peak {measured['peak_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
