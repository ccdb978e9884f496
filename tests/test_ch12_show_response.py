"""camlib.widgets.show_response: the scale rule behind chapter 1.1's explorer figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from camlib.filters import KERNELS, correlate2d, gaussian_kernel  # noqa: E402
from camlib.plot import SIGNED_CMAP  # noqa: E402
from camlib.widgets import show_response  # noqa: E402


def test_identity_is_drawn_exactly_like_the_image():
    image = np.random.default_rng(0).random((16, 16)).astype(np.float32)
    _, ax = plt.subplots()
    artist = show_response(ax, KERNELS["identity"], correlate2d(image, KERNELS["identity"]))
    assert artist.get_clim() == (0.0, 1.0)
    assert np.allclose(artist.get_array(), image)
    plt.close("all")


def test_images_stay_on_their_own_scale_and_edges_are_signed():
    image = np.random.default_rng(1).random((16, 16)).astype(np.float32)
    _, (a, b, c) = plt.subplots(1, 3)
    sharpen = show_response(a, KERNELS["sharpen"], correlate2d(image, KERNELS["sharpen"]))
    blur = show_response(b, gaussian_kernel(5, 1.0), correlate2d(image, gaussian_kernel(5, 1.0)))
    edge = show_response(c, KERNELS["Sobel x"], correlate2d(image, KERNELS["Sobel x"]))
    assert sharpen.get_clim() == blur.get_clim() == (0.0, 1.0)
    low, high = edge.get_clim()
    assert low == -high and high > 0
    assert edge.get_cmap().name == SIGNED_CMAP
    plt.close("all")


def test_a_given_limit_is_used():
    _, ax = plt.subplots()
    edge = show_response(ax, KERNELS["Sobel y"], np.ones((4, 4)) * 0.3, limit=2.0)
    assert edge.get_clim() == (-2.0, 2.0)
    plt.close("all")
