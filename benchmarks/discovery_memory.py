"""Peak memory of clustering and evaluation as the dataset grows (reference pitfall §9.2.9).

The original keeps an N x 512 x 512 float mask array for k-means and two |val| x 512^2 buffers for
evaluation (tens of GB on COCO). Here clustering holds one prototype per image and evaluation one
confusion matrix, so peak memory should grow only by N x D floats (clustering) and not at all
(evaluation). Each measurement runs in a fresh process and reads its peak RSS (VmHWM).

    .venv/bin/python benchmarks/discovery_memory.py            # writes benchmarks/results/discovery_memory.md
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
kind, n, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = peak_mb()
t = time.time()
if kind == "clustering":
    from ncdss_core.discovery.base_removal import prototype
    from ncdss_core.discovery.clustering import cluster_prototypes
    from ncdss_core.discovery.settings import ClusteringSettings
    rng = np.random.default_rng(0)
    vectors = np.empty((n, dim), np.float32)
    mask = np.zeros((512, 512), np.uint8); mask[100:400, 50:300] = 1
    for i in range(n):  # one prototype per image, as base_removal streams them
        if i < 20:
            vectors[i] = prototype(torch.from_numpy(rng.normal(size=(dim, 64, 64)).astype(np.float32)), mask)
        else:
            v = rng.normal(size=dim).astype(np.float32); vectors[i] = v / np.linalg.norm(v)
    cluster_prototypes(vectors, 10, ClusteringSettings(pca_dim=32, whiten=True, n_init=10, max_iter=300), 0)
else:
    from ncdss_core.evaluation.metrics import ConfusionMatrix, discovery_scores
    rng = np.random.default_rng(0)
    cm = ConfusionMatrix(21, 26)
    for i in range(n):  # one 512 x 512 prediction at a time
        gt = rng.integers(0, 21, size=(512, 512)); pred = rng.integers(0, 26, size=(512, 512))
        cm.update(gt, pred)
    discovery_scores(cm, 15, 5, 10)
print(json.dumps({"kind": kind, "images": n, "dim": dim, "peak_mb": round(peak_mb(), 1),
                  "baseline_mb": round(base, 1), "seconds": round(time.time() - t, 1)}))
"""


def measure(kind: str, n: int, dim: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(n), str(dim)], capture_output=True,
                         text=True, check=True, cwd=HERE.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = [measure("clustering", n, 2048) for n in (1000, 4000, 16000)]
    rows += [measure("evaluation", n, 0) for n in (50, 200, 800)]
    lines = ["# Discovery memory: peak RSS by dataset size", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M')} with `benchmarks/discovery_memory.py`, 1 thread.",
             "Clustering: N prototypes of 2048 dims (ResNet-50 layer4), PCA-32 whitened, k-means k=10, n_init=10.",
             "Evaluation: N predictions of 512 x 512 pixels into one 21 x 27 confusion matrix.", "",
             "| stage | images | peak RSS (MB) | after imports (MB) | seconds | reference would hold |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        ref = (f"{r['images'] * 512 * 512 * 4 / 2**20:.0f} MB of masks" if r["kind"] == "clustering"
               else f"{2 * r['images'] * 512 * 512 * 4 / 2**20:.0f} MB of buffers")
        lines.append(f"| {r['kind']} | {r['images']} | {r['peak_mb']} | {r['baseline_mb']} | {r['seconds']} | {ref} |")
    out = HERE / "results" / "discovery_memory.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
