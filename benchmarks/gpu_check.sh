#!/usr/bin/env bash
# The GPU path in a few minutes, on a machine with one GPU:
#  1. the tiny DAG (tests/configs/tiny.yaml) on cuda in a temporary directory: every stage runs,
#     the trainings with mixed precision (compute.amp auto) and the data path's pinned memory;
#     the script checks that the training records name cuda as their device;
#  2. training images/s of the paper's model (resnet50 DeepLab, 512 px, batch 8) with the data
#     path on (VOC-size JPEGs, and their array store) and with synthetic in-memory batches, with
#     and without amp (benchmarks/gpu_throughput.py);
#  3. the rehearsal (benchmarks/rehearsal.sh, `make rehearsal` on CPU): the README's VOC overlay at
#     full size over the whole DAG, the trainings shortened by config/rehearsal.yaml, on cuda; its
#     table (rehearsal.md) gives per rule the host memory, the GPU memory the job's tensors took
#     (torch's peak allocation, recorded in provenance) and the seconds per image or iteration.
#     REHEARSAL_OUT=DIR keeps it (default: a temporary directory, the table printed).
# Without a GPU it says so and exits 0.
#
#   benchmarks/gpu_check.sh              PYTHON=... to use another interpreter than .venv
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
snakemake=$(dirname "$python")/snakemake

if ! "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: no GPU visible to torch (torch.cuda.is_available() is false): nothing to check here"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cores=$(nproc)
"$python" -c 'import torch; print("gpu_check:", torch.cuda.get_device_name(), "| torch", torch.__version__,
"| cuda", torch.version.cuda)'

echo "== 1. tiny DAG on cuda ($cores cores)"
started=$SECONDS
"$snakemake" -s "$repo/Snakefile" --directory "$work/tiny" --cores "$cores" \
    --configfile "$repo/tests/configs/tiny.yaml" --quiet > "$work/tiny.log" 2>&1 ||
    { tail -n 60 "$work/tiny.log"; echo "gpu_check: the tiny DAG failed on cuda"; exit 1; }
echo "tiny DAG: done in $((SECONDS - started))s"
"$python" - "$work/tiny/results" <<'EOF'
import json, sys
from pathlib import Path

records = {p: json.loads(p.read_text()) for p in Path(sys.argv[1]).rglob("provenance.json")}
trainings = {p: r for p, r in records.items() if r["stage"] in ("train_icd", "base_model", "finetune")}
devices = sorted({r["device"] for r in trainings.values()})
print(f"{len(records)} artifacts; trainings: {len(trainings)}, device {', '.join(devices)}")
if devices != ["cuda"]:
    sys.exit("gpu_check: a training did not run on cuda")
EOF

echo "== 2. training throughput: resnet50 DeepLab, 512 px, batch 8"
"$python" "$repo/benchmarks/gpu_throughput.py" --device cuda --arch resnet50 --size 512 --batch 8 \
    --iterations 20 --warmup 5 --workers "$(( cores < 8 ? cores : 8 ))" --work "$work"
echo "== 3. the rehearsal on cuda: README's VOC overlay at full size, config/rehearsal.yaml"
started=$SECONDS
rehearsal=${REHEARSAL_OUT:-$work/rehearsal}
PYTHON="$python" CORES="$cores" GPUS=1 "$repo/benchmarks/rehearsal.sh" "$rehearsal" > "$work/rehearsal.log" 2>&1 ||
    { tail -n 60 "$work/rehearsal.log"; echo "gpu_check: the rehearsal failed on cuda"; exit 1; }
cat "$rehearsal/rehearsal.md"
echo "rehearsal: done in $((SECONDS - started))s"
echo "gpu_check: done in ${SECONDS}s"
