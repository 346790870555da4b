# The two commands of the README. Both are idempotent: a second call reuses the venv.
PY ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
CORES ?= 2

.PHONY: setup run test lint clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found (Python 3.11 is required)"; exit 1; }
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Main job: the whole DAG on the generated dataset (default config), then its HTML report.
run: setup
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config.yaml
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config.yaml --report results/report.html

# Whole test suite (unit + workflow tests on the tiny generated dataset).
test: setup
	$(VENV)/bin/python -m pytest

# Snakemake community style: Snakefile and rules/ as snakefmt writes them, and a clean linter.
lint: setup
	$(VENV)/bin/snakefmt --check Snakefile rules/
	$(VENV)/bin/snakemake --lint

clean:
	rm -rf results .snakemake
