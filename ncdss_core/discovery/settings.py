"""The config keys each NCDSS stage reads, as settings (`ncdss_core.settings.Settings`).

Torch-free: the rules import these classes for their tracked params (`keys`), the library builds
them from those params (`from_params`), so a stage's keys are declared here and nowhere else.
The `model` section is `models.segmodel.ModelSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ncdss_core.settings import Settings


@dataclass(frozen=True)
class BaseSettings(Settings):
    """`base`: the base model's training (supervision: this run's, one of base.supervision)."""

    SECTION = "base"
    supervision: str
    epochs: int
    batch_size: int
    lr: float
    decay_epochs: list[int]
    selection: str


@dataclass(frozen=True)
class FinetuneSettings(Settings):
    """`finetune` keys every fine-tuning variant reads."""

    SECTION = "finetune"
    backbone_init: str
    epochs: int
    batch_size: int
    lr: float
    decay_epochs: list[int]
    selection: str
    matching: str
    epoch_length: str


@dataclass(frozen=True)
class SelfTrainingSettings(Settings):
    """`finetune` keys of EUMS's self-training on the unclean split (variants with self_training)."""

    SECTION = "finetune"
    ema_momentum: float
    confidence_threshold: float
    rampup_coefficient: float
    rampup_length: int
    reinit_heads: bool
    strong_jitter: list[float]
    self_training_classes: str


@dataclass(frozen=True)
class ReassignmentSettings(Settings):
    """`finetune` keys of EUMS's dynamic reassignment (variants with reassignment)."""

    SECTION = "finetune"
    reassign_epochs: list[int]
    reassign_keep: float


@dataclass(frozen=True)
class BaseRemovalSettings(Settings):
    """`discovery` keys of base removal and the prototypes."""

    SECTION = "discovery"
    threshold: float
    min_novel_fraction: float
    features: str


@dataclass(frozen=True)
class ClusteringSettings(Settings):
    """`discovery` keys of the PCA and k-means over the prototypes."""

    SECTION = "discovery"
    pca_dim: int
    whiten: bool
    n_init: int
    max_iter: int


@dataclass(frozen=True)
class KEstimateSettings(Settings):
    """`discovery` keys of the estimate of the number of novel classes (discovery.k auto)."""

    SECTION = "discovery"
    k_estimator: str
    k_range: list[int]
