"""A full disk names the file and the artifact; a killed run's temporary builds are removed when
the job starts again. Writes fail for real: through /dev/full, which answers every write with
ENOSPC, as a full file system does."""

import errno
import os
from pathlib import Path

import pytest
from snakemake.iocontainers import Namedlist

import ncdss_core.io.atomic as atomic
from ncdss_core.data.files import write_label_png
from ncdss_core.io.atomic import atomic_write_bytes, stale_temporaries
from ncdss_core.runtime import setup_logging
from ncdss_core.stage import Stage
from ncdss_core.train.resume import ResumeFile

from test_stage import artifact, fake_snakemake, named

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")


@pytest.fixture(autouse=True)
def close_logs():
    yield
    setup_logging()


@pytest.fixture
def full_disk(monkeypatch):
    """Call it to send every later atomic write to /dev/full (its temporary file is still made,
    and removed)."""
    real = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        os.close(fd)
        return real(os.open("/dev/full", os.O_WRONLY), mode, *args, **kwargs)

    return lambda: monkeypatch.setattr(atomic.os, "fdopen", fdopen)


def test_a_write_on_a_full_disk_names_its_file(tmp_path, full_disk):
    full_disk()
    with pytest.raises(OSError) as info:
        write_label_png(tmp_path / "labels" / "a.png", [[0, 1], [1, 0]])
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "labels" / "a.png")
    assert str(info.value) == f"[Errno 28] No space left on device: '{tmp_path / 'labels' / 'a.png'}'"
    assert list((tmp_path / "labels").iterdir()) == []  # no temporary file left


def test_a_stage_on_a_full_disk_names_the_file_and_the_artifact(tmp_path, full_disk):
    smk = fake_snakemake(tmp_path, named(data=str(artifact(tmp_path / "in"))), {"seed": 1}, rule="demo")
    stage = Stage(smk)
    output = smk.output[0]
    full_disk()
    with pytest.raises(OSError) as info:
        with stage.output_dir() as build:
            atomic_write_bytes(build / "model.pt", b"weights", fsync=False)
    message = str(info.value)
    assert message.startswith(f"[Errno 28] No space left on device (writing artifact {output} of rule demo): ")
    assert message.endswith("/model.pt'") and f"/.{Path(output).name}." in message
    assert not Path(output).exists() and stale_temporaries(output) == []


def test_a_write_that_names_no_file_names_the_directory_being_built(tmp_path):
    """h5py and PIL raise ENOSPC with no file name: the build directory stands for it."""
    smk = fake_snakemake(tmp_path, named(data=str(artifact(tmp_path / "in"))), {})
    stage = Stage(smk)
    with pytest.raises(OSError) as info:
        with stage.output_dir():
            raise OSError(errno.ENOSPC, "No space left on device")
    assert f"(writing artifact {smk.output[0]} of rule demo): '{Path(smk.output[0]).parent}/." in str(info.value)


def test_other_errors_pass_unchanged(tmp_path):
    smk = fake_snakemake(tmp_path, named(data=str(artifact(tmp_path / "in"))), {})
    stage = Stage(smk)
    with pytest.raises(FileNotFoundError) as info:
        with stage.output_dir():
            open(tmp_path / "missing.txt")
    assert "writing artifact" not in str(info.value)


def test_a_resume_file_on_a_full_disk_names_the_artifact(tmp_path, full_disk):
    resume = ResumeFile(tmp_path / ".model.resume", "key", artifact="results/x/model")
    full_disk()
    with pytest.raises(OSError) as info:
        resume.save({"epoch": 1})
    assert str(info.value) == (f"[Errno 28] No space left on device (saving the resume file of artifact "
                               f"results/x/model): '{tmp_path / '.model.resume'}'")


def test_a_killed_runs_temporary_builds_are_removed_when_the_job_starts(tmp_path):
    smk = fake_snakemake(tmp_path, named(data=str(artifact(tmp_path / "in"))), {})
    out = Path(smk.output[0])
    out.parent.mkdir(parents=True)
    killed = [out.parent / f".{out.name}.ab12cd_9.tmp", out.parent / f"..{out.name}.resume.zz99yy88.tmp"]
    killed[0].mkdir()
    (killed[0] / "model.pt").write_bytes(b"half")
    killed[1].write_bytes(b"half")
    # not this output's: another output whose name starts alike, a set-aside resume file
    others = [out.parent / f".{out.name}.x.ab12cd_9.tmp", out.parent / f".{out.name}.resume.damaged"]
    for path in others:
        path.write_bytes(b"keep")
    Stage(smk)
    assert not any(p.exists() for p in killed)
    assert all(p.exists() for p in others)
    log = Path(smk.log[0]).read_text()
    assert f"removed {killed[0]}, left by a killed run of this job" in log
