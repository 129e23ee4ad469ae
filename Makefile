# Every target bootstraps its own virtual environment in .venv from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test lint typecheck pytest demo bench fuzz soak clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e . --group dev --group bench
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(STAMP)
	$(VENV)/bin/mypy src

# coverage starts before pytest, so modules imported by bearerguard's own pytest
# plugin (an entry point, loaded early) are measured too.
pytest: $(STAMP)
	$(PY) -m coverage run -m pytest $(PYTEST_ARGS)
	$(PY) -m coverage report --skip-covered --sort=cover

# The whole suite: lint, strict typing, then every test.
test: lint typecheck pytest

demo: $(STAMP)
	$(PY) -m examples.demo

bench: $(STAMP)
	$(PY) benchmarks/run.py

fuzz: $(STAMP)
	$(PY) -m pip install --quiet atheris
	$(PY) tests/fuzz/atheris_parsers.py -max_total_time=120

soak: $(STAMP)
	$(PY) benchmarks/soak.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
