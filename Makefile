# The two commands a newcomer needs: `make run` (the daemon) and `make test` (the suite);
# `make test-fast` runs the tests not marked slow (no daemon, browser, PostgreSQL or sleep) in under a minute.
# Both create the virtual environment and install Raqib on first use: `make run` what the
# daemon needs and nothing else; `make test` (and lint, bench) the test tools on top.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.test-stamp
CONFIG ?= raqib.yaml
# Test workers (pytest-xdist): most tests wait on daemons and sockets. JOBS=0 runs them in one process.
JOBS ?= 2

.PHONY: run test test-fast lint demo check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/raqib run --config $(CONFIG)

test: $(TEST_STAMP) lint
	$(BIN)/python -m pytest -q -n $(JOBS)

# tests/conftest.py marks the slow tests and fails a test of this tier that takes over 2 s
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) -m "not slow"

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

demo: $(STAMP)
	$(BIN)/raqib demo

check: $(STAMP)
	$(BIN)/raqib check --config $(CONFIG)

bench: $(TEST_STAMP)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var build *.egg-info
