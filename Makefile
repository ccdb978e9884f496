# Two commands for a newcomer:  make book  (build the site)  and  make test  (everything CI runs).
# Both create .venv when no virtual environment is active, and install what they need.

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

ifdef VIRTUAL_ENV
VENV := $(VIRTUAL_ENV)
else
VENV := $(CURDIR)/.venv
endif
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.cam-book-installed
# MathJax for the offline site, from the npm registry (scripts/vendor_assets.py).
VENDORED := _vendor/static/mathjax/.version
export PATH := $(VENV)/bin:$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: install browser execute book test lint unit notebooks book-strict site clean

install: $(INSTALLED) $(VENDORED)

$(INSTALLED): requirements.txt pyproject.toml
	@test -x "$(PYTHON)" || python3 -m venv "$(VENV)"
	"$(PYTHON)" -m pip install --quiet --upgrade pip
	"$(PYTHON)" -m pip install --quiet -r requirements.txt
	"$(PYTHON)" -m pip install --quiet --no-deps -e .
	touch "$@"

$(VENDORED): scripts/vendor_assets.py | $(INSTALLED)
	"$(PYTHON)" scripts/vendor_assets.py

## Build the HTML site into _build/html, executing every notebook.
book: execute
	"$(VENV)/bin/jupyter-book" build .

# Execute the notebooks that the book's cache lacks, two at a time, so the build reuses them
# (first training the models they use that the model cache lacks, all cores busy).
execute: install
	"$(PYTHON)" scripts/execute_notebooks.py

## ruff, unit tests and doctests, every notebook under nbval, a warning-free book build,
## then every page in Chromium.
test: lint unit notebooks book-strict site

# The house style (configured in pyproject.toml): pycodestyle, pyflakes, import order,
# bugbear, pyupgrade and Google docstrings, over camlib, tests, notebooks and scripts.
lint: install
	"$(VENV)/bin/ruff" check .

# Unit tests two at a time, then every example in camlib's docstrings.
unit: install
	"$(PYTHON)" -m pytest tests --ignore=tests/browser -n 2
	"$(PYTHON)" -m pytest --doctest-modules camlib -p no:cacheprovider -q

# nbval runs every notebook, two at a time; notebooks/conftest.py writes each notebook that
# passed, with its outputs, into the book's cache, so book-strict executes none of them again.
# train_models.py first trains the models of notebooks/models.json that the cache lacks, so
# that no notebook waits while another trains the model both need.
notebooks: install
	"$(PYTHON)" scripts/train_models.py
	"$(PYTHON)" -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider -n 2 --dist loadscope notebooks

# execute_notebooks.py executes only what the cache lacks: nothing right after the nbval run.
book-strict: execute
	"$(VENV)/bin/jupyter-book" build . -W -n --keep-going

site: install browser
	"$(PYTHON)" -m pytest tests/browser

# Headless Chromium for the site test, from Debian's packages.
# A Korean font too, so that the test can check that Korean text is not drawn as boxes.
browser:
	@{ command -v chromium >/dev/null && fc-list 2>/dev/null | grep -q "CJK KR"; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "the site test needs Chromium and a Korean font: sudo apt-get install chromium fonts-noto-cjk"; exit 1; fi; }

clean:
	rm -rf _build
