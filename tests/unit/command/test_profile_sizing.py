"""profiles/default/config.yaml against the rehearsal's measurements (benchmarks/rehearsal.json,
written by `make rehearsal`: the README's VOC overlay at full size on CPU; rehearsal-250.json, the same
on 250 images, `TRAIN=200 VAL=50`): every rule's `mem_mb`
holds the peak RSS measured there, plus what grows with the dataset, times the margin, at the
largest target (COCO-20^i train); see benchmarks/rehearsal.py, `required_mb`."""

import json

import pytest
import yaml

from benchmarks.rehearsal import CUDA_HOST_MB, DECODED_MB, MARGIN, TARGETS, growth_mb, required_mb, required_minutes
from conftest import REPO

RECORDS = ["rehearsal.json", "rehearsal-250.json"]
PROFILE = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())["set-resources"]
# rules the README's overlay does not run: the small trunk's pretraining (weak.model.init file
# skips it), the array store (dataset.array_store false) and the estimate of the number of novel
# classes with its probes and figure (discovery.k is an integer there)
NOT_RUN = {"pretrain_icd_trunk", "array_store", "generate_dataset", "base_probes", "k_estimate",
           "k_estimate_table", "report_k_estimate"}


@pytest.fixture(params=RECORDS)
def measured(request) -> dict:
    return json.loads((REPO / "benchmarks" / request.param).read_text())


def test_the_rehearsal_ran_every_rule_of_the_profile_but_the_ones_the_overlay_skips(measured):
    assert set(PROFILE) - set(measured["rules"]) == NOT_RUN
    assert measured["dataset"]["train"] >= 48 and measured["dataset"]["widths"][1] == 500


def test_every_rule_asks_for_its_measured_peak_plus_growth_times_the_margin(measured):
    short = {rule: (PROFILE[rule]["mem_mb"], required_mb(measured, rule))
             for rule in measured["rules"] if PROFILE[rule]["mem_mb"] < required_mb(measured, rule)}
    assert not short, f"mem_mb below (peak + growth) x {MARGIN} (profile, needed): {short}"


def test_every_cpu_rule_gets_its_measured_time_at_the_larger_target_times_the_margin(measured):
    # GPU rules keep their runtimes (required_minutes None): a CPU cannot measure them
    short = {rule: (PROFILE[rule]["runtime"], required_minutes(measured, rule)) for rule in measured["rules"]
             if required_minutes(measured, rule) and PROFILE[rule]["runtime"] < required_minutes(measured, rule)}
    assert not short, f"runtime below CPU s per job x {MARGIN} (profile, needed minutes): {short}"


def test_the_sizing_adds_the_growth_it_names(measured):
    coco = TARGETS["COCO-20^i train"]
    assert growth_mb(measured, "base_model", coco) == DECODED_MB + CUDA_HOST_MB  # decoded arrays, CUDA
    assert growth_mb(measured, "clustering", coco) > 5000   # the prototype matrix of every COCO image
    assert growth_mb(measured, "crf", coco) == 0            # per-image stages stream
    peak = measured["rules"]["crf"]["peak_rss_mb"]
    assert required_mb(measured, "crf") == int(peak * MARGIN)
