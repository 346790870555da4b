"""The dataset artifact: written once from the dataset, opened again by every later stage."""

import shutil

from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.index import INDEX, MANIFEST, SCAN, index_dataset, open_indexed_dataset, read_index
from ncdss_core.io.atomic import read_json
from ncdss_core.provenance.record import write_provenance


def test_index_then_open_from_a_moved_working_directory(small_voc, tmp_path, monkeypatch):
    work = tmp_path / "work"
    shutil.copytree(small_voc, work / "data" / "voc")
    monkeypatch.chdir(work)
    index = work / "results" / "dataset"
    index.mkdir(parents=True)
    summary = index_dataset(open_dataset("voc", "data/voc"), index)
    write_provenance(index, stage="index_dataset", params={}, inputs={}, artifact_path="results/dataset")
    assert {p.name for p in index.iterdir()} == {INDEX, MANIFEST, SCAN, "provenance.json"}
    assert summary["splits"]["trainaug"]["images"] == 24
    assert read_json(index / MANIFEST)["root"] == "data/voc"  # as configured, relative
    assert len(read_index(index)) == 32
    # the whole tree moves; the relative root is found from the index's own record
    moved = tmp_path / "moved"
    shutil.move(str(work), moved)
    monkeypatch.chdir(tmp_path)
    dataset = open_indexed_dataset(moved / "results" / "dataset")
    assert dataset.kind == "voc" and dataset.root == moved / "data" / "voc"
    assert dataset.read_image(dataset.ids("trainaug")[0]).ndim == 3
