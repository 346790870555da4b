"""A hostile list file through the tiny DAG: an id that points outside the dataset (`../../elsewhere/
secret`, an absolute path, a NUL) is refused by the config check, before any job, with the list
file, the line and the id (its repr) named; and nothing outside the dataset root and the run's
results/ is read or written.

How the test knows: secret.jpg and secret.png lie where the id points (beside the dataset) so that
a stage that built the path would find real files; inotify watches the directories outside the
dataset and the work dir (every open, read, write, create, delete, rename or attribute change,
by any process) and must see no event while snakemake runs, after a calibration that shows it sees
one; and every file under the test's directory (dataset, elsewhere, work dir) has the same size,
mtime and sha256 afterwards, with no results/ or logs/ made in the work dir."""

from __future__ import annotations

import ctypes
import hashlib
import os
import struct
from pathlib import Path

import pytest

from bad_input import voc_copy
from test_bad_input_workflow import overlay
from workflow_helpers import snakemake

pytestmark = pytest.mark.workflow

_IN_ACCESS, _IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE, _IN_OPEN = 0x1, 0x2, 0x4, 0x8, 0x20
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_EVERYTHING = (_IN_ACCESS | _IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_OPEN | _IN_MOVED_FROM
               | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE)
_WRITES = _IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE


class Watch:
    """inotify on some directories (not recursive): the events since the last `events()`."""

    def __init__(self, directories: dict[Path, int]):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            pytest.skip("inotify is not available")
        self.names = {}
        for directory, mask in directories.items():
            wd = self.libc.inotify_add_watch(self.fd, os.fsencode(directory), mask)
            assert wd >= 0, directory
            self.names[wd] = directory

    def events(self) -> list[str]:
        out = []
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return out
            i = 0
            while i < len(data):
                wd, mask, _, length = struct.unpack_from("iIII", data, i)
                name = data[i + 16:i + 16 + length].rstrip(b"\0").decode(errors="replace")
                out.append(f"{self.names.get(wd)}/{name}: mask {mask:#x}")
                i += 16 + length

    def close(self) -> None:
        os.close(self.fd)


def snapshot(top: Path) -> dict[str, tuple]:
    """Every file and directory under `top`: size, mtime and sha256 (files), entries (directories)."""
    out = {}
    for path in sorted(top.rglob("*")):
        rel = path.relative_to(top).as_posix()
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            out[rel] = ("dir", sorted(p.name for p in path.iterdir()))
        else:
            stat = path.stat()
            out[rel] = ("file", stat.st_size, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


@pytest.mark.parametrize("hostile", ["../../elsewhere/secret", "ABSOLUTE", "bm_000001\x00../../elsewhere/secret"])
def test_a_hostile_id_is_refused_before_any_job_and_nothing_outside_is_touched(hostile, tiny_dataset, tmp_path):
    root = voc_copy(tiny_dataset, tmp_path / "data" / "voc")
    elsewhere = tmp_path / "data" / "elsewhere"  # where images/../../elsewhere/secret.jpg points
    elsewhere.mkdir()
    victim = (root / "sets" / "trainaug.txt").read_text().split()[0]
    (elsewhere / "secret.jpg").write_bytes((root / "images" / f"{victim}.jpg").read_bytes())
    (elsewhere / "secret.png").write_bytes((root / "SegmentationClassAug" / f"{victim}.png").read_bytes())
    hostile = str(elsewhere / "secret") if hostile == "ABSOLUTE" else hostile
    assert (root / "images" / f"{hostile.split(chr(0))[-1]}.jpg").resolve() == elsewhere / "secret.jpg" \
        or hostile.startswith("/"), "the id does not point at the secret"
    lists = root / "sets" / "trainaug.txt"
    lines = lists.read_text().splitlines()
    lists.write_text("\n".join(lines + [hostile]) + "\n")
    line = len(lines) + 1
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "config").mkdir()
    config = overlay(tmp_path / "config", dataset={"kind": "voc", "root": str(root)},
                     weak={"model": {"init": "random"}})

    # beside the dataset (where the id points): anything at all; the dataset and the test's
    # directory: any write
    watched = {tmp_path / "data": _EVERYTHING, elsewhere: _EVERYTHING, tmp_path: _WRITES}
    watched.update({d: _WRITES for d in [root, *(p for p in root.rglob("*") if p.is_dir())]})
    before = snapshot(tmp_path)
    watch = Watch(watched)
    try:
        (elsewhere / "secret.jpg").read_bytes()  # calibration: the watch sees a read
        assert any("secret.jpg" in event for event in watch.events()), "inotify saw no read"
        done = snakemake(work, "--cores", "2", configfile=config, check=False)
        events = watch.events()
    finally:
        watch.close()

    assert done.returncode == 1
    refusal = f"config key dataset.root: {lists}:{line}: id {hostile!r} "
    assert refusal in done.stderr, done.stderr[-3000:]
    assert events == [], events  # no read, write or listing of anything outside the dataset and work dir
    after = snapshot(tmp_path)
    made = sorted(set(after) - set(before))
    assert all(p.startswith("work/.snakemake") for p in made), made  # Snakemake's own state only
    assert {k: v for k, v in after.items() if not k.startswith("work")} == \
        {k: v for k, v in before.items() if not k.startswith("work")}
    assert not (work / "results").exists() and not (work / "logs").exists()
