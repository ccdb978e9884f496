"""Pytest plugin for the nbval run: one execution serves both the test and the book.

nbval executes every code cell of a notebook and keeps what the kernel sent back
(``IPyNbCell.test_outputs``). When every cell of a notebook has passed, this plugin writes the
notebook, with those outputs, into the Jupyter Book execution cache (``_build/.jupyter_cache``).
jupyter-cache finds a notebook by a hash of its code cells and its kernel metadata, so the book
build then finds every notebook in the cache and executes none of them again.

It also orders the notebooks for ``pytest -n 2 --dist loadscope``: the slowest notebooks, by
the run times kept in that cache, go first, so that the two workers finish close together.

Options:
    --book-cache=DIR   the cache folder to write (default: _build/.jupyter_cache).
    --no-book-cache    run the notebooks without writing them to any cache.
"""

import copy
import fcntl
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "_build" / ".jupyter_cache"


def pytest_addoption(parser):
    group = parser.getgroup("book cache")
    group.addoption(
        "--book-cache",
        default=str(DEFAULT_CACHE),
        help="jupyter-cache folder that receives every notebook that ran without error",
    )
    group.addoption(
        "--no-book-cache",
        action="store_true",
        help="do not write executed notebooks to the book's cache",
    )


def _cache_folder(config):
    if config.getoption("--no-book-cache"):
        return None
    return Path(config.getoption("--book-cache"))


def _is_nbval_cell(item):
    # nbval's cell items have a ``cell`` and a ``test_outputs`` attribute; anything else is
    # some other test that happens to be collected here.
    return hasattr(item, "test_outputs") and hasattr(item, "cell")


def _known_durations(folder):
    """Return {notebook file name: seconds} from the newest cache record of each notebook."""
    if folder is None or not (folder / "global.db").exists():
        return {}
    from jupyter_cache import get_cache

    durations = {}
    try:
        records = sorted(get_cache(folder).list_cache_records(), key=lambda r: r.created)
    except Exception:  # noqa: BLE001 - a damaged cache only costs the ordering
        return {}
    for record in records:
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is not None:
            durations[Path(record.uri).name] = float(seconds)
    return durations


def pytest_configure(config):
    config._book_durations = _known_durations(_cache_folder(config))
    config._book_runs = {}
    if config._book_durations and hasattr(config.option, "loadscopereorder"):
        # xdist's loadscope orders notebooks by their number of cells unless told not to;
        # the order chosen in pytest_collection_modifyitems is better when run times are known.
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(session, config, items):
    durations = config._book_durations
    if not durations:
        return
    order = {}
    for item in items:
        order.setdefault(item.path.name, len(order))

    def key(item):
        # A notebook with no recorded time is new or changed, so its cost is unknown: run it
        # first rather than let it start last. Ties keep the collection order.
        seconds = durations.get(item.path.name, float("inf"))
        return (-seconds, order[item.path.name])

    # sort is stable, so the cells of one notebook keep their order.
    items.sort(key=key)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _is_nbval_cell(item):
        return
    report = outcome.get_result()
    runs = item.config._book_runs
    run = runs.setdefault(item.path, {"cells": {}, "ok": True, "seconds": 0.0})
    if report.failed or report.skipped:
        run["ok"] = False
    if call.when != "call":
        return
    run["seconds"] += report.duration
    run["cells"][item.cell_num] = item.test_outputs
    siblings = [i for i in item.session.items if i.parent is item.parent]
    if item is not siblings[-1]:
        return
    runs.pop(item.path, None)
    folder = _cache_folder(item.config)
    if folder is None or not run["ok"] or len(run["cells"]) != len(siblings):
        return
    try:
        _store(item.parent, run, folder)
    except Exception as error:  # noqa: BLE001 - the test passed; only the book's cache missed
        item.warn(
            pytest.PytestWarning(
                f"{item.path.name} passed but could not be written to the book cache "
                f"{folder}: {error!r}. The book build will execute it again."
            )
        )


def _executed_notebook(nb_file, run):
    """Return the notebook as read by nbval, with the outputs of its run filled in."""
    from ipykernel.ipkernel import IPythonKernel

    nb = copy.deepcopy(nb_file.nb)
    # nbclient records the kernel's language_info; the book reads the code lexer from it.
    nb.metadata["language_info"] = copy.deepcopy(IPythonKernel.language_info)
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = copy.deepcopy(run["cells"][count])
        count += 1
        # jupyter-cache checks that execution counts run 1, 2, 3, ... as in a fresh kernel.
        cell.execution_count = count
        for output in outputs:
            if output.output_type == "execute_result":
                output.execution_count = count
            if output.output_type in ("display_data", "execute_result"):
                output.setdefault("metadata", {})
        cell.outputs = outputs
    nbformat.validate(nb)
    return nb


def _store(nb_file, run, folder):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = _executed_notebook(nb_file, run)
    folder.mkdir(parents=True, exist_ok=True)
    # Two xdist workers share one SQLite cache; the lock keeps their writes apart.
    with open(folder / ".nbval.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            cache = get_cache(folder)
            uri = str(Path(nb_file.path).resolve())
            cache.add_nb_to_project(uri)
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, uri, data={"execution_seconds": run["seconds"]}),
                check_validity=True,
                overwrite=True,
            )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
