"""The identities of chapters 4 and 7, checked on the trained zoo models rather than random ones.

The zoo trains each model once and caches it, so after the first run these tests take seconds.
"""

import numpy as np
import pytest
from scipy.special import softmax

from camlib import cam, models

pytestmark = pytest.mark.zoo

@pytest.fixture(scope="module", params=["shapes-gap", "lanes-gap"])
def trained(request):
    model = models.get(request.param)
    images, labels, _ = models.dataset(request.param, "test", n=48)
    return model, images, labels


def test_cam_identity_on_a_trained_model(trained):
    model, images, _ = trained
    scores = cam.logits(model, images)
    bias = model.get_layer("fc").get_weights()[1]
    for class_index in range(scores.shape[1]):
        maps = cam.cam(model, images, class_index)
        np.testing.assert_allclose(maps.mean(axis=(1, 2)) + bias[class_index],
                                   scores[:, class_index], atol=1e-5, rtol=1e-6)
    np.testing.assert_allclose(softmax(scores, axis=1), model.predict(images, verbose=0),
                               atol=1e-5)


def test_grad_cam_is_relu_cam_over_positions_on_a_trained_model(trained):
    model, images, labels = trained
    maps = cam.cam(model, images, labels)
    positions = maps.shape[1] * maps.shape[2]
    np.testing.assert_allclose(cam.grad_cam(model, images, labels),
                               np.maximum(maps, 0) / positions, rtol=1e-5, atol=1e-6)
