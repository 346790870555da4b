#!/usr/bin/env bash
# The real-size rehearsal (`make rehearsal`; benchmarks/gpu_check.sh runs it on cuda): the README's
# VOC overlay over the whole DAG, report included, on generated images at VOC's size in the VOC
# layout, the trainings shortened by config/rehearsal.yaml alone; then the data rules and the base
# model on the same images in the COCO-20^i layout; then the per-rule table (DIR/rehearsal.md,
# DIR/measured.json)
# from the run's benchmark files and provenance records. See benchmarks/rehearsal.py.
#
#   benchmarks/rehearsal.sh DIR [RECORD]    RECORD: also copy measured.json there
#   env: PYTHON (default .venv/bin/python), CORES (2), MEM_MB (26000: the jobs' mem_mb side by
#        side: a training of up to 18000 beside an inference job of 7000; a larger request, as
#        fine-tuning's, is capped to it and runs alone), TRAIN (96) and VAL (24) images.
#        GPUS: at most that many GPU jobs at a time (gpu_check.sh: 1, so that each job's GPU
#        figures are its own)
#   The trainings and the ranking run with CORES threads (each needs most of the memory cap, so
#   nothing runs beside it); every other rule with one.
#   An existing DIR is reused: only what is missing runs (remove DIR to measure again).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
snakemake=$(dirname "$python")/snakemake
out=$(mkdir -p "$1" && cd "$1" && pwd)
record=${2:-}
# a training runs alone (its memory: no two fit the cap), and so does the ranking between the two
# fine-tunings of the chain, so they take every core; replacing the profile's set-threads table
# leaves every other rule at its one thread
cores=${CORES:-2}
run=("$snakemake" -s "$repo/Snakefile" --cores "$cores" --resources "mem_mb=${MEM_MB:-26000}" ${GPUS:+"gpu=$GPUS"}
     --set-threads "base_model=$cores" "train_icd=$cores" "finetune=$cores" "ranking=$cores")

cd "$repo"
"$python" -m benchmarks.rehearsal prepare "$out" --train "${TRAIN:-96}" --val "${VAL:-24}"
uptime > "$out/load.txt"
date -u +%FT%TZ > "$out/started.txt"
"${run[@]}" --configfile "$out/voc.yaml" "$repo/config/rehearsal.yaml" --directory "$out/voc-run"
"${run[@]}" --configfile "$out/voc.yaml" "$repo/config/rehearsal.yaml" --directory "$out/voc-run" \
    --report "$out/voc-run/report.html"
"${run[@]}" --configfile "$out/coco.yaml" "$repo/config/rehearsal.yaml" --directory "$out/coco-run" \
    --until base_model superpixels saliency
uptime >> "$out/load.txt"
"$python" -m benchmarks.rehearsal table "$out" ${record:+--record "$record"}
