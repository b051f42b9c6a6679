# Two commands: `make demo` and `make test`. Each creates .venv and installs from the project's own files.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?=

.PHONY: setup demo test

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: setup
	$(PY) -m ov_eval.demo $(if $(MODEL),--model $(MODEL))

test: setup
	$(PY) -m pytest -q
