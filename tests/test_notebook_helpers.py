"""camlib.notebook and camlib.plot helpers used by every notebook."""

import sys

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from camlib import notebook, plot


def test_glue_without_myst_nb_prints_the_value(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # as on Colab
    assert notebook.glue("answer", 0.25, fmt="{:.0%}") == 0.25
    assert "answer = 25%" in capsys.readouterr().out


def test_markdown_table_formats_rows_and_checks_their_width():
    table = notebook.markdown_table([["a", 1.23456, None]], ["x", "y", "z"])
    assert table.splitlines()[-1] == "| a | 1.23 | — |"
    with pytest.raises(ValueError, match="2 cells but there are 3 columns"):
        notebook.markdown_table([["a", 1]], ["x", "y", "z"])


def test_seed_everything_repeats_numpy_draws():
    notebook.seed_everything(7, deterministic_ops=False)
    first = np.random.rand(3)
    notebook.seed_everything(7, deterministic_ops=False)
    np.testing.assert_array_equal(first, np.random.rand(3))


def test_image_grid_and_kernel_and_flow_draw_what_they_are_given():
    fig = plot.image_grid([np.zeros((4, 4)), np.ones((4, 4, 3))], ["a", "b"], ncols=3)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["a", "b"]
    with pytest.raises(ValueError, match="one title per image"):
        plot.image_grid([np.zeros((4, 4))], ["a", "b"])
    with pytest.raises(ValueError, match="2-D kernel"):
        plot.show_kernel(np.zeros((3, 3, 3)))
    ax = plot.flow(["a", "b", "c"])
    assert [t.get_text() for t in ax.texts if t.get_text()] == ["a", "b", "c"]


def test_draw_box_uses_exclusive_pixel_corners():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    patch = plot.draw_box(ax, (2, 3, 6, 8))
    assert (patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height()) == (
        1.5,
        2.5,
        4,
        5,
    )
    assert plot.draw_box(ax, (5, 5, 5, 9)) is None  # an empty box draws nothing
