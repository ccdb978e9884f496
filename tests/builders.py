"""Small Keras models that several test files share."""

import keras


def nested_twin(flat, size, backbone_layers=("c1", "pool", "c2")):
    """The same weights as ``flat``, with its convolutions inside a backbone model: the
    transfer-learning layout where the usual sub-model recipe breaks in Keras 3."""
    inner = keras.Input((size, size, 3))
    x = inner
    for name in backbone_layers:
        x = flat.get_layer(name)(x)
    backbone = keras.Model(inner, x, name="backbone")
    inputs = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    return keras.Model(inputs, flat.get_layer("fc")(x), name="nested")
