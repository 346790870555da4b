"""The progress log of the long loops: one line per interval and one after the last item, in the
job's log (Slurm's and the rule's `log:` are files, not terminals)."""

import logging

import pytest

from ncdss_core import runtime
from ncdss_core.runtime import progress


@pytest.fixture
def clock(monkeypatch):
    """A monotonic clock the test moves: each read returns the current `now[0]`."""
    now = [100.0]
    monkeypatch.setattr(runtime.time, "monotonic", lambda: now[0])
    return now


def run(items, clock, seconds_per_item, caplog, **kwargs):
    logger = logging.getLogger("test.progress")
    with caplog.at_level(logging.INFO, logger="test.progress"):
        out = []
        for item in progress(items, label="work", logger=logger, every_seconds=10, **kwargs):
            clock[0] += seconds_per_item
            out.append(item)
    return out, [r.getMessage() for r in caplog.records]


def test_one_line_per_interval_and_one_after_the_last_item(clock, caplog):
    items, lines = run(list(range(10)), clock, 4.0, caplog)
    assert items == list(range(10))
    # 4 s per item, 10 s interval: after items 3, 6 and 9 (12 s each), and after the 10th
    assert lines == ["work 3/10, elapsed 12s, ETA 28s", "work 6/10, elapsed 24s, ETA 16s",
                     "work 9/10, elapsed 36s, ETA 4s", "work 10/10, elapsed 40s, ETA 0s"]


def test_a_quick_loop_logs_only_its_end(clock, caplog):
    _, lines = run(range(5), clock, 0.5, caplog)
    assert lines == ["work 5/5, elapsed 2s, ETA 0s"]


def test_without_a_length_it_counts_and_gives_no_eta(clock, caplog):
    _, lines = run(iter(range(5)), clock, 6.0, caplog)
    assert lines == ["work 2, elapsed 12s", "work 4, elapsed 24s"]
    _, lines = run(iter(range(3)), clock, 6.0, caplog, total=3)
    assert lines[-1] == "work 3/3, elapsed 18s, ETA 0s"
