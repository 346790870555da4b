"""What the stage does for `make rehearsal`: a training rule's `max_iterations_per_epoch` param caps
the process's trainings, and a cuda job records the peak GPU memory its tensors took."""

import torch

from ncdss_core.io.atomic import read_json
from ncdss_core.train import loop
from ncdss_core.stage import Stage
from test_stage import artifact, fake_snakemake, named, restore_process_state  # noqa: F401 (fixture)


def test_the_rule_param_caps_the_iterations_of_the_process(tmp_path):
    try:
        Stage(fake_snakemake(tmp_path, named(), {"max_iterations_per_epoch": 3}))
        assert loop._iteration_cap == 3
        Stage(fake_snakemake(tmp_path, named(), {"max_iterations_per_epoch": 0}))
        assert loop._iteration_cap == 0
    finally:
        loop.cap_iterations(0)


def test_a_cuda_job_records_its_peak_gpu_memory(tmp_path, monkeypatch):
    up = artifact(tmp_path / "up")
    stage = Stage(fake_snakemake(tmp_path, named(up=str(up)), {}))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a, **k: 3 * 2**30)
    stage._device = "cuda"
    with stage.output_dir() as build:
        (build / "x.txt").write_text("x")
        stage.write_provenance()
    assert read_json(tmp_path / "out" / "artifact" / "provenance.json")["extra"]["gpu_peak_memory_mb"] == 3072
