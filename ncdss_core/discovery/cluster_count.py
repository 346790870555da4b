"""How many clusters a run makes: discovery.k as given, or k_factor x the estimated number of
novel classes (discovery.k: auto). Torch- and sklearn-free: the Snakefile names paths with it.

A run's clusters are named in its paths (clusters/k<label>, pseudo_labels/k<label>): the integer k
itself, or `auto_x<f>` for f x the estimate N̂ of the run's k_estimate artifact (f = discovery.k_factor
for over-clustering, 1 for the no_overclustering row). The label is known when the DAG is built; the
number behind an auto label is read by the jobs from estimate.json.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ncdss_core.io.atomic import read_json

AUTO = "auto"
ESTIMATE_FILE = "estimate.json"
# beside it: whether the true novel classes form clusters (ncdss_core/evaluation/separability.py)
SEPARABILITY_FILE = "separability.json"
# discovery.k_estimator choices (ncdss_core/discovery/k_estimation.py)
ESTIMATORS = ("base_probes", "silhouette", "gmm_bic")
_AUTO_LABEL = re.compile(r"auto_x([1-9][0-9]*)")
# the k wildcard: an integer, or an auto label
K_LABEL_PATTERN = r"[0-9]+|auto_x[1-9][0-9]*"


def k_label(k: int | str, factor: int, novel: int, overclustering: bool) -> int | str:
    """The clusters of a variant: k (over-clustering) or `novel` (the number of novel classes) for
    an integer discovery.k; auto_x<k_factor> or auto_x1 for auto."""
    if k == AUTO:
        return f"auto_x{int(factor) if overclustering else 1}"
    return int(k) if overclustering else int(novel)


def auto_factor(label: int | str) -> int | None:
    """The multiple of an auto label (auto_x2 -> 2), None for an integer k."""
    match = _AUTO_LABEL.fullmatch(str(label))
    if match:
        return int(match.group(1))
    if not str(label).isdigit():
        raise ValueError(f"discovery.k: {label!r} is neither a number of clusters nor an auto label (auto_x<f>)")
    return None


def read_estimate(directory: str | Path) -> dict[str, Any]:
    return read_json(Path(directory) / ESTIMATE_FILE)


def resolve_k(label: int | str, estimate_dir: str | Path | None) -> int:
    """The number of clusters behind a label: the integer itself, or factor x N̂ of the estimate."""
    factor = auto_factor(label)
    if factor is None:
        return int(label)
    if estimate_dir is None:
        raise ValueError(f"k {label}: an auto label needs the run's k_estimate artifact as input")
    return factor * int(read_estimate(estimate_dir)["n_hat"])
