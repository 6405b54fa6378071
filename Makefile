# The two set-up commands of the README: `make demo` and `make test` (ruff, mypy, pytest). Both
# create the virtual environment .venv and install symnet into it (with its test extras) the
# first time.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/symnet demo -o reports

test: $(STAMP)
	$(BIN)/ruff check symnet tests benchmarks docs
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check symnet tests benchmarks docs
	$(BIN)/mypy

# The documentation site (docs/, mkdocs.yml) into site/; the test suite builds it too.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .ruff_cache .mypy_cache
