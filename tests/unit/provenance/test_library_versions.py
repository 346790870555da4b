"""Every library that writes artifact bytes is in each provenance record, and `ncdss diff` names a
change of its version: Pillow (and its libjpeg-turbo and zlib-ng, which encode every PNG and JPEG),
h5py and its HDF5 (the shards), matplotlib (the report's figures)."""

import importlib.metadata

import pytest

import ncdss_core.provenance.record as record_module
from ncdss_core.cli import main as cli
from ncdss_core.io.atomic import read_json
from ncdss_core.provenance.record import library_versions, write_provenance

WRITERS = ("pillow", "h5py", "matplotlib", "numpy", "torch", "opencv-python-headless")


def test_the_record_names_every_library_that_writes_artifact_bytes(tmp_path):
    (tmp_path / "a").mkdir()
    write_provenance(tmp_path / "a", stage="demo", params={}, inputs={})
    libraries = read_json(tmp_path / "a" / "provenance.json")["libraries"]
    for name in WRITERS:
        assert libraries[name] == importlib.metadata.version(name), name
    from PIL import features

    assert libraries["pillow.libjpeg_turbo"] == features.version("libjpeg_turbo")
    assert libraries["pillow.zlib_ng"] == features.version("zlib_ng")
    assert libraries["pillow.zlib"] == features.version("zlib")
    import h5py

    assert libraries["h5py.hdf5"] == h5py.version.hdf5_version


@pytest.mark.parametrize("name", ["pillow", "pillow.zlib_ng", "h5py.hdf5"])
def test_diff_names_a_changed_version(name, tmp_path, monkeypatch, capsys):
    for which, version in (("a", None), ("b", "0.0.1")):
        (tmp_path / which).mkdir()
        (tmp_path / which / "x.png").write_bytes(b"same bytes")
        versions = dict(library_versions())
        if version is not None:
            versions[name] = version
        monkeypatch.setattr(record_module, "library_versions", lambda v=versions: v)
        write_provenance(tmp_path / which, stage="demo", params={}, inputs={})
    assert cli(["diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    out = capsys.readouterr().out
    assert f"(artifact) [demo] libraries.{name}: {library_versions()[name]!r} -> '0.0.1'" in out
