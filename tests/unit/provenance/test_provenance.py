import json
from pathlib import Path

import numpy as np
import pytest

from ncdss_core.provenance.audit import audit, diff, format_chain
from ncdss_core.cli import main as cli
from ncdss_core.io.atomic import atomic_directory, read_json
from ncdss_core.data.files import write_label_png
from ncdss_core.provenance.record import PROVENANCE, record_digest, write_provenance


def _artifact(path: Path, stage: str, params: dict, inputs: dict, payload: dict[str, bytes]) -> Path:
    with atomic_directory(path) as build:
        for name, data in payload.items():
            (build / name).write_bytes(data)
        write_provenance(build, stage=stage, params=params, inputs=inputs, artifact_path=path, seed=1)
    return path


@pytest.fixture
def chain(tmp_path):
    """data -> model -> labels, each with provenance."""
    data = _artifact(tmp_path / "data", "index_dataset", {"kind": "voc"}, {}, {"index.csv": b"id\nx\n"})
    model = _artifact(tmp_path / "model", "train_base", {"lr": 0.1, "epochs": 3}, {"dataset": data},
                      {"model.pt": b"weights"})
    labels = tmp_path / "labels"
    with atomic_directory(labels) as build:
        write_label_png(build / "a.png", np.ones((4, 5), dtype=np.uint8))
        write_label_png(build / "b.png", np.zeros((4, 5), dtype=np.uint8))
        write_provenance(build, stage="pseudo_labels", params={"k": 10}, inputs={"model": model},
                         artifact_path=labels, metrics={"novel_miou": 0.5})
    return data, model, labels


def _problems(path):
    return [p for node in audit(path).walk() for p in node.problems]


def test_record_contents(chain):
    _, model, _ = chain
    record = read_json(model / PROVENANCE)
    assert record["stage"] == "train_base"
    assert record["params"] == {"epochs": 3, "lr": 0.1}
    assert set(record["output"]["files"]) == {"model.pt"}
    assert record["inputs"]["dataset"]["provenance"].endswith("data/provenance.json")
    assert record["code"]["package"] and "torch" in record["libraries"]
    assert record["record_digest"] == record_digest(record)


def test_clean_chain_verifies_and_prints_every_stage(chain):
    _, _, labels = chain
    assert _problems(labels) == []
    text = format_chain(audit(labels))
    for stage in ("pseudo_labels", "train_base", "index_dataset"):
        assert stage in text
    assert "k=10" in text and "lr=0.1" in text


def test_edited_png_is_detected(chain):
    _, _, labels = chain
    write_label_png(labels / "a.png", np.full((4, 5), 2, dtype=np.uint8))
    problems = _problems(labels)
    assert any("a.png: content changed" in p for p in problems)


def test_edited_model_is_detected_from_downstream(chain):
    _, model, labels = chain
    (model / "model.pt").write_bytes(b"other weights")
    problems = _problems(labels)
    assert any("input model" in p and "changed" in p for p in problems)
    assert any("model.pt: content changed" in p for p in problems)


def test_edited_recorded_param_is_detected(chain):
    _, model, labels = chain
    record = read_json(model / PROVENANCE)
    record["params"]["lr"] = 0.01
    (model / PROVENANCE).write_text(json.dumps(record))
    problems = _problems(labels)
    assert any("record was edited" in p for p in problems)


def test_added_file_is_detected(chain):
    _, _, labels = chain
    (labels / "extra.png").write_bytes(b"x")
    assert any("extra.png: file not recorded" in p for p in _problems(labels))


def test_cli_audit_exit_codes(chain, capsys):
    _, model, labels = chain
    assert cli(["audit", str(labels)]) == 0
    assert "history verified" in capsys.readouterr().out
    (model / "model.pt").write_bytes(b"tampered")
    assert cli(["audit", str(labels)]) == 1


def test_diff_names_changed_params_and_outputs(tmp_path):
    data = _artifact(tmp_path / "data", "index_dataset", {"kind": "voc"}, {}, {"index.csv": b"id\n"})
    m1 = _artifact(tmp_path / "m1", "train_base", {"lr": 0.1}, {"dataset": data}, {"model.pt": b"1"})
    m2 = _artifact(tmp_path / "m2", "train_base", {"lr": 0.2}, {"dataset": data}, {"model.pt": b"2"})
    l1 = _artifact(tmp_path / "l1", "pseudo_labels", {"k": 10}, {"model": m1}, {"a.png": b"a"})
    l2 = _artifact(tmp_path / "l2", "pseudo_labels", {"k": 10}, {"model": m2}, {"a.png": b"b"})
    lines = diff(l1, l2)
    assert any("model [train_base] params.lr: 0.1 -> 0.2" in line for line in lines)
    assert any("(artifact) [pseudo_labels] output: 1 of 1 files differ" in line for line in lines)
    assert not any("params.k" in line for line in lines)
    assert diff(l1, l1) == []
    assert cli(["diff", str(l1), str(l1)]) == 0


def test_record_names_the_cpu_and_diff_shows_another_instruction_set(tmp_path):
    import torch  # the training stages' kernels: the record names the instruction set they ran on

    data = _artifact(tmp_path / "data", "index_dataset", {"kind": "voc"}, {}, {"index.csv": b"id\n"})
    m1 = _artifact(tmp_path / "m1", "train_base", {"lr": 0.1}, {"dataset": data}, {"model.pt": b"1"})
    m2 = _artifact(tmp_path / "m2", "train_base", {"lr": 0.1}, {"dataset": data}, {"model.pt": b"2"})
    cpu = read_json(m1 / PROVENANCE)["cpu"]
    assert cpu["kernels"] == torch.backends.cpu.get_cpu_capability()
    assert isinstance(cpu["model"], str) and cpu["model"]
    # the same config and seed on a machine whose kernels differ: the diff says so beside the outputs
    record = read_json(m2 / PROVENANCE)
    record["cpu"]["kernels"] = "OTHER" if cpu["kernels"] != "OTHER" else "AVX2"
    record["record_digest"] = record_digest(record)
    (m2 / PROVENANCE).write_text(json.dumps(record))
    lines = diff(m1, m2)
    assert any(f"cpu.kernels: {cpu['kernels']!r} -> {record['cpu']['kernels']!r}" in line for line in lines), lines
    assert not any("params." in line for line in lines)


def test_failed_build_leaves_nothing(tmp_path):
    target = tmp_path / "art"
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as build:
            (build / "half.png").write_bytes(b"x")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_leftover_of_a_killed_build_is_removed_by_the_next_build(tmp_path):
    stale = tmp_path / ".art.abc123.tmp"
    stale.mkdir()
    (stale / "half.png").write_bytes(b"x")
    with atomic_directory(tmp_path / "art") as build:
        (build / "done.txt").write_text("ok")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_external_input_is_verified_by_digest_without_a_record(tmp_path, capsys):
    weights = tmp_path / "external" / "trunk.pt"
    weights.parent.mkdir()
    weights.write_bytes(b"pretrained")
    model = _artifact(tmp_path / "model", "train_icd", {}, {"weights": weights}, {"model.pt": b"m"})
    assert _problems(model) == []
    assert cli(["audit", str(model)]) == 0
    assert f"weights: external file  {weights}" in capsys.readouterr().out
    weights.write_bytes(b"other")
    assert any("input weights" in p and "changed since" in p for p in _problems(model))
