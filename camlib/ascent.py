"""Gradient ascent on the input (chapter 3): the picture a channel or a class likes best.

- :func:`maximize` and its result :class:`AscentResult`; :class:`DeadChannelError` for a
  channel that cannot move;
- :class:`Transforms` and :data:`DEFAULT_TRANSFORMS`, the small random changes applied
  at each step; :data:`COLOR_CORRELATION_SQRT`, Lucid's colour basis;
- :func:`radial_spectrum` and :func:`high_frequency_share`, which measure how noisy the
  pictures are.

The slides' rule, repeated from random noise::

    image <- image + r · d(activation of layer L, channel k) / d(image)

:func:`maximize` runs it for many channels at once, one image per channel in one batch,
with a compiled step. Each step's gradient is divided by its own root mean square, so
that ``r`` (``learning_rate``) is the size of a step whatever the scale of the layer.
Two remedies against the high-frequency noise that plain pixel ascent produces
(Olah et al. 2017, "Feature Visualization") are options:

- ``transforms=True``: jitter, scale and rotate the image a little at every step, so that
  only patterns that survive these small changes are rewarded (transformation robustness);
- ``parameterization="fourier"``: optimise the image's Fourier coefficients, scaled by
  1/frequency, and its colours in a decorrelated basis (Lucid's ``fft`` and
  ``decorrelate`` image), which favours smooth, natural colours.

A channel that is exactly zero after its ReLU on the starting image has a zero gradient
and would come back as untouched noise. :func:`maximize` detects it and either raises
(the default) or maximises its value *before* the ReLU, and says which it did.

Example:
    >>> result = maximize(model, "block2_conv", channels=range(2), steps=16,
    ...                   progress=False)
    >>> result.images.shape, bool(result.gain.min() > 1)
    ((2, 64, 64, 3), True)
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from camlib import graph
from camlib.activations import has_activation

__all__ = [
    "maximize",
    "Transforms",
    "DEFAULT_TRANSFORMS",
    "AscentResult",
    "DeadChannelError",
    "high_frequency_share",
    "radial_spectrum",
    "COLOR_CORRELATION_SQRT",
]

#: The square root of ImageNet's colour covariance, as Lucid uses it to decorrelate
#: colours (columns are the decorrelated colour axes, in RGB).
COLOR_CORRELATION_SQRT = np.array(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32
)


class Transforms(NamedTuple):
    """Random changes applied to the image before each step (transformation robustness).

    ``jitter``: shift by up to this many pixels; ``scale``: zoom by a factor in
    ``[1 - scale, 1 + scale]``; ``degrees``: rotate by up to this angle. Borders are
    filled by reflection.
    """

    jitter: float = 3.0
    scale: float = 0.05
    degrees: float = 8.0


DEFAULT_TRANSFORMS = Transforms()


class DeadChannelError(ValueError):
    """A channel that gradient ascent cannot move.

    The channel is zero after its ReLU everywhere on the starting image, so no gradient
    reaches it.
    """


class AscentResult(NamedTuple):
    """What :func:`maximize` returns; arrays have one entry per requested channel.

    - ``images`` (n, H, W, C) in [0, 1], and ``start_images``, the noise they began as;
    - ``channels``: the channel (or class) of each image;
    - ``activation`` and ``start_activation``: the objective (the channel's mean over the
      map) on the final and on the starting image, measured without any transform;
    - ``gain``: ``activation / start_activation``;
    - ``pre_activation``: True where the value before the activation was maximised (a
      channel that was dead at the start, a class score before softmax, or on request);
    - ``history`` (steps, n): the objective at every step;
    - ``seconds``: wall-clock time of the ascent.
    """

    images: np.ndarray
    start_images: np.ndarray
    channels: np.ndarray
    activation: np.ndarray
    start_activation: np.ndarray
    pre_activation: np.ndarray
    history: np.ndarray
    seconds: float

    @property
    def gain(self):
        """Each channel's final activation divided by its activation at the start."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.activation / self.start_activation


# ---------------------------------------------------------------------------------------
# Image parameterisations
# ---------------------------------------------------------------------------------------


def _frequencies(height, width):
    """Radial frequency (cycles per pixel) of each coefficient of a real 2-D FFT."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    return np.sqrt(fx**2 + fy**2).astype(np.float32)


class _Pixels:
    """The image itself is the variable, kept in [0, 1] after each step."""

    def __init__(self, height, width, channels):
        self.shape = (height, width, channels)

    def start(self, rng, n):
        noise = 0.5 + 0.1 * rng.standard_normal((n, *self.shape))
        return np.clip(noise, 0, 1).astype(np.float32)

    def image(self, params):
        return params

    def project(self, params):
        return tf.clip_by_value(params, 0.0, 1.0)


class _Fourier:
    """Lucid's decorrelated image parameterization.

    Fourier coefficients are scaled by 1/frequency, colours live in a decorrelated
    basis, and a sigmoid maps the result into [0, 1].
    """

    def __init__(self, height, width, channels, decay=1.0):
        self.height, self.width, self.channels = height, width, channels
        frequencies = _frequencies(height, width)
        scale = 1.0 / np.maximum(frequencies, 1.0 / max(height, width)) ** decay
        self.scale = tf.constant(scale * math.sqrt(height * width), tf.complex64)
        if channels == 3:
            colors = (
                COLOR_CORRELATION_SQRT
                / np.linalg.norm(COLOR_CORRELATION_SQRT, axis=0).max()
            )
        else:
            colors = np.eye(channels, dtype=np.float32)
        self.colors = tf.constant(colors.T, tf.float32)
        self.spectrum_shape = (2, channels, height, width // 2 + 1)

    def start(self, rng, n):
        return (0.01 * rng.standard_normal((n, *self.spectrum_shape))).astype(np.float32)

    def image(self, params):
        spectrum = tf.complex(params[:, 0], params[:, 1]) * self.scale
        spatial = tf.signal.irfft2d(spectrum, fft_length=[self.height, self.width])
        spatial = tf.transpose(spatial, (0, 2, 3, 1)) / 4.0
        return tf.sigmoid(tf.einsum("nhwc,cd->nhwd", spatial, self.colors))

    def project(self, params):
        return params


def _transform(images, step, seed, transforms):
    """One random shift, zoom and rotation per image, about the image centre."""
    height, width = images.shape[1], images.shape[2]
    n = tf.shape(images)[0]
    draws = tf.random.stateless_uniform(
        [n, 4], seed=tf.stack([seed, step]), minval=-1.0, maxval=1.0
    )
    angle = draws[:, 0] * transforms.degrees * math.pi / 180
    zoom = 1.0 + draws[:, 1] * transforms.scale
    shift_x, shift_y = draws[:, 2] * transforms.jitter, draws[:, 3] * transforms.jitter
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    cx, cy = (width - 1) / 2, (height - 1) / 2
    # Output pixel (x, y) samples the input at A·(x - c) + c + shift.
    row_x = [cos, -sin, cx - cos * cx + sin * cy + shift_x]
    row_y = [sin, cos, cy - sin * cx - cos * cy + shift_y]
    zeros = tf.zeros_like(cos)
    matrix = tf.stack(row_x + row_y + [zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=matrix,
        output_shape=tf.constant([height, width]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )


# ---------------------------------------------------------------------------------------
# The compiled step
# ---------------------------------------------------------------------------------------


def _objective(values, channels, use_pre, activation):
    """Each image's own channel, averaged over the map: (N,)."""
    chosen = tf.gather(values, channels, axis=values.shape.rank - 1, batch_dims=1)
    post = activation(chosen) if activation is not None else chosen
    picked = tf.where(
        tf.reshape(use_pre, [-1] + [1] * (chosen.shape.rank - 1)), chosen, post
    )
    return tf.reduce_mean(tf.reshape(picked, [tf.shape(picked)[0], -1]), axis=1)


def _make_passes(model_ref, site, activation, parameterization, transforms, param_shape):
    param_spec = tf.TensorSpec((None, *param_shape), tf.float32)
    channel_spec = tf.TensorSpec([None], tf.int32)
    flag_spec = tf.TensorSpec([None], tf.bool)
    scalar = tf.TensorSpec([], tf.int32)

    def objective(images, channels, use_pre):
        with graph.capturing([site]) as captured:
            model_ref()(images, training=False)
        return _objective(
            tf.cast(captured[site], tf.float32), channels, use_pre, activation
        )

    @tf.function(
        input_signature=[
            param_spec,
            channel_spec,
            flag_spec,
            scalar,
            scalar,
            tf.TensorSpec([], tf.float32),
        ]
    )
    def step(params, channels, use_pre, step_index, seed, learning_rate):
        with tf.GradientTape() as tape:
            tape.watch(params)
            images = parameterization.image(params)
            if transforms is not None:
                images = _transform(images, step_index, seed, transforms)
            values = objective(images, channels, use_pre)
            total = tf.reduce_sum(values)
        grads = tape.gradient(total, params)
        axes = list(range(1, len(param_shape) + 1))
        rms = tf.sqrt(tf.reduce_mean(tf.square(grads), axis=axes, keepdims=True))
        params = params + learning_rate * grads / (rms + 1e-8)
        return parameterization.project(params), values

    @tf.function(input_signature=[param_spec, channel_spec])
    def measure(params, channels):
        """Pre- and post-activation objective, and the largest post-activation value."""
        images = parameterization.image(params)
        with graph.capturing([site]) as captured:
            model_ref()(images, training=False)
        values = tf.cast(captured[site], tf.float32)
        n = tf.shape(channels)[0]
        pre = _objective(values, channels, tf.ones([n], tf.bool), activation)
        post = _objective(values, channels, tf.zeros([n], tf.bool), activation)
        chosen = tf.gather(values, channels, axis=values.shape.rank - 1, batch_dims=1)
        post_values = activation(chosen) if activation is not None else chosen
        peak = tf.reduce_max(tf.reshape(post_values, [n, -1]), axis=1)
        return images, pre, post, peak

    for function in (step, measure):
        function._omit_frequent_tracing_warning = True
    return step, measure


# ---------------------------------------------------------------------------------------
# A progress bar that needs nothing but IPython
# ---------------------------------------------------------------------------------------


class _Progress:
    def __init__(self, total, label, enabled):
        self.total, self.label, self.handle = total, label, None
        self.start = time.perf_counter()
        self.every = max(1, total // 20)
        if enabled == "auto":
            enabled = _in_notebook()
        if enabled:
            from IPython.display import display

            self.handle = display(self._text(0), raw=True, display_id=True)

    def _text(self, done):
        filled = round(30 * done / self.total)
        seconds = time.perf_counter() - self.start
        bar = "█" * filled + "·" * (30 - filled)
        return {
            "text/plain": f"{self.label} [{bar}] {done}/{self.total} steps, "
            f"{seconds:.1f} s"
        }

    def update(self, done):
        if self.handle is not None and (done % self.every == 0 or done == self.total):
            self.handle.update(self._text(done), raw=True)


def _in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


# ---------------------------------------------------------------------------------------
# Checking the request
# ---------------------------------------------------------------------------------------


def _layer_width(model, layer):
    try:
        shape = tuple(layer.output.shape)
    except (AttributeError, ValueError):
        raise ValueError(
            f"Layer {graph.path_of(model, layer)!r} has no known output shape."
        ) from None
    if len(shape) not in (2, 4):
        raise ValueError(
            f"Layer {graph.path_of(model, layer)!r} outputs shape {shape}; gradient ascent "
            "needs a feature map (N, h, w, K) or a vector (N, K)."
        )
    return shape[-1]


def _check_channels(model, layer, channels):
    n_channels = _layer_width(model, layer)
    if channels is None:
        return np.arange(n_channels, dtype=np.int32)
    picked = np.atleast_1d(np.asarray(channels))
    if picked.size == 0:
        raise ValueError("channels is empty; ask for at least one channel.")
    if picked.dtype.kind not in "iu" or picked.ndim != 1:
        raise ValueError(f"channels must be an int or a list of ints, got {channels!r}.")
    bad = picked[(picked < 0) | (picked >= n_channels)]
    if bad.size:
        raise ValueError(
            f"channels {bad.tolist()} out of range: layer {graph.path_of(model, layer)!r} has "
            f"{n_channels} channels, valid indices are 0..{n_channels - 1}."
        )
    return picked.astype(np.int32)


def _image_shape(model, size):
    shape = tuple(model.inputs[0].shape)[1:]
    if len(shape) != 3:
        raise ValueError(
            f"Model {model.name!r} takes inputs of shape {shape}, not images."
        )
    height, width, channels = shape
    if size is not None:
        wanted = (size, size) if np.ndim(size) == 0 else tuple(size)
        if len(wanted) != 2 or any(
            fixed not in (None, side) for fixed, side in zip((height, width), wanted)
        ):
            raise ValueError(
                f"size={size!r} does not fit model {model.name!r}, which takes "
                f"images of shape {shape}."
            )
        height, width = wanted
    if height is None or width is None:
        raise ValueError(
            f"Model {model.name!r} accepts any image size; pass size=(H, W)."
        )
    if channels is None:
        raise ValueError(f"Model {model.name!r} has an unknown number of input channels.")
    return int(height), int(width), int(channels)


# ---------------------------------------------------------------------------------------
# The public function
# ---------------------------------------------------------------------------------------


def maximize(
    model,
    layer,
    channels=None,
    *,
    steps=128,
    learning_rate=0.05,
    parameterization="pixel",
    transforms=None,
    pre_activation=False,
    on_dead="raise",
    seed=0,
    batch_size=32,
    size=None,
    progress="auto",
):
    """Gradient ascent from noise: for each channel, the image that activates it most.

    The objective of channel ``k`` is its mean over the layer's map (the slides: make
    *every* pixel of the map as active as possible); for a Dense layer it is unit ``k``.
    A layer with a softmax or sigmoid is always maximised before that activation, so a
    class is maximised through its score (logit).

    Args:
        model: a built single-input Keras image model.
        layer: a name, an ``"outer/inner"`` path into a nested model, or a layer object.
        channels: an int, a list of ints, or None for every channel of the layer.
        steps: ascent steps.
        learning_rate: ``r`` of the update, applied to the RMS-normalised gradient.
        parameterization: ``"pixel"`` (the slides' rule on the pixels, clipped to
            [0, 1]) or ``"fourier"`` (decorrelated Fourier coefficients, see module doc).
        transforms: None, True (:data:`DEFAULT_TRANSFORMS`) or a :class:`Transforms`.
        pre_activation: maximise every channel's value before its activation (ReLU).
        on_dead: what to do with a channel that is zero after its ReLU everywhere on its
            starting image: ``"raise"`` a :class:`DeadChannelError`, or use its
            ``"pre_activation"`` value instead (reported in ``result.pre_activation``).
        seed: seeds the starting noise and the transforms; the same seed gives the
            same images. Channel ``k``'s starting noise depends only on ``seed`` and
            ``k``.
        batch_size: channels optimised together in one batch.
        size: ``(H, W)`` of the images; defaults to the model's input size.
        progress: show a progress bar (``"auto"``: only inside a notebook).

    Returns:
        An :class:`AscentResult`.

    Raises:
        ValueError: an unknown layer, a channel out of range, a layer that is not a map
            or a vector, or bad settings. :class:`DeadChannelError` (a ValueError) for a
            dead channel with ``on_dead="raise"``.

    Example:
        >>> low = maximize(model, "block1_conv1", channels=[1])        # doctest: +SKIP
        >>> smooth = maximize(model, "block4_conv1", channels=[1],
        ...                   parameterization="fourier",
        ...                   transforms=True)                     # doctest: +SKIP
    """
    graph.check_model(model, classifier=False)
    target = graph.find_layer(model, layer, allow_input=False)
    channels = _check_channels(model, target, channels)
    if parameterization not in ("pixel", "fourier"):
        raise ValueError(
            f'parameterization={parameterization!r} must be "pixel" or "fourier".'
        )
    if on_dead not in ("raise", "pre_activation"):
        raise ValueError(f'on_dead={on_dead!r} must be "raise" or "pre_activation".')
    if transforms is True:
        transforms = DEFAULT_TRANSFORMS
    if transforms is not None and not isinstance(transforms, Transforms):
        raise ValueError("transforms must be None, True or a camlib.ascent.Transforms.")
    steps = graph.check_batch_size(steps, "steps")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number of at least 0, got {seed!r}.")
    batch_size = graph.check_batch_size(batch_size)
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not (
        math.isfinite(learning_rate) and learning_rate > 0
    ):
        raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate!r}.")
    height, width, depth = _image_shape(model, size)

    squashing = getattr(getattr(target, "activation", None), "__name__", "") in graph.SQUASHING
    if has_activation(target):
        site, activation = graph.Site(target, "logits"), target.activation
    elif pre_activation:
        raise ValueError(
            f"Layer {graph.path_of(model, target)!r} has no activation of its own, so there "
            "is no pre-activation value; use pre_activation=False."
        )
    else:
        site, activation = graph.Site(target, "output"), None
    if squashing:
        activation = None  # a class score: always before softmax or sigmoid

    image = (_Pixels if parameterization == "pixel" else _Fourier)(height, width, depth)
    param_shape = image.spectrum_shape if parameterization == "fourier" else image.shape
    key = (
        "ascent",
        graph.path_of(model, target),
        site.where,
        parameterization,
        (height, width),
        None if transforms is None else tuple(transforms),
    )
    step, measure = graph.compiled(
        model,
        key,
        lambda ref: _make_passes(ref, site, activation, image, transforms, param_shape),
    )

    starts = np.concatenate(
        [image.start(np.random.default_rng([seed, int(k)]), 1) for k in channels]
    )
    params = tf.constant(starts)
    start_images, start_pre, start_post, start_peak = (
        t.numpy() for t in _measure_in_batches(measure, params, channels, batch_size)
    )
    use_pre = np.full(len(channels), bool(pre_activation) or activation is None)
    dead = ~use_pre & (start_peak <= 0)
    if dead.any():
        if on_dead == "raise":
            where = graph.path_of(model, target)
            raise DeadChannelError(
                f"Channels {channels[dead].tolist()} of layer {where!r} "
                "are zero after the ReLU everywhere on the starting image, so their "
                "gradient is zero and ascent would return the noise unchanged. Pass "
                'on_dead="pre_activation" (or pre_activation=True) to maximise the value '
                "before the ReLU, or pick other channels."
            )
        use_pre |= dead

    n_chunks = math.ceil(len(channels) / int(batch_size))
    progress_bar = _Progress(
        int(steps) * n_chunks,
        f"{graph.path_of(model, target)}, {len(channels)} channels",
        progress,
    )
    history = np.zeros((int(steps), len(channels)), np.float32)
    rate = tf.constant(float(learning_rate), tf.float32)
    chunks = []
    started = time.perf_counter()
    for begin in range(0, len(channels), int(batch_size)):
        chunk = slice(begin, begin + int(batch_size))
        chunk_params = params[chunk]
        chunk_channels = tf.constant(channels[chunk])
        chunk_pre = tf.constant(use_pre[chunk])
        for index in range(int(steps)):
            chunk_params, values = step(
                chunk_params,
                chunk_channels,
                chunk_pre,
                tf.constant(index, tf.int32),
                tf.constant(int(seed) + begin, tf.int32),
                rate,
            )
            history[index, chunk] = values.numpy()
            progress_bar.update(begin // int(batch_size) * int(steps) + index + 1)
        chunks.append(chunk_params)
    seconds = time.perf_counter() - started
    final_images, final_pre, final_post, _ = (
        t.numpy()
        for t in _measure_in_batches(measure, tf.concat(chunks, 0), channels, batch_size)
    )
    return AscentResult(
        images=final_images,
        start_images=start_images,
        channels=channels,
        activation=np.where(use_pre, final_pre, final_post),
        start_activation=np.where(use_pre, start_pre, start_post),
        pre_activation=use_pre,
        history=history,
        seconds=round(seconds, 2),
    )


def _measure_in_batches(measure, params, channels, batch_size):
    parts = [
        measure(
            params[i : i + int(batch_size)],
            tf.constant(channels[i : i + int(batch_size)]),
        )
        for i in range(0, len(channels), int(batch_size))
    ]
    return [tf.concat([part[j] for part in parts], 0) for j in range(4)]


# ---------------------------------------------------------------------------------------
# Measuring the result
# ---------------------------------------------------------------------------------------


def _power_spectrum(images):
    """Each image's power per 2-D frequency, and each coefficient's radial frequency.

    Channel means are removed first; frequencies are in cycles per pixel.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4:
        raise ValueError(
            f"images must be (N, H, W, C) or (H, W, C), got shape {images.shape}."
        )
    centred = images - images.mean(axis=(1, 2), keepdims=True)
    power = (np.abs(np.fft.fft2(centred, axes=(1, 2))) ** 2).sum(axis=-1)
    fy = np.fft.fftfreq(images.shape[1])[:, None]
    fx = np.fft.fftfreq(images.shape[2])[None, :]
    return power, np.sqrt(fx**2 + fy**2)


def radial_spectrum(images, bins=16):
    """Mean power at each radial frequency, averaged over images.

    Returns ``(frequencies, power)``.

    ``frequencies`` are the centres of ``bins`` equal bins from 0 to 0.5 cycles per pixel
    (the Nyquist frequency); there may be at most half the image side of them. ``power``
    is the mean squared Fourier amplitude of the mean-removed images in each bin. Natural
    images fall off roughly as 1/f²; white noise is flat.

    Example:
        >>> noise = np.random.default_rng(0).random((4, 32, 32, 3))
        >>> frequencies, power = radial_spectrum(noise, bins=4)
        >>> frequencies.round(4).tolist(), bool(power.max() / power.min() < 1.5)
        ([0.0625, 0.1875, 0.3125, 0.4375], True)
    """
    bins = graph.check_batch_size(bins, "bins")
    power, radius = _power_spectrum(images)
    if not 1 <= int(bins) <= min(power.shape[1:]) // 2:
        raise ValueError(
            f"bins={bins} must be between 1 and {min(power.shape[1:]) // 2} "
            f"(half the image side) so that every bin holds a frequency."
        )
    edges = np.linspace(0, 0.5, int(bins) + 1)
    index = np.digitize(radius, edges[1:-1], right=True)  # bin b is (edge b, edge b + 1]
    keep = (radius > 0) & (radius <= 0.5)
    mean_power = power.mean(axis=0)
    spectrum = np.array(
        [mean_power[keep & (index == b)].mean() for b in range(int(bins))]
    )
    return ((edges[:-1] + edges[1:]) / 2).astype(np.float32), spectrum.astype(np.float32)


def high_frequency_share(images, cutoff=0.25):
    """The share of each image's spectral energy above ``cutoff`` cycles per pixel.

    Each colour channel's mean is removed first, so a flat image has no energy at all
    (its share is 0). 0.5 cycles per pixel is the finest pattern a grid can hold (the
    Nyquist frequency); white noise puts about 80 % of its energy above 0.25.

    Example:
        >>> flat = np.full((1, 32, 32, 3), 0.5)
        >>> float(high_frequency_share(flat)[0])
        0.0
        >>> noise = np.random.default_rng(0).random((1, 64, 64, 3))
        >>> 0.7 < float(high_frequency_share(noise)[0]) < 0.85
        True
    """
    real = isinstance(cutoff, (int, float, np.floating)) and not isinstance(cutoff, bool)
    if not real or not 0 < cutoff < 0.5 * math.sqrt(2):
        raise ValueError(f"cutoff={cutoff} must be between 0 and 0.707 cycles per pixel.")
    power, radius = _power_spectrum(images)
    total = power.sum(axis=(1, 2))
    high = (power * (radius > cutoff)).sum(axis=(1, 2))
    return (high / np.where(total > 0, total, 1.0)).astype(np.float32)
