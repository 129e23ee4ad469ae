# Every target bootstraps its own virtual environment in .venv from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test lint typecheck pytest docs docs-serve docs-screenshot demo bench fuzz soak clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e . --group dev --group bench --group docs
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks docs
	$(VENV)/bin/ruff format --check src tests examples benchmarks docs
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(STAMP)
	$(VENV)/bin/mypy src tests

# coverage starts before pytest, so modules imported by bearerguard's own pytest
# plugin (an entry point, loaded early) are measured too.
pytest: $(STAMP)
	$(PY) -m coverage run -m pytest $(PYTEST_ARGS)
	$(PY) -m coverage report --skip-covered --sort=cover

# The whole suite: lint and layering, strict typing, every test, then the docs site (strict).
test: lint typecheck pytest docs

# The documentation site, strict: any warning or unresolved reference fails the build,
# and so does a public name missing from the API reference.
docs: $(STAMP)
	$(VENV)/bin/sphinx-build -q -W --keep-going -n -b html docs docs/_build/html
	$(PY) docs/check_inventory.py docs/_build/html/objects.inv

# Serve the built site on 127.0.0.1 (DOCS_PORT, default 8000).
DOCS_PORT ?= 8000
docs-serve: docs
	$(PY) -m http.server --bind 127.0.0.1 --directory docs/_build/html $(DOCS_PORT)

# Headless-Chromium screenshots of the home page and a reference page, to look at
# (needs Debian's chromium: apt-get install chromium).
docs-screenshot: docs
	$(PY) docs/screenshot.py docs/_build/html docs/_build/screenshots

demo: $(STAMP)
	$(PY) -m examples.demo

# Regenerates benchmarks/RESULTS.md: side-by-side verification, end to end over HTTP
# (uvicorn + wrk), start-up and memory; then prints the DPoP cost table (benchmarks/dpop.py).
# wrk is a system package and is never installed here. The fleet benchmark needs its own
# redis-server and 32 workers: python benchmarks/fleet.py --write (FLEET.md).
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { \
		echo "make bench: the end-to-end benchmark needs wrk, which is not installed."; \
		echo "  Install it: apt-get install wrk (Debian/Ubuntu) or brew install wrk (macOS),"; \
		echo "  or run the other sections: $(PY) benchmarks/run.py --write --sections micro,startup,memory"; \
		exit 1; }
	$(PY) benchmarks/run.py --write
	$(PY) benchmarks/dpop.py

fuzz: $(STAMP)
	$(PY) -m pip install --quiet atheris
	$(PY) tests/fuzz/atheris_parsers.py -max_total_time=120

soak: $(STAMP)
	$(PY) benchmarks/soak.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
