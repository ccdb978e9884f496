"""The names camlib's docstring examples use, for ``pytest --doctest-modules camlib``.

``model`` is the zoo's ``shapes-gap`` architecture with fixed random weights (untrained, so
nothing is trained or downloaded), and ``images``, ``labels`` and ``boxes`` are four of
camlib's shapes. They are built on the first doctest that needs them, never for other tests.
"""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_NAMESPACE = {}


def _names():
    if not _NAMESPACE:
        import keras
        import numpy as np
        import tensorflow as tf

        from camlib import data, models

        keras.utils.set_random_seed(0)
        images, labels, boxes = data.shapes(4, seed=0)
        _NAMESPACE.update(
            np=np,
            tf=tf,
            keras=keras,
            model=models.build("shapes-gap"),
            images=images,
            labels=labels,
            boxes=boxes,
        )
    return _NAMESPACE


@pytest.fixture(autouse=True)
def _doctest_names(request):
    if type(request.node).__name__ == "DoctestItem":
        request.getfixturevalue("doctest_namespace").update(_names())
