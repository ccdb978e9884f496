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
export PATH := $(VENV)/bin:$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: install book test unit notebooks book-strict clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml
	@test -x "$(PYTHON)" || python3 -m venv "$(VENV)"
	"$(PYTHON)" -m pip install --quiet --upgrade pip
	"$(PYTHON)" -m pip install --quiet -r requirements.txt
	"$(PYTHON)" -m pip install --quiet --no-deps -e .
	touch "$@"

## Build the HTML site into _build/html, executing every notebook.
book: install
	"$(VENV)/bin/jupyter-book" build .

## Unit tests, every notebook under nbval, then a warning-free book build.
test: unit notebooks book-strict

unit: install
	"$(PYTHON)" -m pytest tests

notebooks: install
	"$(PYTHON)" -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks

book-strict: install
	"$(VENV)/bin/jupyter-book" build . -W -n --keep-going

clean:
	rm -rf _build
