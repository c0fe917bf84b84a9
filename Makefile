# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
CORES ?= all
BIN := $(VENV)/bin

.PHONY: run report test test-quick lint dry-run

# The venv is rebuilt when the pinned requirements change.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gridflow needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The experiment, then its Snakemake report (one self-contained HTML file).
run: $(BIN)/.installed
	$(BIN)/snakemake --cores $(CORES) --configfile config/config.yaml
	$(BIN)/snakemake --configfile config/config.yaml --report results/report.html

report: $(BIN)/.installed
	$(BIN)/snakemake --configfile config/config.yaml --report results/report.html

dry-run: $(BIN)/.installed
	$(BIN)/snakemake --dry-run --configfile config/config.yaml

test: $(BIN)/.installed
	$(BIN)/python -m pytest

# Everyday: unit tests and style gates, without the real workflow runs (marked slow).
test-quick: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not slow"

lint: $(BIN)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/snakefmt --check . && $(BIN)/snakemake --lint
