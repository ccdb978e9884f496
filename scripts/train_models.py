"""Train every model the notebooks use, before they run, several models at a time.

The notebooks train their models on first use (``camlib.zoo.get``) and the zoo caches
them. On an empty cache that happens inside nbval, and two notebooks that need the same
model wait for each other. This script trains them up front instead: every model listed
in ``notebooks/models.json`` that the cache lacks, the costliest first, in ``--jobs``
processes that share the cores. Each model is still trained by ``camlib.zoo.get``, so it
lands in the same cache entry that the notebooks then load. With a full cache the script
trains nothing.

``notebooks/models.json`` is written by ``notebooks/conftest.py`` after an nbval run of
every notebook, from the configs that ``camlib.zoo.get`` served (see
``camlib.zoo.MODEL_LOG``). A model that the list lacks is still trained when a notebook
asks for it, so the list only decides what is trained early.

Usage:
    python scripts/train_models.py              # as many jobs as cores
    python scripts/train_models.py --jobs 1
    python scripts/train_models.py --dry-run    # list what would be trained
"""

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_LIST = ROOT / "notebooks" / "models.json"


def cost(cfg):
    """Training images seen, a proxy for training time (larger models train longer)."""
    steps = cfg["n_train"] * cfg["epochs"]
    return steps * (2 if cfg["model"] == "vggcam" else 1)


def limit_threads(threads):
    """Worker start-up: give TensorFlow ``threads`` threads before it starts any."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def train_one(cfg, cache_dir):
    """Train (or load) one model through the zoo's cache; return its seconds."""
    from camlib import zoo

    start = time.perf_counter()
    zoo.get(cfg, cache_dir=cache_dir, verbose=0)
    return time.perf_counter() - start


def label(cfg):
    extras = {k: cfg[k] for k in ("n_train", "epochs", "augment") if cfg.get(k)}
    return f"{cfg.get('name', 'custom')} seed {cfg['seed']} {extras}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="models trained at once (default: the number of cores)")
    parser.add_argument("--list", type=Path, default=MODEL_LIST,
                        help=f"the model list (default: {MODEL_LIST.relative_to(ROOT)})")
    parser.add_argument("--cache-dir", default=None,
                        help="the zoo's cache folder (default: camlib.zoo.cache_dir())")
    parser.add_argument("--dry-run", action="store_true", help="list, train nothing")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be 1 or more, got {args.jobs}")
    if not args.list.exists():
        print(f"{args.list} does not exist; nothing to train up front")
        return 0

    from camlib import zoo

    configs = [zoo.config(entry) for entry in json.loads(args.list.read_text())]
    missing = sorted((cfg for cfg in configs if not zoo.is_cached(cfg,
                                                                  cache_dir=args.cache_dir)),
                     key=cost, reverse=True)
    print(f"{len(configs)} models listed, {len(configs) - len(missing)} cached, "
          f"{len(missing)} to train", flush=True)
    if args.dry_run or not missing:
        for cfg in missing:
            print("  would train", label(cfg))
        return 0

    jobs = min(args.jobs, len(missing))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    start = time.perf_counter()
    if jobs == 1:  # in this process, with TensorFlow's own thread count
        for done, cfg in enumerate(missing, 1):
            seconds = train_one(cfg, args.cache_dir)
            print(f"  [{done}/{len(missing)}] {seconds:6.1f} s  {label(cfg)}", flush=True)
    else:
        # spawn, not fork: TensorFlow's thread pools do not survive a fork.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=limit_threads,
                                 initargs=(threads,)) as pool:
            futures = {pool.submit(train_one, cfg, args.cache_dir): cfg for cfg in missing}
            for done, future in enumerate(as_completed(futures), 1):
                print(f"  [{done}/{len(missing)}] {future.result():6.1f} s  "
                      f"{label(futures[future])}", flush=True)
    print(f"trained {len(missing)} models in {time.perf_counter() - start:.0f} s with "
          f"{jobs} jobs of {threads} thread(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
