"""Folds defined by class list: the fold table every fold lookup reads, the standard folds unchanged."""

import numpy as np
import pytest

from ncdss_core.data import folds
from ncdss_core.data.folds import (
    base_classes,
    custom_folds,
    label_space,
    novel_classes,
    set_custom_folds,
    to_finetune_labels,
    valid_folds,
)


@pytest.fixture(autouse=True)
def no_custom_folds_after():
    yield
    folds._CUSTOM_FOLDS.clear()


def test_a_custom_fold_has_its_classes_sorted_and_the_rest_are_base():
    set_custom_folds("generated", {10: [7, 1, 4], "11": [2, 9, 13, 15, 18, 20, 3, 6]})
    assert novel_classes("generated", 10) == [1, 4, 7]
    assert label_space("generated", 10) == (17, 3)
    assert label_space("voc", 11) == (12, 8)
    assert 1 not in base_classes("generated", 10) and 2 in base_classes("generated", 10)
    assert valid_folds("generated") == (0, 1, 2, 3, 4, 10, 11)
    # novel classes take B+1..B+N in increasing original order
    labels = np.array([1, 4, 7, 2, 0, 255])
    assert to_finetune_labels(labels, "generated", 10).tolist() == [18, 19, 20, 1, 0, 255]


def test_the_standard_folds_are_unchanged_by_custom_ones():
    before = {f: novel_classes("voc", f) for f in range(5)}
    set_custom_folds("voc", {10: [1, 2]})
    assert {f: novel_classes("voc", f) for f in range(5)} == before
    assert before[4] == [8, 10, 12, 13, 17] and before[1] == [6, 7, 8, 9, 10]


def test_an_undefined_fold_is_refused_and_setting_replaces_the_table():
    set_custom_folds("generated", {10: [1, 4, 7]})
    set_custom_folds("generated", {12: [5]})
    assert custom_folds() == {12: [5]}
    with pytest.raises(ValueError, match="fold 10 does not exist .* custom_folds"):
        novel_classes("generated", 10)


def test_an_invalid_table_is_refused_naming_the_key():
    with pytest.raises(ValueError, match=r"custom_folds.3: fold 3 is a standard fold"):
        set_custom_folds("generated", {3: [1]})
    with pytest.raises(ValueError, match=r"custom_folds.10: unknown class id\(s\) 40"):
        set_custom_folds("generated", {10: [40]})
    assert custom_folds() == {}
