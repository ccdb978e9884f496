"""How much does a map cost compared with a plain forward pass?

Run: ``python benchmarks/cam_speed.py [--batch 256] [--repeats 5]``

A small GAP CNN (64×64×3 input, 16×16 class activation map) and a batch of random
images. Every timing is the median of several repeats after a warm-up, all measured in
the same run, so the ratios compare like with like:

- CAM ÷ forward pass. CAM needs nothing but the forward pass, so the goal is ≤ 1.1.
  Two forwards are shown: ``model.predict`` (which has per-call overhead) and the same
  model call compiled with ``tf.function`` over the same chunks as camlib.
- Grad-CAM at the last convolution ÷ forward pass; goal ≤ 1.5 (one forward, one partial
  backward).
- Saliency (the gradient with respect to the pixels) ÷ forward pass: one forward and one
  full backward pass, shown without a goal.

Every map and both forwards go through the same timing harness (:func:`median_times`),
round-robin in one run; no test and no notebook asserts a wall-clock time. Notebook 5.2
counts passes instead: CAM is one forward pass, Grad-CAM and saliency one forward and one
backward.
- The per-image recipe of the keras-io Grad-CAM example (a new sub-model and a new
  GradientTape for every image, eager) ÷ camlib's batched Grad-CAM.
"""

import argparse
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from camlib.cam import DEFAULT_BATCH_SIZE, cam, grad_cam, saliency  # noqa: E402


def small_gap_cnn():
    """camlib's zoo model if it is there, otherwise the same layout built here."""
    try:
        from camlib.models import gap_cnn

        return gap_cnn((64, 64, 3), 4)
    except ImportError:
        inputs = keras.Input((64, 64, 3))
        x = inputs
        for width in (16, 32):
            x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(x)
            x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv_cam")(x)
        x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
        outputs = keras.layers.Dense(4, activation="softmax", name="fc")(x)
        return keras.Model(inputs, outputs)


def keras_io_grad_cam(image, model, last_conv_layer_name):
    """The keras-io example's make_gradcam_heatmap, one image at a time."""
    grad_model = keras.models.Model(
        model.inputs, [model.get_layer(last_conv_layer_name).output, model.output]
    )
    with tf.GradientTape() as tape:
        last_conv_layer_output, preds = grad_model(image)
        pred_index = tf.argmax(preds[0])
        class_channel = preds[:, pred_index]
    grads = tape.gradient(class_channel, last_conv_layer_output)
    pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = last_conv_layer_output[0] @ pooled_grads[..., tf.newaxis]
    return tf.maximum(tf.squeeze(heatmap), 0).numpy()


def median_time(function, repeats):
    return median_times({"_": function}, repeats)["_"]


def median_times(functions, repeats):
    """Median seconds per function, timed round-robin so that load drifts hit all alike."""
    for function in functions.values():
        function()  # warm-up: tracing and first-call allocations
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model = small_gap_cnn()
    images = np.random.default_rng(0).random((args.batch, 64, 64, 3), dtype=np.float32)
    chunk = DEFAULT_BATCH_SIZE

    forward = tf.function(
        lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec((None, 64, 64, 3), tf.float32)],
    )

    def compiled_forward():
        for start in range(0, len(images), chunk):
            forward(images[start : start + chunk]).numpy()

    timings = median_times(
        {
            "model.predict": lambda: model.predict(images, batch_size=chunk, verbose=0),
            "compiled forward": compiled_forward,
            "cam": lambda: cam(model, images),
            "grad_cam": lambda: grad_cam(model, images),
            "saliency": lambda: saliency(model, images),
        },
        args.repeats,
    )

    # The keras-io recipe passes model.inputs (a list) and then calls with a tensor.
    warnings.filterwarnings("ignore", message="The structure of `inputs`")
    # keras-io switches the softmax off on the model itself (and so do we, then restore).
    conv_name = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)][
        -1
    ]
    softmax, model.layers[-1].activation = model.layers[-1].activation, None
    subset = images[: min(len(images), 64)]
    per_image_loop = median_time(
        lambda: [keras_io_grad_cam(image[None], model, conv_name) for image in subset],
        max(1, args.repeats // 2),
    ) * (len(images) / len(subset))
    model.layers[-1].activation = softmax

    maps = cam(model, images[:1])
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}; batch {len(images)} of "
        f"64x64x3, CAM {maps.shape[1]}x{maps.shape[2]}, chunks of {chunk}, "
        f"median of {args.repeats}"
    )
    for name, seconds in timings.items():
        print(f"  {name:<18} {seconds * 1000:8.1f} ms")
    print(
        f"  {'keras-io loop':<18} {per_image_loop * 1000:8.1f} ms  "
        f"(timed on {len(subset)} images, scaled to {len(images)})"
    )
    print("ratios")
    for method, goal in (("cam", 1.1), ("grad_cam", 1.5), ("saliency", None)):
        for base in ("compiled forward", "model.predict"):
            ratio = timings[method] / timings[base]
            if base == "model.predict":
                target = "(predict adds per-call overhead: not a fair base)"
            else:
                target = f"(goal <= {goal})" if goal else "(no goal)"
            print(f"  {method + ' / ' + base:<42} {ratio:6.2f}   {target}")
    print(
        f"  {'keras-io per-image loop / batched grad_cam':<42} "
        f"{per_image_loop / timings['grad_cam']:6.1f}x"
    )


if __name__ == "__main__":
    main()
