"""Fine-tuning variants: basic, EUMS and the ablation rows of the paper's table (reference §8.1).

Torch-free, so the Snakefile can import it to build the DAG.

    row 1 no_overclustering     basic framework with k = number of novel classes (estimated: discovery.k auto)
    row 2 basic                 basic framework with k = discovery.k (over-clustering)
    row 3 ranking               base + clean split only
    row 4 ranking_reassignment  base + clean, with dynamic reassignment
    row 5 ranking_selftraining  EUMS without dynamic reassignment
    row 6 eums                  full EUMS
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ncdss_core.data.folds import novel_classes
from ncdss_core.discovery.cluster_count import AUTO, k_label
from ncdss_core.discovery.settings import FinetuneSettings, ReassignmentSettings, SelfTrainingSettings


@dataclass(frozen=True)
class Variant:
    """Which NCDSS components a fine-tuning run uses."""

    name: str
    overclustering: bool = True
    entropy_ranking: bool = False
    reassignment: bool = False
    self_training: bool = False

    def config_keys(self) -> tuple[str, ...]:
        """The `finetune` keys this variant reads (the rule's params hold exactly these)."""
        keys = FinetuneSettings.keys()
        if self.self_training:
            keys += SelfTrainingSettings.keys()
        if self.reassignment:
            keys += ReassignmentSettings.keys()
        return tuple(sorted(keys))

    def k(self, k: int | str, kind: str, fold: int, factor: int) -> int | str:
        """Clusters this variant trains with: discovery.k, or the number of novel classes; under
        discovery.k auto the label of factor x (or 1 x) the estimate (`cluster_count.k_label`)."""
        novel = 0 if k == AUTO else len(novel_classes(kind, fold))
        return k_label(k, factor, novel, self.overclustering)


def backbone_init(finetune_cfg: Mapping[str, Any], model_cfg: Mapping[str, Any]) -> str:
    """Resolve `finetune.backbone_init`: "weights" (the reference: model.backbone_weights, random
    without a file) or "base_model" (the fold's base model backbone); auto picks weights when a
    weights file is configured."""
    choice = finetune_cfg["backbone_init"]
    if choice == "auto":
        return "weights" if model_cfg["backbone_weights"] else "base_model"
    if choice not in ("weights", "base_model"):
        raise ValueError(f"finetune.backbone_init: unknown value {choice!r} (auto, weights, base_model)")
    return choice


# in the order of the paper's table (rows 1-6): each row adds components to those above it
VARIANTS = {
    "no_overclustering": Variant("no_overclustering", overclustering=False),
    "basic": Variant("basic"),
    "ranking": Variant("ranking", entropy_ranking=True),
    "ranking_reassignment": Variant("ranking_reassignment", entropy_ranking=True, reassignment=True),
    "ranking_selftraining": Variant("ranking_selftraining", entropy_ranking=True, self_training=True),
    "eums": Variant("eums", entropy_ranking=True, reassignment=True, self_training=True),
}
ABLATIONS = ("no_overclustering", "ranking", "ranking_reassignment", "ranking_selftraining")


def model_name(variant: str) -> str:
    """How results/ and the tables name a variant's model: basic, eums, ablation_<row>."""
    return f"ablation_{variant}" if variant in ABLATIONS else variant


# Every fine-tuned model name, for the workflow's wildcard constraints and targets.
FINETUNED_MODELS = tuple(model_name(name) for name in VARIANTS)


def variant_of_model(model: str) -> Variant:
    """The variant a fine-tuned model name stands for (the inverse of model_name)."""
    for name, variant in VARIANTS.items():
        if model_name(name) == model:
            return variant
    raise KeyError(f"no fine-tuning variant makes a model named {model!r} (known: {', '.join(FINETUNED_MODELS)})")
