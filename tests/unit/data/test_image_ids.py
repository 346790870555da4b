"""An image id is a plain file name: one function (`data.files.id_path`) turns an id into a path,
and it refuses every id that could name a file outside its directory. Every reader and writer of
per-image files goes through it, which the source scan at the end keeps true."""

import re
from pathlib import Path

import pytest

from conftest import REPO
from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.files import ImageIdError, id_path, image_id_problem, read_ids
from ncdss_fixtures import make_voc_dataset

HOSTILE = {
    "../../elsewhere/secret": "contains a path separator ('/')",
    "/etc/passwd": "contains a path separator ('/')",
    "..\\..\\secret": "contains a path separator ('\\\\')",
    "a/../../b": "contains a path separator ('/')",
    "..": "is a directory reference",
    ".": "is a directory reference",
    ".hidden": "starts with a dot",
    "-rf": "starts with a dash",
    "a\x00b": "contains the control or invisible character '\\x00' (U+0000)",
    "a\x1b[2J": "contains the control or invisible character '\\x1b' (U+001B)",
    "a\x7f": "contains the control or invisible character '\\x7f' (U+007F)",
    "a\u200bb": "contains the control or invisible character '\\u200b' (U+200B)",
    "\ufeffa": "contains the control or invisible character '\\ufeff' (U+FEFF)",
    "a\u202eb": "contains the control or invisible character '\\u202e' (U+202E)",
    "a\udce9": "is not valid UTF-8 (the byte 0xe9)",
    "a b": "contains whitespace",
    "a\tb": "contains whitespace",
    "": "is empty",
}
PLAIN = ["2007_000032", "COCO_train2014_000000000009", "bm_000000", "img.v2-final+x", "été_1", "写真_01", "_x"]


@pytest.mark.parametrize("image_id", sorted(HOSTILE))
def test_a_hostile_id_is_refused_with_its_repr(image_id, tmp_path):
    assert HOSTILE[image_id] in image_id_problem(image_id)
    with pytest.raises(ImageIdError) as info:
        id_path(tmp_path, image_id, ".png")
    assert str(info.value).startswith(f"id {image_id!r} {HOSTILE[image_id]}")


@pytest.mark.parametrize("image_id", PLAIN)
def test_a_plain_id_names_a_file_in_its_directory(image_id, tmp_path):
    path = id_path(tmp_path, image_id, ".png")
    assert path.parent == tmp_path and path.name == f"{image_id}.png"


def test_the_attack_is_real_without_the_check(tmp_path):
    """What the check stops: the path a naive join builds for `../../elsewhere/secret` is the
    file beside the dataset."""
    root = tmp_path / "voc"
    (root / "images").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.jpg").write_bytes(b"secret")
    naive = root / "images" / "../../elsewhere/secret.jpg"
    assert naive.resolve() == (tmp_path / "elsewhere" / "secret.jpg").resolve() and naive.read_bytes() == b"secret"
    with pytest.raises(ImageIdError):
        id_path(root / "images", "../../elsewhere/secret", ".jpg")


@pytest.mark.parametrize("kind", ["voc", "coco"])
def test_every_dataset_path_refuses_a_hostile_id(kind, tmp_path):
    root = make_voc_dataset(tmp_path / "voc", n_train=2, n_val=1)
    dataset = open_dataset(kind, root)
    for image_id in ("../../elsewhere/secret", "/etc/passwd", "..", "-x", "a\x00b"):
        for method in (lambda i: dataset.image_path(i, "trainaug"), lambda i: dataset.label_path(i, "trainaug"),
                       lambda i: dataset.label_path(i, "val"), dataset.saliency_path, dataset.read_image,
                       dataset.read_label, dataset.has_saliency, dataset.image_labels):
            with pytest.raises(ImageIdError):
                method(image_id)


def test_a_list_written_by_hand_is_read_with_the_same_check(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("bm_000001\n../x\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}:2: id '../x' contains a path separator")):
        read_ids(path)
    path.write_bytes(b"\xef\xbb\xbfbm_000001\r\nbm_000002\r\n")
    assert read_ids(path) == ["bm_000001", "bm_000002"]
    path.write_bytes(b"bm_000001\nbm_00000\xe9\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}:2: not UTF-8 text (byte 0xe9 at byte offset 18)")):
        read_ids(path)


# --- the source: no per-image path is built but through id_path -------------------------------

# `dir / f"{image_id}.png"`, `Path(d, f"{i}.jpg")`, `os.path.join(d, i + ".xml")`, ...
_BUILT_BY_HAND = re.compile(r"""(/\s*f["']\{[^}]+\}\.(png|jpe?g|xml)["'])|(,\s*f["']\{[^}]+\}\.(png|jpe?g|xml)["']\))"""
                            r"""|(\+\s*["']\.(png|jpe?g|xml)["'])""")
SOURCES = sorted(p.relative_to(REPO).as_posix() for folder in ("ncdss_core", "workflow_scripts")
                 for p in (REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("source", SOURCES)
def test_no_per_image_path_is_built_by_hand(source):
    lines = [f"{source}:{n}: {line.strip()}" for n, line in enumerate((REPO / source).read_text().splitlines(), 1)
             if _BUILT_BY_HAND.search(line)]
    assert lines == [], "build per-image paths with ncdss_core.data.files.id_path:\n" + "\n".join(lines)
