"""Helpers that every notebook of the book shares.

- :func:`seed_everything` makes a run repeatable.
- :func:`glue` hands a computed number to the book's prose (myst-nb's ``glue``) and still
  works where myst-nb is missing, such as on Colab: there it simply shows the value.
- :func:`glue_key` turns a table's row and column names into one glue name.
- :func:`markdown_table` and :func:`show_table` show a table in Jupyter, Colab and the book.
"""

from __future__ import annotations

import os
import random
import re

import numpy as np


def seed_everything(seed: int = 0, *, deterministic_ops: bool = True) -> None:
    """Seed Python, numpy and (if imported) Keras/TensorFlow, and ask for deterministic ops.

    Example:
        >>> seed_everything(0)
        >>> first = np.random.rand()
        >>> seed_everything(0)
        >>> first == np.random.rand()
        True
    """
    random.seed(seed)
    np.random.seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    try:
        import keras
        import tensorflow as tf
    except ImportError:
        return
    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        try:
            tf.config.experimental.enable_op_determinism()
        except Exception:  # older TensorFlow, or already configured
            pass


def _is_figure(value) -> bool:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False
    return isinstance(value, Figure)


def glue(name: str, value, *, display: bool = False, fmt: str | None = None):
    """Store ``value`` under ``name`` for the book's ``{glue}`` roles, and return it.

    A matplotlib figure is checked against the book's figure standard
    (:func:`camlib.plot.check_readable`), stored, and then closed, so that the notebook
    shows it once: where a ``{glue:figure}`` directive pastes it, with its caption and
    number. For a figure the function returns ``None``, so that a cell ending in
    ``glue("fig_x", fig)`` does not display the figure a second time as its result.
    Without myst-nb (Colab, plain Jupyter) a figure is shown in place, and any other
    value is printed as ``name = value``, so the reader still sees it next to the prose
    that cites it.

    A numpy scalar is stored as the Python number it holds (``np.float64(0.5)`` as
    ``0.5``), which is what the ``{glue:text}`` role can format.

    Example:
        The value comes back (without myst-nb, ``answer = 42`` is also printed, which
        this example hides):

        >>> import contextlib, io
        >>> with contextlib.redirect_stdout(io.StringIO()):
        ...     answer = glue("answer", 42, display=False)
        ...     share = glue("share", np.float32(0.25), display=False)
        >>> answer, type(share).__name__
        (42, 'float')
    """
    if isinstance(value, np.generic):
        value = value.item()  # myst-nb prints a numpy scalar as empty text on the page
    figure = _is_figure(value)
    if figure:
        from camlib.plot import check_readable

        check_readable(value)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if figure:
            from IPython.display import display as show

            show(value)
        else:
            shown = fmt.format(value) if fmt else value
            print(f"{name} = {shown}")
    else:
        myst_glue(name, value, display=display)
    if figure:
        import matplotlib.pyplot as plt

        plt.close(value)  # the inline backend would otherwise show it a second time
        return None
    return value


def glue_key(*parts) -> str:
    """One glue name from several labels: lower case, hyphens dropped, words joined by ``_``.

    Example:
        >>> glue_key("loc", "Grad-CAM (GMP)")
        'loc_gradcam_gmp'
        >>> glue_key("GAP", "energy in box")
        'gap_energy_in_box'
    """
    if not parts or not all(isinstance(part, str) and part.strip() for part in parts):
        raise ValueError(f"glue_key needs one or more non-empty strings, got {parts!r}.")
    text = "_".join(parts).lower().replace("-", "")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def markdown_table(rows, columns, *, caption: str | None = None) -> str:
    """Format rows as a Markdown table; floats get three significant digits.

    Example:
        >>> print(markdown_table([["A", 1, 0.51234]], ["char", "holes", "x"]))
        | char | holes | x |
        |---|---|---|
        | A | 1 | 0.512 |
    """
    def cell(value):
        if isinstance(value, float):
            return f"{value:.3g}"
        return "—" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} cells but there are {len(columns)} columns")
        lines.append("| " + " | ".join(cell(value) for value in row) + " |")
    if caption:
        lines = [f"**{caption}**", ""] + lines
    return "\n".join(lines)


def show_table(rows, columns, *, caption: str | None = None):
    """Display rows as a Markdown table, which Jupyter, Colab and the book all render.

    Example:
        >>> show_table([["A", 1]], ["char", "holes"])  # doctest: +SKIP
    """
    from IPython.display import Markdown, display

    display(Markdown(markdown_table(rows, columns, caption=caption)))
