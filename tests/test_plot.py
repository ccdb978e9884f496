"""The book's figure standard: every camlib figure fits the page and its text can be read."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from camlib import plot  # noqa: E402
from camlib.filters import SOBEL_X  # noqa: E402
from camlib.notebook import glue  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def readable(fig):
    assert plot.readability_problems(fig) == []
    assert fig.get_figwidth() <= plot.PAGE_WIDTH
    return fig


def test_panels_fit_the_page_and_refuse_a_wider_grid():
    fig, axes = plot.panels(3, 7)
    assert axes.shape == (3, 7)
    readable(fig)
    with pytest.raises(ValueError, match="PAGE_WIDTH"):
        plot.panels(1, 12, width=12)
    with pytest.raises(ValueError, match="nrows"):
        plot.panels(0, 2)


def test_grid_shape_wraps_wide_rows():
    assert plot.grid_shape(12, 5) == (3, 5)
    assert plot.grid_shape(1, 5) == (1, 1)
    with pytest.raises(ValueError, match="max_cols"):
        plot.grid_shape(3, 0)


def test_readability_problems_name_small_text_and_wide_figures():
    fig = plt.figure(figsize=(12, 3))
    too_small = 5
    fig.text(0.5, 0.5, "tiny label", fontsize=too_small)
    problems = plot.readability_problems(fig)
    assert any("12.00 in wide" in p for p in problems)
    assert any("'tiny label' is 5 pt" in p for p in problems)
    with pytest.raises(ValueError, match="not readable"):
        plot.check_readable(fig)


def test_the_book_style_makes_default_text_readable():
    fig, ax = plt.subplots()
    ax.set_title("title")
    ax.set_xlabel("x")
    ax.plot([0, 1], label="a line")
    ax.legend()
    fig.canvas.draw()  # creates the tick labels
    readable(fig)


@pytest.mark.parametrize("n", [1, 4, 9, 16])
def test_image_grid_fits_the_page_for_any_number_of_panels(n):
    images = [np.random.default_rng(i).normal(size=(8, 8)) for i in range(n)]
    fig = plot.image_grid(images, [f"panel {i}" for i in range(n)], symmetric=True,
                          colorbar=True)
    readable(fig)


def test_image_grid_shared_scale_puts_every_panel_on_one_scale():
    fig = plot.image_grid([np.zeros((4, 4)), np.full((4, 4), 3.0)], shared_scale=True,
                          colorbar=True)
    limits = {image.get_clim() for ax in fig.axes for image in ax.images}
    assert limits == {(0.0, 3.0)}


def test_method_grid_with_many_methods_fits_and_has_one_shared_colour_bar():
    images = np.zeros((3, 16, 16, 3))
    maps = {f"method {k}": np.random.default_rng(k).random((3, 4, 4)) for k in range(8)}
    fig = readable(plot.method_grid(images, maps, row_titles=["a", "b", "c"]))
    overlays = [ax.images[-1] for ax in fig.axes if len(ax.images) == 2]
    assert len(overlays) == 24 and {image.get_clim() for image in overlays} == {(0.0, 1.0)}


def test_layer_and_channel_grids_fit_the_page():
    maps = {"conv1": np.random.rand(16, 16, 8), "conv2": np.random.rand(8, 8, 8)}
    readable(plot.layer_maps(np.zeros((16, 16, 3)), maps))
    readable(plot.channel_grid(np.random.rand(4, 4, 16), np.zeros((8, 8, 3))))


def test_kernels_and_flows_are_readable():
    fig, axes = plot.panels(1, 4)
    for ax in axes.flat:
        plot.show_kernel(SOBEL_X, ax, title="Sobel x")
    readable(fig)
    readable(plot.flow(["image", "conv", "GAP", "dense", "softmax", "class"]).figure)


def test_signed_map_is_centred_on_zero():
    fig, axes = plot.panels(1, 2, width=4)
    artist = plot.signed_map(axes[0, 0], np.array([[-1.0, 4.0]]))
    assert artist.get_clim() == (-4.0, 4.0) and artist.get_cmap().name == plot.SIGNED_CMAP
    shared = plot.signed_map(axes[0, 1], np.array([[0.5]]), limit=4.0)
    assert shared.get_clim() == (-4.0, 4.0)
    with pytest.raises(ValueError, match="limit"):
        plot.signed_map(axes[0, 1], np.zeros((2, 2)), limit=0)


def test_glue_closes_a_figure_so_it_is_shown_once():
    fig, _ = plot.panels(1, 2)
    number = fig.number
    assert glue("fig_test_once", fig) is None   # a cell ending in glue(...) shows nothing
    assert not plt.fignum_exists(number)


def test_glue_refuses_a_figure_the_page_cannot_show():
    fig = plt.figure(figsize=(14, 3))
    with pytest.raises(ValueError, match="not readable"):
        glue("fig_test_wide", fig)


def test_glue_without_myst_nb_shows_the_figure_in_place(monkeypatch, capsys):
    import sys

    shown = []
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # as on Colab
    monkeypatch.setattr("IPython.display.display", lambda value: shown.append(value))
    fig, _ = plot.panels(1, 1, width=3)
    glue("fig_test_colab", fig)
    assert shown == [fig] and "fig_test_colab =" not in capsys.readouterr().out
    assert not plt.fignum_exists(fig.number)


def test_labels_that_stick_out_of_the_page_are_found():
    fig, axes = plot.panels(1, 4)
    for ax in axes.flat:
        ax.imshow(np.zeros((8, 8)))
        ax.set_title("a title much too long for its panel")
    assert any("stick out" in problem for problem in plot.readability_problems(fig))
    fig, axes = plot.panels(1, 4)
    for ax in axes.flat:
        ax.imshow(np.zeros((8, 8)))
        ax.set_title("a title\nwrapped")
    assert plot.readability_problems(fig) == []
