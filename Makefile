# dialsim: `make run` sets everything up and runs the bundled baseline scenario;
# `make test` runs the test suite (what CI runs). Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup run test test-fast bench clean

setup: $(VENV)/.installed

# setup.py compiles sim/model/kernel.py (Cython): editing it rebuilds the compiled loop.
# uv installs in parallel and shows its progress (~10x faster than pip on a cold cache);
# it comes from a uv already on PATH or as one wheel from PyPI, and pip is the fallback.
$(VENV)/.installed: pyproject.toml setup.py sim/model/kernel.py
	@echo "== setting up $(VENV): dialsim and its dependencies (first time only) =="
	$(PYTHON) -m venv $(VENV)
	@if command -v uv >/dev/null 2>&1; then UV=uv; \
	elif $(PY) -m pip install --disable-pip-version-check --progress-bar on uv; then UV=$(VENV)/bin/uv; \
	else UV=; fi; \
	if [ -n "$$UV" ]; then \
	  echo "== installing with uv =="; \
	  $$UV pip install --python $(PY) -e ".[dev]" || { echo "== uv failed: falling back to pip =="; UV=; }; \
	fi; \
	if [ -z "$$UV" ]; then \
	  echo "== installing with pip (slower) =="; \
	  $(PY) -m pip install --disable-pip-version-check --progress-bar on -e ".[dev]" || exit 1; \
	fi
	touch $@

run: setup
	$(VENV)/bin/dialsim run scenarios/baseline.toml

test: setup
	$(PY) -m pytest -n 2 --dist loadfile -q

# the quick loop: everything but the tests marked slow (long statistics, real
# subprocesses and signals, Dask, the browser); CI runs `make test`, all of them
test-fast: setup
	$(PY) -m pytest -n 2 --dist loadfile -q -m "not slow"

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
