"""Execute every notebook into the book's execution cache, two at a time.

Jupyter Book (``execute_notebooks: cache``) executes notebooks one after another. Running them
here first, in parallel, with the same cache folder lets the book build reuse every result. A
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
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cache.add_nb_to_project(str(notebook))
    result = load_executor("local-parallel", cache).run_and_cache(timeout=timeout)
    failed = result.errored + result.excepted
    print(f"executed {len(result.succeeded)} notebooks, {len(failed)} failed")
    for path in failed:
        print(f"  failed: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
