"""Make ncdss_core importable when a script runs outside the project venv (e.g. --sdm conda).

Snakemake puts this directory on sys.path; the package lives one level up.
"""
import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
