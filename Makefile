# The two commands of the README. Both are idempotent: a second call reuses the venv.
PY ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
CORES ?= 2

SNAKEMAKE := $(VENV)/bin/snakemake --cores $(CORES)

.PHONY: setup run reproduce replicates ablations k-estimates test lint clean rehearsal

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found (Python 3.11 is required)"; exit 1; }
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# The main job: the whole DAG (every rule family, report included) on the generated dataset,
# fold 0 (config.yaml), then its HTML report.
run: setup
	$(SNAKEMAKE)
	$(SNAKEMAKE) --report results/report.html

# The four PASCAL-5^i folds and the paper-style tables (results/tables): the same config with
# only the fold list changed (config/reproduce.yaml); fold 0 of `make run` is reused.
reproduce: setup
	$(SNAKEMAKE) --configfile config/reproduce.yaml
	$(SNAKEMAKE) --configfile config/reproduce.yaml --report results/report.html

# The four folds x 3 training seeds, the rows the claims read and the weakly-supervised rows
# (config/replicates.yaml; replicate 0 is that of `make reproduce`): mean ± std over seeds in results/tables.
REPLICATES := config/reproduce.yaml config/replicates.yaml
replicates: setup
	$(SNAKEMAKE) --configfile $(REPLICATES)
	$(SNAKEMAKE) --configfile $(REPLICATES) --report results/report.html

# `make replicates` plus the three ranking rows of the paper's ablation table (config/ablations.yaml).
ablations: setup
	$(SNAKEMAKE) --configfile $(REPLICATES) config/ablations.yaml
	$(SNAKEMAKE) --configfile $(REPLICATES) config/ablations.yaml --report results/report.html

# discovery.k auto where the truth is known: N̂ of each estimator on six folds defined by class list
# (3, 5 and 8 novel classes) x 3 training seeds (config/k_auto.yaml), in results/tables/k_estimates.
k-estimates: setup
	$(SNAKEMAKE) results/tables/k_estimates --configfile config/k_auto.yaml

# Whole test suite (unit + workflow tests on the tiny generated dataset).
test: setup
	$(VENV)/bin/python -m pytest

# Snakemake community style: Snakefile and rules/ as snakefmt writes them, and a clean linter.
lint: setup
	$(VENV)/bin/snakefmt --check Snakefile rules/
	$(VENV)/bin/snakemake --lint

# Performance figures of this machine into benchmarks/RESULTS.md (about an hour on 2 cores; run it
# on an otherwise idle machine). BENCH_ARGS: e.g. --quick, --dag-baseline REV, --sections dag,noop.
bench: setup
	$(VENV)/bin/python -m benchmarks.run $(BENCH_ARGS)

# The README's VOC overlay at full size (ResNet-50 DeepLabV3 at 512 px, VGG16 LargeFOV at 321 px,
# 24 shards) over the whole DAG on CPU, report included, on generated images at VOC's size, the
# trainings shortened by config/rehearsal.yaml alone, then the data rules and the base model in the
# COCO-20^i layout (benchmarks/rehearsal.sh). Writes the per-rule table (REHEARSAL/rehearsal.md) from the run's
# benchmark files and the figures the profile test reads (REHEARSAL_RECORD); 43 minutes on 2 idle
# cores, 20 GB of memory at its peak. 250 images: `make rehearsal TRAIN=200 VAL=50
# REHEARSAL_RECORD=benchmarks/rehearsal-250.json` (80 minutes). docs/cluster.md, "Rehearsal at full size".
REHEARSAL ?= results-rehearsal
REHEARSAL_RECORD ?= benchmarks/rehearsal.json
rehearsal: setup
	CORES=$(CORES) benchmarks/rehearsal.sh $(REHEARSAL) $(REHEARSAL_RECORD)

clean:
	rm -rf results .snakemake
