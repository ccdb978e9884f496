"""Helpers that every notebook of the book shares.

- :func:`seed_everything` makes a run repeatable.
- :func:`glue` hands a computed number to the book's prose (myst-nb's ``glue``) and still
  works where myst-nb is missing, such as on Colab: there it simply shows the value.
"""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int = 0, *, deterministic_ops: bool = True) -> None:
    """Seed Python, numpy and (if imported) Keras/TensorFlow, and ask for deterministic ops.

    Example
    -------
    >>> seed_everything(0)
    >>> a = np.random.rand(); seed_everything(0); a == np.random.rand()
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


def glue(name: str, value, *, display: bool = False, fmt: str | None = None):
    """Store ``value`` under ``name`` for the book's ``{glue}`` roles, and return it.

    Without myst-nb (Colab, plain Jupyter) the value is printed as ``name = value`` so the
    reader still sees it next to the prose that cites it.

    Example
    -------
    >>> glue("answer", 42, display=False)
    42
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        shown = fmt.format(value) if fmt else value
        print(f"{name} = {shown}")
        return value
    myst_glue(name, value, display=display)
    return value


def markdown_table(rows, columns, *, caption: str | None = None) -> str:
    """Format rows as a Markdown table; floats get three significant digits.

    Example
    -------
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

    Example
    -------
    >>> show_table([["A", 1]], ["char", "holes"])  # doctest: +SKIP
    """
    from IPython.display import Markdown, display

    display(Markdown(markdown_table(rows, columns, caption=caption)))
