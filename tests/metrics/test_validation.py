import numpy as np
import pandas as pd
import pytest

from skcovid.metrics._validation import (
    binary_target,
    check_labels,
    check_same_length,
    check_scores,
    resolve_pos_label,
)


@pytest.mark.parametrize(
    "y, expected",
    [([0, 1, 1], 1), ([-1, 1], 1), ([0.0, 1.0], 1), ([True, False], True), ([0, 0], 1)],
)
def test_pos_label_is_inferred_only_for_standard_labels(y, expected):
    assert resolve_pos_label(np.asarray(y), None) == expected


@pytest.mark.parametrize("y", [["COVID", "Non_COVID"], [1, 2], [0, 2]])
def test_pos_label_must_be_given_otherwise(y):
    with pytest.raises(ValueError, match="pass pos_label, e.g. pos_label="):
        resolve_pos_label(np.asarray(y), None)


def test_pos_label_must_be_a_label():
    with pytest.raises(ValueError, match="pos_label='covid' is not a label of y_true"):
        resolve_pos_label(np.array(["COVID", "Non_COVID"]), "covid")


def test_binary_target():
    is_pos, pos_label = binary_target(np.array(["a", "b", "a"]), "a")
    np.testing.assert_array_equal(is_pos, [True, False, True])
    with pytest.raises(ValueError, match="binarise it"):
        binary_target(np.array([0, 1, 2]), None)
    assert binary_target(np.array([1, 1]), None, need_both=False)[0].all()


def test_check_labels_and_scores():
    np.testing.assert_array_equal(check_labels(pd.Series(["a", "b"]), "y"), ["a", "b"])
    np.testing.assert_array_equal(check_labels(np.array([[1], [0]]), "y"), [1, 0])
    with pytest.raises(ValueError, match="y contains 1 missing"):
        check_labels(np.array(["a", None], dtype=object), "y")
    with pytest.raises(ValueError, match="y is empty"):
        check_labels([], "y")
    with pytest.raises(ValueError, match="one-dimensional"):
        check_labels(np.ones((2, 2)), "y")
    with pytest.raises(ValueError, match="s must hold numbers.*not predicted labels"):
        check_scores(["COVID", "Non_COVID"], "s")
    with pytest.raises(ValueError, match="s contains 1 NaN or infinite"):
        check_scores([0.1, np.inf], "s")
    with pytest.raises(ValueError, match=r"proba\[:, 1\]"):
        check_scores(np.ones((3, 2)), "s")
    assert check_scores(np.ones((3, 2)), "s", allow_2d=True).shape == (3, 2)


def test_check_same_length_names_every_argument():
    with pytest.raises(ValueError, match="a has 2, b has 3"):
        check_same_length(a=[1, 2], b=[1, 2, 3], c=None)
