"""Pytest plugin for the nbval run: one execution serves both the test and the book.

nbval executes every code cell of a notebook in a kernel. This plugin keeps every message that
the kernel sends back for a cell and turns them into outputs with nbclient, the same code that
executes notebooks for the book, so that display updates (a progress bar), cleared output and
widget state come out as they would there. When every cell of a notebook has passed, the
notebook with those outputs goes into the Jupyter Book execution cache
(``_build/.jupyter_cache``). jupyter-cache finds a notebook by a hash of its code cells and its
kernel metadata, so the book build then finds every notebook in the cache and executes none of
them again.

nbval sends cells with ``store_history=False``; a notebook front end, and nbclient, send
``store_history=True``. Without history IPython ignores a trailing ``;`` and the book would show
results that the notebook hides, so this plugin makes nbval send cells as a front end does.

It also orders the notebooks for ``pytest -n 2 --dist loadscope``: the slowest notebooks, by
the run times kept in that cache, go first, so that the two workers finish close together.

Last, it lists the trained models the notebooks use. It sets ``CAMLIB_MODEL_LOG`` (see
``camlib.zoo.MODEL_LOG``) for the kernels, so that every ``camlib.zoo.get`` notes the config
it served. After a run in which every notebook passed, the configs go into
``notebooks/models.json`` (rewritten only when they changed), which
``scripts/train_models.py`` reads to train the models up front on an empty cache.

Options:
    --book-cache=DIR   the cache folder to write (default: _build/.jupyter_cache).
    --no-book-cache    run the notebooks without writing them to any cache.
"""

import copy
import fcntl
import json
import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "_build" / ".jupyter_cache"
MODEL_LIST = ROOT / "notebooks" / "models.json"
MODEL_LOG = ROOT / "_build" / "models-used.jsonl"
MODEL_LOG_VARIABLE = "CAMLIB_MODEL_LOG"  # camlib.zoo.MODEL_LOG; not imported, to stay light


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


def _record_cell_messages():
    """Make nbval run cells as a notebook front end does, and keep each cell's messages."""
    from nbval.kernel import RunningKernel
    from nbval.plugin import IPyNbFile

    if getattr(RunningKernel, "_book_cache_patched", False):
        return

    def execute_cell_input(self, cell_input, allow_stdin=None):
        msg_id = self.kc.execute(
            cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False
        )
        self.book_msg_id, self.book_messages = msg_id, []
        return msg_id

    read_message = IPyNbFile.get_kernel_message

    def get_kernel_message(self, timeout=None, stream="iopub"):
        msg = read_message(self, timeout=timeout, stream=stream)
        kernel = self.kernel
        if stream == "iopub" and msg["parent_header"].get("msg_id") == getattr(
            kernel, "book_msg_id", None
        ):
            kernel.book_messages.append(msg)
        return msg

    RunningKernel.execute_cell_input = execute_cell_input
    IPyNbFile.get_kernel_message = get_kernel_message
    RunningKernel._book_cache_patched = True


def _is_controller(config):
    return not hasattr(config, "workerinput")


def pytest_configure(config):
    if config.pluginmanager.hasplugin("nbval") and _cache_folder(config) is not None:
        _record_cell_messages()
    if _is_controller(config) and config.pluginmanager.hasplugin("nbval"):
        # Set before xdist starts its workers, so that they and their kernels inherit it.
        MODEL_LOG.parent.mkdir(parents=True, exist_ok=True)
        MODEL_LOG.unlink(missing_ok=True)
        os.environ[MODEL_LOG_VARIABLE] = str(MODEL_LOG)
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
    run = runs.get(item.path)
    if run is None:
        run = runs[item.path] = {"cells": {}, "ok": True, "seconds": 0.0, "client": None}
    if report.failed or report.skipped:
        run["ok"] = False
    if call.when != "call":
        return
    run["seconds"] += report.duration
    if run["ok"] and _cache_folder(item.config) is not None:
        try:
            _add_outputs(item, run)
        except Exception as error:  # noqa: BLE001 - the cell passed; only its record failed
            run["ok"] = False
            item.warn(
                pytest.PytestWarning(
                    f"the outputs of {item.path.name} cell {item.cell_num} could not be "
                    f"recorded ({error!r}); the book build will execute the notebook again."
                )
            )
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


def _add_outputs(item, run):
    """Turn the kernel messages of one passed cell into that cell's outputs, as nbclient does."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete

    if run["client"] is None:
        nb = copy.deepcopy(item.parent.nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        # The client only processes messages here; the kernel is nbval's.
        client = NotebookClient(nb, record_timing=False)
        # nbclient sets this at the start of each cell it executes itself.
        client.clear_before_next_output = False
        # An Output widget answers the kernel through the client, as it does in a front end.
        client.kc = item.parent.kernel.kc
        run["client"] = client
        run["code_cells"] = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    client = run["client"]
    index = run["code_cells"][item.cell_num]
    cell = client.nb.cells[index]
    for msg in getattr(item.parent.kernel, "book_messages", []):
        try:
            client.process_message(msg, cell, index)
        except CellExecutionComplete:
            break
    run["cells"][item.cell_num] = True


def _executed_notebook(run):
    """Return the notebook as read by nbval, with the outputs of its run filled in."""
    from ipykernel.ipkernel import IPythonKernel

    client = run["client"]
    nb = client.nb
    if hasattr(client, "set_widgets_metadata"):
        client.set_widgets_metadata()
    # nbclient records the kernel's language_info; the book reads the code lexer from it.
    nb.metadata["language_info"] = copy.deepcopy(IPythonKernel.language_info)
    # jupyter-cache checks that execution counts run 1, 2, 3, ... as in a fresh kernel.
    for count, index in enumerate(run["code_cells"], start=1):
        cell = nb.cells[index]
        cell.execution_count = count
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = count
    nbformat.validate(nb)
    return nb


def _store(nb_file, run, folder):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = _executed_notebook(run)
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


_notebook_passed = {}  # notebook file name: no cell failed (on the controller under xdist)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        name = Path(path).name
        _notebook_passed[name] = _notebook_passed.get(name, True) and not report.failed


def pytest_sessionfinish(session, exitstatus):
    if not _is_controller(session.config) or os.environ.get(MODEL_LOG_VARIABLE) != str(
        MODEL_LOG
    ):
        return
    every_notebook = {path.name for path in (ROOT / "notebooks").glob("*.ipynb")}
    ran_and_passed = {name for name, passed in _notebook_passed.items() if passed}
    if exitstatus != 0 or ran_and_passed != every_notebook or not MODEL_LOG.exists():
        return  # a partial or failed run does not see every model
    configs = {}
    for line in MODEL_LOG.read_text().splitlines():
        entry = json.loads(line)
        configs[entry["key"]] = entry["config"]
    listed = sorted(configs.values(), key=lambda c: json.dumps(c, sort_keys=True))
    text = json.dumps(listed, indent=1, sort_keys=True) + "\n"
    if not MODEL_LIST.exists() or MODEL_LIST.read_text() != text:
        MODEL_LIST.write_text(text)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"{MODEL_LIST.relative_to(ROOT)} now lists the {len(listed)} "
                                "trained models the notebooks use; commit it.")
