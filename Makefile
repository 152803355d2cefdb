# dialsim: `make run` sets everything up and runs the bundled baseline scenario;
# `make test` runs the test suite (what CI runs). Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup run test test-fast bench clean

setup: $(VENV)/.installed

# setup.py compiles sim/model/kernel.py (Cython): editing it rebuilds the compiled loop
$(VENV)/.installed: pyproject.toml setup.py sim/model/kernel.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
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
