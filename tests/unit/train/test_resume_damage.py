"""A damaged, foreign or other run's resume file is said so in the job's log, set aside (renamed,
never deleted), and the training starts over to the bytes of a run that was never interrupted; a
rerun does not crash on it again and again (a crash loop under Slurm requeue)."""

import logging

import pytest
import torch

from test_resume import EPOCHS, Stop, run, without_seconds

from ncdss_core.train.resume import MAGIC, ResumeFile


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _plain_torch_file(path):
    torch.save({"state_dict": {"w": torch.zeros(3)}}, path)


def _not_torch(path):
    path.write_bytes(b"not a checkpoint at all\n")


def _header_only(path):
    path.write_bytes(MAGIC)


DAMAGE = {
    "truncated to half": (_truncate, "damaged", "does not match its checksum"),
    "one byte flipped": (_flip_a_byte, "damaged", "does not match its checksum"),
    "header only": (_header_only, "damaged", "does not match its checksum"),
    "a plain torch checkpoint": (_plain_torch_file, "foreign", "is not a resume file of this workflow"),
    "text": (_not_torch, "foreign", "is not a resume file of this workflow"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_resume_file_is_set_aside_and_the_run_starts_over(damage, tmp_path, caplog):
    make, reason, said = DAMAGE[damage]
    model, _, result = run(None)  # the uninterrupted run
    resume = ResumeFile(tmp_path / ".model.resume", key="run-a")
    with pytest.raises(Stop):
        run(resume, stop_at=(2, 1))
    make(resume.path)
    original = resume.path.read_bytes()
    with caplog.at_level(logging.INFO, logger="ncdss"):
        again, _, again_result = run(resume)
    aside = tmp_path / f".model.resume.{reason}"
    assert aside.read_bytes() == original, "the damaged file was not kept as it was"
    line = next(r.getMessage() for r in caplog.records if "set aside" in r.getMessage())
    assert f"resume file {resume.path}" in line and said in line and f"set aside as {aside.name}" in line
    assert "training starts from the first epoch" in line
    assert len(again_result.history) == EPOCHS
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in model.state_dict().items())
    assert without_seconds(result.history) == without_seconds(again_result.history)


def test_the_resume_file_of_another_run_is_set_aside_not_deleted(tmp_path, caplog):
    resume = ResumeFile(tmp_path / ".model.resume", key="run-a")
    with pytest.raises(Stop):
        run(resume, stop_at=(2, 0))
    with caplog.at_level(logging.INFO, logger="ncdss"):
        assert ResumeFile(resume.path, key="run-b").load() is None
    assert "belongs to another run" in caplog.text
    aside = tmp_path / ".model.resume.other-run"
    assert not resume.path.exists() and ResumeFile(aside, key="run-a").load()["history"]


def test_a_second_damaged_file_does_not_replace_the_first_set_aside(tmp_path):
    resume = ResumeFile(tmp_path / ".model.resume", key="k")
    for n in range(3):
        resume.path.write_bytes(b"junk %d" % n)
        assert resume.load() is None
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".model.resume.foreign", ".model.resume.foreign.1", ".model.resume.foreign.2"]
    assert (tmp_path / ".model.resume.foreign").read_bytes() == b"junk 0"


def test_a_saved_state_reads_back(tmp_path):
    resume = ResumeFile(tmp_path / "r", key="k")
    resume.save({"x": torch.arange(5)})
    assert resume.path.read_bytes().startswith(MAGIC)
    assert torch.equal(resume.load()["x"], torch.arange(5))


def test_a_checksummed_payload_that_torch_cannot_read_is_damaged(tmp_path):
    import hashlib

    payload = b"\x80\x04junk"
    path = tmp_path / ".model.resume"
    path.write_bytes(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    assert ResumeFile(path, key="k").load() is None
    assert (tmp_path / ".model.resume.damaged").is_file() and not path.exists()


class _RunsCode:
    """Pickles as a call of `pathlib.Path.touch`: loading it with plain pickle would create a file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        import pathlib

        return pathlib.Path.touch, (pathlib.Path(self.target),)


def test_a_checksummed_payload_with_pickled_code_is_set_aside_and_never_run(tmp_path):
    import hashlib
    import io

    witness = tmp_path / "code-ran"
    buffer = io.BytesIO()
    torch.save({"key": "k", "state": {"x": _RunsCode(witness)}}, buffer)
    payload = buffer.getvalue()
    path = tmp_path / ".model.resume"
    path.write_bytes(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    assert ResumeFile(path, key="k").load() is None
    assert not witness.exists(), "reading the resume file ran the code pickled in it"
    assert (tmp_path / ".model.resume.damaged").is_file() and not path.exists()


def test_a_checkpoint_with_pickled_code_is_refused_by_name_and_never_run(tmp_path):
    from ncdss_core.models.segmodel import load_checkpoint
    from ncdss_core.weak.infer import load_model

    witness = tmp_path / "code-ran"
    path = tmp_path / "model.pt"
    torch.save({"spec": {}, "state_dict": {}, "config": _RunsCode(witness)}, path)
    for load in (load_checkpoint, load_model):
        with pytest.raises(ValueError, match=rf"{path}: refused, it holds more than tensors"):
            load(path)
    assert not witness.exists(), "reading the checkpoint ran the code pickled in it"
