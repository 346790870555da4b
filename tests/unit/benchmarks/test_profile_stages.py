"""benchmarks/profile_stages.py: exclusive part timers, patching that puts everything back, and a
short run of a few stages on the tiny generated dataset whose figures and output digests a second
run can be compared with."""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import profile_stages as ps  # noqa: E402


def test_parts_are_exclusive_and_patching_puts_everything_back():
    ticks = iter(range(100))
    parts = ps.Parts(lambda: float(next(ticks)))
    module = types.SimpleNamespace(inner=lambda: None)

    class Thing:
        def method(self):
            return module.inner()

    thing = Thing()
    original_inner = module.inner
    with ps.patched(parts, [(module, "inner", "inner"), (Thing, "method", "method")]):
        with parts.part("outer"):
            thing.method()
    # clock: outer 0, method 1, inner 2..3, method ends 4, outer ends 5
    assert parts.totals == {"inner": 1.0, "method": 2.0, "outer": 2.0}
    assert module.inner is original_inner and "method" in Thing.__dict__ and thing.method.__func__ is Thing.method
    assert not hasattr(Thing.method, "__wrapped__")
    with ps.patched(parts, [(thing, "method", "instance")]):
        assert "method" in thing.__dict__
    assert "method" not in thing.__dict__


def test_merge_takes_medians_and_refuses_different_outputs():
    run = lambda ms, digest="d": {"argv": [], "stages": {"base": {"ms": ms, "total_ms": sum(ms.values()),  # noqa: E731
                                                                  "repeats": 3, "digest": digest}}}
    merged = ps.merge_runs([run({"a": 1.0, "b": 4.0}), run({"a": 3.0}), run({"a": 2.0, "b": 6.0})])
    assert merged["stages"]["base"]["ms"] == {"a": 2.0, "b": 4.0} and merged["stages"]["base"]["total_ms"] == 6.0
    try:
        ps.merge_runs([run({"a": 1.0}), run({"a": 1.0}, digest="other")])
    except ValueError as error:
        assert "different outputs" in str(error)
    else:
        raise AssertionError("runs with different outputs were merged")


@pytest.fixture
def process_state():
    """main() sets up the process as a job (threads, deterministic mode): put it back afterwards."""
    threads, omp = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    deterministic, fill = torch.are_deterministic_algorithms_enabled(), torch.utils.deterministic.fill_uninitialized_memory
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)
    torch.utils.deterministic.fill_uninitialized_memory = fill
    if omp is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = omp


def test_a_short_profile_runs_and_a_second_run_makes_the_same_outputs(tiny_dataset, tmp_path, capsys, process_state):
    args = ["--root", str(tiny_dataset), "--work", str(tmp_path / "work"), "--stages", "base,selection,base_removal",
            "--iterations", "1", "--images", "2", "--warmup", "0", "--repeats", "1"]
    ps.main(args + ["--json", str(tmp_path / "one.json")])
    first = json.loads((tmp_path / "one.json").read_text())["stages"]
    assert set(first) == {"base", "selection", "base_removal"}
    assert first["base"]["ms"]["backward"] > 0 and "model forward: backbone" in first["selection"]["ms"]
    capsys.readouterr()
    ps.main(args + ["--compare", str(tmp_path / "one.json")])
    out = capsys.readouterr().out
    assert out.count(": identical.") == 3 and "| base_model |" in out
