"""Small Keras models and image batches that several test files share."""

import keras
import numpy as np


def images(n=5, seed=0, size=12):
    """``n`` random RGB images in [0, 1], float32 (n, size, size, 3)."""
    return np.random.default_rng(seed).random((n, size, size, 3), dtype=np.float32)


def conv(filters, name, seed, activation="relu", bias=None):
    """A 3×3 'same' convolution with a seeded Glorot kernel; ``bias`` is an initializer."""
    return keras.layers.Conv2D(
        filters, 3, padding="same", activation=activation, name=name,
        kernel_initializer=keras.initializers.GlorotUniform(seed),
        bias_initializer=bias or "zeros",
    )


def small_cnn(
    *,
    size=12,
    channels=(8, 6),
    classes=4,
    seed=0,
    head="softmax",
    activation="relu",
    last_activation="relu",
    pooling=keras.layers.MaxPooling2D,
    conv_bias=None,
    dense_kernel=None,
    dense_bias=None,
    name=None,
):
    """``c1`` → ``pool`` → ``c2`` → ``gap`` → ``fc``: the smallest network with a CAM head.

    Args:
        size: the side of the square RGB input.
        channels: the filters of ``c1`` and ``c2``.
        classes: the units of ``fc``; 1 with ``head="sigmoid"`` gives a binary model.
        seed: seeds the convolution kernels (``seed`` and ``seed + 1``).
        head: ``"softmax"`` or ``"sigmoid"`` (the activation of ``fc``), ``"linear"``
            (no activation), or ``"activation"`` (a linear ``fc`` followed by a softmax
            ``Activation`` layer named ``probs``).
        activation: the activation of ``c1``.
        last_activation: the activation of ``c2`` (None for a signed feature map).
        pooling: the pooling layer class between the convolutions.
        conv_bias: a function ``seed -> initializer`` for the convolution biases.
        dense_kernel, dense_bias: initializers of ``fc``.
        name: the model's name.
    """
    inputs = keras.Input((size, size, 3))
    bias = (lambda s: conv_bias(s)) if conv_bias else (lambda s: None)
    x = conv(channels[0], "c1", seed, activation, bias(seed))(inputs)
    x = pooling(pool_size=2, name="pool")(x)
    x = conv(channels[1], "c2", seed + 1, last_activation, bias(seed + 1))(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    fc_activation = head if head in ("softmax", "sigmoid") else None
    x = keras.layers.Dense(
        classes, activation=fc_activation, name="fc",
        # Seeded, so that a model is the same in every process and on every machine.
        kernel_initializer=dense_kernel or keras.initializers.GlorotUniform(seed + 2),
        bias_initializer=dense_bias or "zeros",
    )(x)
    if head == "activation":
        x = keras.layers.Activation("softmax", name="probs")(x)
    return keras.Model(inputs, x, name=name or f"small_{head}_{seed}")


def binary_cnn(seed=0, size=12):
    """A one-unit sigmoid classifier, like the slides' lane-change network (SLCAN)."""
    return small_cnn(size=size, classes=1, seed=seed, head="sigmoid",
                     dense_bias=keras.initializers.RandomNormal(stddev=0.5, seed=seed),
                     name=f"binary_{seed}")


def gap_model(seed=0, head="softmax", size=12, classes=4):
    """conv → GAP → Dense with random biases. head: softmax | linear | activation."""
    return small_cnn(
        size=size, classes=classes, seed=seed, head=head,
        last_activation=None if head == "linear" else "relu",
        dense_bias=keras.initializers.RandomNormal(stddev=0.5, seed=seed),
        name=f"gap_{head}_{seed}",
    )


def logits_of(model, x):
    """Scores before softmax, straight from the pooled features and the Dense weights."""
    pooled = keras.Model(model.inputs[0], model.get_layer("gap").output)(x).numpy()
    kernel, bias = model.get_layer("fc").get_weights()
    return pooled.astype(np.float64) @ kernel + bias


def nested_twin(flat, size, backbone_layers=("c1", "pool", "c2")):
    """The same weights as ``flat``, with its convolutions inside a backbone model.

    This is the transfer-learning layout where the usual sub-model recipe breaks in
    Keras 3.
    """
    inner = keras.Input((size, size, 3))
    x = inner
    for name in backbone_layers:
        x = flat.get_layer(name)(x)
    backbone = keras.Model(inner, x, name="backbone")
    inputs = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    return keras.Model(inputs, flat.get_layer("fc")(x), name="nested")
