"""Execute every notebook that the book's execution cache lacks, two at a time.

Jupyter Book (``execute_notebooks: cache``) executes notebooks one after another. Running them
here first, in parallel, with the same cache folder lets the book build reuse every result. A
notebook is looked up by a hash of its code cells, so one that is already cached (by an earlier
build, or by the nbval run through notebooks/conftest.py) is not executed again; when every
notebook is cached the script executes nothing. Before it executes any, it trains the models
that the notebooks use and the model cache lacks (``scripts/train_models.py``), all cores busy. A
notebook that fails is reported and the script exits non-zero; the book build would stop on it
anyway, later and more slowly.

Usage: python scripts/execute_notebooks.py [CACHE_FOLDER]
"""

import sys
from pathlib import Path

import yaml
from jupyter_cache import get_cache
from jupyter_cache.executors import load_executor

ROOT = Path(__file__).resolve().parents[1]


def main(cache_folder=ROOT / "_build" / ".jupyter_cache"):
    timeout = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"]
    cache = get_cache(Path(cache_folder))
    uris = [str(path) for path in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    for uri in uris:
        cache.add_nb_to_project(uri)
    # Only this checkout's notebooks: the cache may also list notebooks from other paths.
    missing = cache.list_unexecuted(filter_uris=uris)
    if not missing:
        print("every notebook is in the cache already; nothing to execute")
        return 0
    print(f"executing {len(missing)} notebooks that the cache lacks:")
    for record in missing:
        print(f"  {Path(record.uri).name}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import train_models

    train_models.main([])
    result = load_executor("local-parallel", cache).run_and_cache(
        filter_uris=uris, timeout=timeout
    )
    failed = result.errored + result.excepted
    print(f"executed {len(result.succeeded)} notebooks, {len(failed)} failed")
    for path in failed:
        print(f"  failed: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
