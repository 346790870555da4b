"""ncdss: weakly-supervised seeds (ICD) and novel class discovery (NCDSS) as one auditable pipeline."""

__version__ = "0.1.0"
