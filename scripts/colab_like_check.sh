#!/usr/bin/env bash
# Run every notebook in a fresh environment shaped like Google Colab's runtime.
#
# Colab (2026-08): Python 3.13, TensorFlow 2.20, Keras 3.13, ipywidgets 7.7, with numpy,
# scipy, matplotlib and scikit-image preinstalled. The book's own .venv is newer (TF 2.21,
# Keras 3.15, ipywidgets 8), so this script checks the reader's side:
#
#   1. a new virtual environment (Python 3.13, else 3.12, else 3.11) with the pinned versions;
#   2. camlib built as a wheel from a copy of its sources (the committed HEAD, which is what
#      Colab's setup cell installs; COLAB_CHECK_SOURCE=worktree takes the work tree with its
#      uncommitted edits instead) and installed FROM THE WHEEL, with
#      its dependencies, as the notebooks' setup cell does on Colab; the install must leave
#      tensorflow, keras and ipywidgets untouched (pip freeze before/after);
#   3. the ipywidgets explorers of camlib.widgets built and redrawn under ipywidgets 7.7;
#   4. the notebooks copied to a temporary folder (no checkout on Colab) and run one by one
#      under nbval, from that folder, with a separate model cache.
#
# A manual check: `make test` does not call it. It writes nothing inside the repository.
#
# Usage:  scripts/colab_like_check.sh [VENV_DIR] [NOTEBOOK ...]
#   VENV_DIR    where to create the environment (default /tmp/colab_like_venv); an existing
#               one is reused, and pip brings it to the pinned versions.
#   NOTEBOOK    run only these notebooks (paths or names such as 04a_cam_by_hand); default all.
# Environment overrides: COLAB_PYTHON (interpreter), COLAB_CHECK_SOURCE (head|worktree),
#   COLAB_CHECK_REPO (default: the folder above this script), TF_SPEC, KERAS_SPEC,
#   IPYWIDGETS_SPEC, IPYKERNEL_SPEC, EXTRA_SPECS (say "numpy==2.0.2"),
#   CAMLIB_CACHE_DIR (default /tmp/colab_like_cache), WORK_DIR (default: mktemp).
# Exit status 0 only when every check passed.
set -euo pipefail

REPO=${COLAB_CHECK_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VENV=${1:-/tmp/colab_like_venv}
shift || true
VENV=$(mkdir -p "$VENV" && cd "$VENV" && pwd)

TF_SPEC=${TF_SPEC:-tensorflow-cpu==2.20.*}
KERAS_SPEC=${KERAS_SPEC:-keras==3.13.*}
IPYWIDGETS_SPEC=${IPYWIDGETS_SPEC:-ipywidgets==7.7.*}
# Colab's kernel is ipykernel 6.x.
IPYKERNEL_SPEC=${IPYKERNEL_SPEC:-ipykernel>=6.17,<7}
export CAMLIB_CACHE_DIR=${CAMLIB_CACHE_DIR:-/tmp/colab_like_cache}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
export MPLBACKEND=${MPLBACKEND:-Agg}
export PIP_DISABLE_PIP_VERSION_CHECK=1
unset PYTHONPATH VIRTUAL_ENV PYTHONHOME

say() { printf '\n== %s\n' "$*"; }
# Quiet pip; drop the warnings about find-links folders that this machine's pip.conf names.
pip_q() {
    "$PY" -m pip "$@" --quiet 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

# ---------------------------------------------------------------- 1. interpreter and venv
find_python() {
    local candidates=() version root
    [[ -n "${COLAB_PYTHON:-}" ]] && candidates+=("$COLAB_PYTHON")
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    for version in 3.13 3.12 3.11; do
        candidates+=("python$version" /usr/bin/python$version /usr/local/bin/python$version)
        candidates+=($(ls -d "$root"/versions/$version.*/bin/python$version 2>/dev/null | sort -V -r))
    done
    local candidate
    for candidate in "${candidates[@]}"; do
        # A pyenv shim answers even when its version is not selected: ask it to run.
        if "$candidate" -c 'import sys, venv, ssl; assert sys.version_info >= (3, 11)' 2>/dev/null; then
            "$candidate" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    echo "no Python 3.11+ with venv and ssl found; set COLAB_PYTHON" >&2
    return 1
}

if [[ ! -x "$VENV/bin/python" ]]; then
    BASE_PYTHON=$(find_python)
    say "creating $VENV with $BASE_PYTHON ($("$BASE_PYTHON" -V 2>&1))"
    "$BASE_PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PY_VERSION=$("$PY" -c 'import platform; print(platform.python_version())')
[[ "$PY_VERSION" == 3.13.* ]] || echo "note: Python $PY_VERSION, not Colab's 3.13"

say "installing the Colab-like stack into $VENV (Python $PY_VERSION)"
pip_q install --upgrade pip
# shellcheck disable=SC2086  # EXTRA_SPECS is a list of words on purpose
pip_q install "$TF_SPEC" "$KERAS_SPEC" "$IPYWIDGETS_SPEC" "$IPYKERNEL_SPEC" \
    numpy scipy matplotlib scikit-image pytest nbval ${EXTRA_SPECS:-}

# ---------------------------------------------------------------- 2. camlib from its wheel
WORK=${WORK_DIR:-$(mktemp -d /tmp/colab_like_check.XXXXXX)}
mkdir -p "$WORK"
SRC="$WORK/camlib-src"
WHEELHOUSE="$WORK/wheelhouse"
rm -rf "$SRC" "$WHEELHOUSE"
mkdir -p "$SRC" "$WHEELHOUSE"
# Build from a copy, so that setuptools' build/ and *.egg-info land outside the checkout.
SOURCE=${COLAB_CHECK_SOURCE:-head}
if [[ $SOURCE == head ]] && git -C "$REPO" rev-parse --verify -q HEAD >/dev/null; then
    SOURCE_LABEL="HEAD $(git -C "$REPO" rev-parse --short HEAD)"
    git -C "$REPO" archive HEAD pyproject.toml README.md camlib notebooks | tar -C "$SRC" -xf -
else
    SOURCE_LABEL="work tree of $REPO"
    tar -C "$REPO" --exclude=__pycache__ --exclude=.ipynb_checkpoints -cf - \
        pyproject.toml README.md camlib notebooks | tar -C "$SRC" -xf -
fi
echo "camlib and notebooks from the $SOURCE_LABEL"

say "building camlib's wheel"
if ! "$PY" -m pip wheel --quiet --no-deps -w "$WHEELHOUSE" "$SRC" > "$WORK/wheel-build.log" 2>&1; then
    cat "$WORK/wheel-build.log"
    exit 1
fi
WHEEL=$(ls "$WHEELHOUSE"/camlib-*.whl)
echo "$WHEEL"

"$PY" -m pip uninstall --quiet --yes camlib >/dev/null 2>&1 || true
"$PY" -m pip freeze --all | sort > "$WORK/freeze-before.txt"
say "installing camlib from the wheel (with its dependencies, as on Colab)"
pip_q install "$WHEEL"
"$PY" -m pip freeze --all | sort > "$WORK/freeze-after.txt"

echo "pip freeze changes (- before, + after):"
diff "$WORK/freeze-before.txt" "$WORK/freeze-after.txt" | grep '^[<>]' | sed 's/^</  -/; s/^>/  +/' || true
RUNTIME_CHANGED=0
for package in tensorflow tensorflow-cpu tensorflow_cpu keras ipywidgets numpy; do
    before=$(grep -i "^${package}==" "$WORK/freeze-before.txt" || true)
    after=$(grep -i "^${package}==" "$WORK/freeze-after.txt" || true)
    if [[ "$before" != "$after" ]]; then
        echo "CHANGED by camlib's install: '$before' -> '$after'"
        RUNTIME_CHANGED=1
    fi
done
unexpected=$(diff "$WORK/freeze-before.txt" "$WORK/freeze-after.txt" | grep '^[<>]' | grep -vi '^> camlib' || true)
[[ -z "$unexpected" ]] || RUNTIME_CHANGED=1

# Everything below runs from the work folder: nothing can import or read the checkout.
cd "$WORK"
"$PY" - "$REPO" <<'PY'
import sys, camlib
repo = sys.argv[1]
assert not camlib.__file__.startswith(repo), f"camlib imported from the checkout: {camlib.__file__}"
print("camlib imported from", camlib.__file__)
PY

VERSIONS=$("$PY" - <<'PY'
import platform
from importlib.metadata import version, PackageNotFoundError
def v(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"
tf = v("tensorflow-cpu") if v("tensorflow-cpu") != "-" else v("tensorflow")
print(f"python {platform.python_version()}, tensorflow {tf}, keras {v('keras')}, "
      f"ipywidgets {v('ipywidgets')}, ipykernel {v('ipykernel')}, numpy {v('numpy')}, "
      f"scipy {v('scipy')}, matplotlib {v('matplotlib')}, scikit-image {v('scikit-image')}, "
      f"nbval {v('nbval')}, camlib {v('camlib')}")
PY
)
echo "$VERSIONS"

# ---------------------------------------------------------------- 3. the widget explorers
say "building the ipywidgets explorers"
WIDGETS_OK=1
"$PY" - <<'PY' || WIDGETS_OK=0
import ipywidgets
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from ipywidgets.widgets import widget_output

errors, shown = [], []
# Outside a kernel an Output widget swallows the callback's exceptions: keep them instead.
def keep(self, etype, evalue, tb):
    if etype is not None:
        errors.append(evalue)
    return True
widget_output.Output.__exit__ = keep
plt.show = lambda *a, **k: (shown.append(len(plt.get_fignums())), plt.close("all"))

import keras
from camlib import filters
from camlib.widgets import activation_browser, filter_explorer

def dropdowns(widget):
    found, todo = [], [widget]
    while todo:
        w = todo.pop()
        todo.extend(getattr(w, "children", ()))
        if isinstance(w, (ipywidgets.Dropdown, ipywidgets.IntSlider)):
            found.append(w)
    return found

rng = np.random.default_rng(0)
images = {"noise": rng.random((32, 32)), "flat": np.zeros((32, 32))}
kernels = {**filters.KERNELS, "blur": filters.gaussian_kernel(5, 1.0)}
explorer = filter_explorer(images, kernels)
for menu in dropdowns(explorer):
    for option in list(menu.options)[::-1]:
        menu.value = option[1] if isinstance(option, tuple) else option
print(f"filter_explorer: {type(explorer).__name__}, {len(shown)} redraws")
first = len(shown)

model = keras.Sequential([
    keras.Input((16, 16, 3)),
    keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
    keras.layers.Conv2D(6, 3, activation="relu", name="c2"),
    keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dense(2, activation="softmax"),
])
browser = activation_browser(model, rng.random((3, 16, 16, 3)).astype("float32"), ["c1", "c2"],
                             image_titles=["a", "b", "c"])
sliders = [w for w in dropdowns(browser) if isinstance(w, ipywidgets.IntSlider)]
menus = [w for w in dropdowns(browser) if isinstance(w, ipywidgets.Dropdown)]
layer_menu = next(m for m in menus if m.description == "layer")
layer_menu.value = "c2"
assert sliders[0].max == 5, f"channel slider max {sliders[0].max} after picking c2, expected 5"
sliders[0].value = 5
next(m for m in menus if m.description == "image").value = 2
print(f"activation_browser: {type(browser).__name__}, {len(shown) - first} redraws")

if errors:
    raise SystemExit(f"explorer callbacks raised: {errors!r}")
if first < 2 or len(shown) - first < 2:
    raise SystemExit("an explorer did not redraw")
print(f"explorers OK under ipywidgets {ipywidgets.__version__}")
PY

# ---------------------------------------------------------------- 4. the notebooks
NB_DIR="$WORK/notebooks"
rm -rf "$NB_DIR"
mkdir -p "$NB_DIR"
if (($#)); then
    for name in "$@"; do
        name=$(basename "$name" .ipynb)
        cp "$SRC/notebooks/$name.ipynb" "$NB_DIR/"
    done
else
    cp "$SRC"/notebooks/*.ipynb "$NB_DIR/"
fi
rm -rf "$SRC/notebooks"
cd "$NB_DIR"

say "checking each notebook's first code cell outside Colab"
SETUP_OK=1
"$PY" - *.ipynb <<'PY' || SETUP_OK=0
import json, os, subprocess, sys
bad = 0
for path in sys.argv[1:]:
    cells = [c for c in json.load(open(path))["cells"] if c["cell_type"] == "code"]
    source = "".join(cells[0]["source"])
    probe = source + "\nimport sys\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'google'))\n"
    before = set(os.listdir("."))
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    after = set(os.listdir("."))
    problems = []
    if run.returncode:
        problems.append(f"exit {run.returncode}: {run.stderr.strip()[-300:]}")
    if "google" in run.stdout:
        problems.append("imported google.*")
    if "pip install" in source and "google.colab" not in source:
        problems.append("installs with pip outside a google.colab guard")
    if after != before:
        problems.append(f"left files {sorted(after - before)}")
    print(f"  {path}: {'OK' if not problems else '; '.join(problems)}")
    bad += bool(problems)
sys.exit(bad)
PY

"$PY" -m pip freeze --all | sort > "$WORK/freeze-before-notebooks.txt"
say "running the notebooks under nbval (cache $CAMLIB_CACHE_DIR, folder $NB_DIR)"
declare -a RESULTS=()
FAILED=0
for notebook in *.ipynb; do
    log="$WORK/${notebook%.ipynb}.log"
    start=$(date +%s)
    if "$PY" -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider -q \
            -W ignore::DeprecationWarning "$notebook" > "$log" 2>&1; then
        status=pass
    else
        status=FAIL
        FAILED=$((FAILED + 1))
    fi
    seconds=$(( $(date +%s) - start ))
    last=$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -1 || true)
    RESULTS+=("$(printf '%-36s %-4s %5ss  %s' "$notebook" "$status" "$seconds" "$last")")
    echo "${RESULTS[-1]}"
    if [[ $status == FAIL ]]; then
        # The failing cells and the last line of each traceback, without colour codes.
        sed 's/\x1b\[[0-9;]*m//g' "$log" \
            | grep -E '^(_{3,} .* _{3,}$|[A-Za-z_.]*(Error|Exception|Interrupt|Exit)\b)' \
            | head -40 | sed 's/^/    /'
        echo "    full log: $log"
    fi
done
"$PY" -m pip freeze --all | sort > "$WORK/freeze-after-notebooks.txt"
NB_INSTALLED=$(diff "$WORK/freeze-before-notebooks.txt" "$WORK/freeze-after-notebooks.txt" | grep '^[<>]' || true)

# ---------------------------------------------------------------- summary
say "summary"
echo "$VERSIONS"
echo "camlib and notebooks from the $SOURCE_LABEL"
echo "venv: $VENV   work folder: $WORK   model cache: $CAMLIB_CACHE_DIR"
if ((RUNTIME_CHANGED)); then
    echo "camlib wheel install: CHANGED other packages (see the diff above)"
else
    echo "camlib wheel install: added camlib only; tensorflow, keras, ipywidgets untouched"
fi
echo "widget explorers: $( ((WIDGETS_OK)) && echo OK || echo FAILED )"
echo "first code cells outside Colab: $( ((SETUP_OK)) && echo harmless || echo PROBLEM )"
[[ -z "$NB_INSTALLED" ]] || echo "the notebooks changed installed packages: $NB_INSTALLED"
printf '%s\n' "${RESULTS[@]}"
echo "notebooks: $(( ${#RESULTS[@]} - FAILED )) passed, $FAILED failed"

((FAILED == 0 && WIDGETS_OK && SETUP_OK && !RUNTIME_CHANGED)) && [[ -z "$NB_INSTALLED" ]]
