"""The stage helper, driven by a fake `snakemake` object shaped like the one Snakemake injects."""

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from snakemake.iocontainers import Namedlist

import ncdss_core.stage as stage_module
from ncdss_core.io.atomic import read_json
from ncdss_core.provenance.record import write_provenance
from ncdss_core.runtime import setup_logging
from ncdss_core.stage import Stage


def named(**items) -> Namedlist:
    """A Namedlist as Snakemake builds it: a list value is a named range of items."""
    out = Namedlist()
    for name, value in items.items():
        start = len(out)
        if isinstance(value, list):
            out.extend(value)
            out._set_name(name, start, len(out))
        else:
            out.append(value)
            out._set_name(name, start)
    return out


def artifact(path: Path, content: bytes = b"x") -> Path:
    path.mkdir(parents=True)
    (path / "data.bin").write_bytes(content)
    write_provenance(path, stage="upstream", params={}, inputs={})
    return path


def fake_snakemake(tmp_path: Path, inputs: Namedlist, params: dict, wildcards: dict | None = None,
                   threads: int = 1, rule: str = "demo") -> SimpleNamespace:
    return SimpleNamespace(input=inputs, params=named(**params), wildcards=named(**(wildcards or {})),
                           output=Namedlist([str(tmp_path / "out" / "artifact")]),
                           log=Namedlist([str(tmp_path / "logs" / f"{rule}.log")]), threads=threads, rule=rule)


@pytest.fixture(autouse=True)
def restore_process_state():
    threads, omp = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    deterministic = torch.are_deterministic_algorithms_enabled()
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)
    if omp is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = omp
    setup_logging()  # close the test's log file


@pytest.fixture
def upstream(tmp_path):
    return {"dataset": artifact(tmp_path / "dataset"),
            "shards": [artifact(tmp_path / f"shard{i}", bytes([i])) for i in range(3)]}


def test_record_names_every_input_params_wildcards_and_the_rule(tmp_path, upstream):
    smk = fake_snakemake(tmp_path, named(dataset=str(upstream["dataset"]), shards=[str(p) for p in upstream["shards"]]),
                         {"crf": {"iterations": 5}, "n_shards": 3}, {"fold": "0", "shard": "001"}, rule="crf")
    stage = Stage(smk)
    with stage.output_dir() as build:
        (build / "out.txt").write_text("done")
        stage.write_provenance(metrics={"images": 4}, extra={"epoch_seconds": [1.5]})
    out = Path(smk.output[0])
    record = read_json(out / "provenance.json")
    assert record["stage"] == "crf"
    assert set(record["inputs"]) == {"dataset", "shards_000", "shards_001", "shards_002"}
    assert record["inputs"]["shards_002"]["path"] == str(upstream["shards"][2])
    assert record["inputs"]["dataset"]["provenance_digest"] is not None
    assert record["params"] == {"crf": {"iterations": 5}, "n_shards": 3, "fold": "0", "shard": "001"}
    assert record["artifact"] == str(out) and record["output"]["files"].keys() == {"out.txt"}
    assert record["metrics"] == {"images": 4} and record["extra"] == {"epoch_seconds": [1.5]}
    assert record["seed"] is None and record["device"] == "cpu"
    assert "rule crf, threads 1" in (tmp_path / "logs" / "crf.log").read_text()


def test_an_empty_list_input_records_nothing(tmp_path, upstream):
    smk = fake_snakemake(tmp_path, named(dataset=str(upstream["dataset"]), splits=[]), {"mode": "all"})
    assert Stage(smk).recorded_inputs() == {"dataset": str(upstream["dataset"])}


def test_an_unnamed_input_is_refused(tmp_path, upstream):
    inputs = named(dataset=str(upstream["dataset"]))
    inputs.append(str(upstream["shards"][0]))
    stage = Stage(fake_snakemake(tmp_path, inputs, {}))
    with pytest.raises(ValueError, match="1 input\\(s\\) have no name"):
        with stage.output_dir():
            pass
    assert not Path(stage.output[0]).exists()


def test_a_wildcard_contradicting_a_param_is_refused_and_an_equal_one_is_kept(tmp_path, upstream):
    inputs = named(dataset=str(upstream["dataset"]))
    stage = Stage(fake_snakemake(tmp_path, inputs, {"variant": "basic"}, {"variant": "basic", "fold": "2"}))
    assert stage.recorded_params() == {"variant": "basic", "fold": "2"}
    stage = Stage(fake_snakemake(tmp_path, inputs, {"variant": "basic"}, {"variant": "eums"}))
    with pytest.raises(ValueError, match="param variant='basic' and wildcard variant='eums' disagree"):
        stage.recorded_params()


def test_a_failed_block_leaves_no_artifact(tmp_path, upstream):
    stage = Stage(fake_snakemake(tmp_path, named(dataset=str(upstream["dataset"])), {}))
    with pytest.raises(RuntimeError):
        with stage.output_dir() as build:
            (build / "half.txt").write_text("half")
            raise RuntimeError("killed")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_several_outputs_are_built_together_each_with_its_own_record(tmp_path, upstream):
    smk = fake_snakemake(tmp_path, named(dataset=str(upstream["dataset"])), {"variants": ["cam", "icd"]},
                         {"shard": "000"}, rule="seeds")
    smk.output = Namedlist([str(tmp_path / "out" / v / "000") for v in ("cam", "icd")])
    stage = Stage(smk)
    with pytest.raises(RuntimeError):  # a failure in the block: neither output appears
        with stage.output_dirs() as builds:
            (builds[0] / "a.png").write_bytes(b"cam")
            raise RuntimeError("killed")
    assert not any(Path(o).exists() for o in smk.output)
    with stage.output_dirs() as builds:
        for build, variant in zip(builds, ("cam", "icd")):
            (build / f"{variant}.png").write_bytes(variant.encode())
        stage.write_provenance(metrics={"images": 1}, output=1, params={"variant": "icd"})
    cam, icd = (read_json(Path(o) / "provenance.json") for o in smk.output)
    assert icd["artifact"] == smk.output[1] and icd["params"]["variant"] == "icd" and icd["metrics"] == {"images": 1}
    assert cam["artifact"] == smk.output[0] and "variant" not in cam["params"] and cam["metrics"] == {}
    assert cam["output"]["files"].keys() == {"cam.png"} and icd["output"]["files"].keys() == {"icd.png"}


def test_an_artifact_without_metrics_still_gets_its_record(tmp_path, upstream):
    stage = Stage(fake_snakemake(tmp_path, named(dataset=str(upstream["dataset"])), {"labels": "icd"}))
    with stage.output_dir() as build:
        (build / "a.png").write_bytes(b"png")
    record = read_json(Path(stage.output[0]) / "provenance.json")
    assert record["metrics"] == {} and record["params"] == {"labels": "icd"}


def test_seed_param_seeds_every_generator_and_is_recorded(tmp_path, upstream):
    inputs = named(dataset=str(upstream["dataset"]))
    draws = []
    for _ in range(2):
        stage = Stage(fake_snakemake(tmp_path, inputs, {"seed": 17}))
        draws.append((np.random.random(), torch.rand(1).item()))
    assert draws[0] == draws[1] and stage.seed == 17
    with stage.output_dir():
        pass
    assert read_json(Path(stage.output[0]) / "provenance.json")["seed"] == 17


def test_threads_come_from_the_rule(tmp_path, upstream):
    Stage(fake_snakemake(tmp_path, named(dataset=str(upstream["dataset"])), {}, threads=3))
    assert torch.get_num_threads() == 3 and os.environ["OMP_NUM_THREADS"] == "3"


def test_device_is_recorded_only_when_the_stage_asked_for_one(tmp_path, upstream, monkeypatch):
    monkeypatch.setattr(stage_module, "pick_device", lambda: "cuda")
    inputs = named(dataset=str(upstream["dataset"]))
    unused = Stage(fake_snakemake(tmp_path, inputs, {}))
    with unused.output_dir():
        pass
    assert read_json(Path(unused.output[0]) / "provenance.json")["device"] == "cpu"
    used = Stage(fake_snakemake(tmp_path, inputs, {}))
    assert used.device == "cuda"
    with used.output_dir():
        pass
    assert read_json(Path(used.output[0]) / "provenance.json")["device"] == "cuda"


def test_dataset_is_the_one_the_index_input_records(tmp_path, small_voc, monkeypatch):
    from ncdss_core.data.datasets import open_dataset
    from ncdss_core.data.index import index_dataset

    index = tmp_path / "results" / "dataset"
    index.mkdir(parents=True)
    index_dataset(open_dataset("voc", small_voc), index)
    write_provenance(index, stage="index_dataset", params={}, inputs={})
    stage = Stage(fake_snakemake(tmp_path, named(dataset=str(index)), {}))
    dataset = stage.dataset()
    assert dataset.kind == "voc" and dataset.root == small_voc
    assert dataset.ids("val") == open_dataset("voc", small_voc).ids("val")
