import warnings

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from skcovid.metrics import (
    ThresholdResult,
    threshold_for_sensitivity,
    threshold_for_specificity,
    youden_threshold,
)

RNG = np.random.RandomState(0)
Y = RNG.randint(2, size=200)
SCORE = np.round(Y * 0.4 + RNG.rand(200), 2)


def _rates(threshold):
    pred = SCORE >= threshold
    return pred[Y == 1].mean(), 1 - pred[Y == 0].mean()


def test_youden_matches_roc_curve():
    result = youden_threshold(Y, SCORE, n_bootstraps=200, random_state=0)
    fpr, tpr, thresholds = roc_curve(Y, SCORE)
    assert result.sensitivity + result.specificity - 1 == pytest.approx(np.max(tpr - fpr))
    assert (result.sensitivity, result.specificity) == pytest.approx(_rates(result.threshold))
    assert isinstance(result, ThresholdResult) and result.criterion == "youden"


@pytest.mark.parametrize("target", [0.5, 0.8, 0.95, 1.0])
def test_threshold_for_sensitivity_is_the_largest_meeting_target(target):
    result = threshold_for_sensitivity(Y, SCORE, target, n_bootstraps=100, random_state=0)
    sens, spec = _rates(result.threshold)
    assert sens >= target and (result.sensitivity, result.specificity) == pytest.approx((sens, spec))
    higher = np.unique(SCORE[SCORE > result.threshold])
    assert higher.size == 0 or _rates(higher[0])[0] < target


@pytest.mark.parametrize("target", [0.5, 0.9, 1.0])
def test_threshold_for_specificity_is_the_smallest_meeting_target(target):
    result = threshold_for_specificity(Y, SCORE, target, n_bootstraps=100, random_state=0)
    if np.isinf(result.threshold):
        assert result.sensitivity == 0 and result.specificity == 1
        assert _rates(SCORE.max())[1] < target
        return
    sens, spec = _rates(result.threshold)
    assert spec >= target and result.sensitivity == pytest.approx(sens)
    lower = np.unique(SCORE[SCORE < result.threshold])
    assert lower.size == 0 or _rates(lower[-1])[1] < target


def test_bootstrap_intervals_bracket_the_operating_point():
    result = youden_threshold(Y, SCORE, n_bootstraps=500, random_state=1)
    assert result.sensitivity_ci[0] <= result.sensitivity <= result.sensitivity_ci[1]
    assert result.specificity_ci[0] <= result.specificity <= result.specificity_ci[1]
    assert result.threshold_ci[0] <= result.threshold_ci[1]
    assert result.n_bootstraps == 500
    patients = np.repeat(np.arange(100), 2)
    grouped = youden_threshold(Y, SCORE, groups=patients, n_bootstraps=200, random_state=1)
    assert grouped.threshold == result.threshold


def test_string_labels_and_errors():
    labels = np.where(Y == 1, "COVID", "Non_COVID")
    result = threshold_for_sensitivity(labels, SCORE, 0.9, pos_label="COVID", n_bootstraps=50)
    assert result.sensitivity >= 0.9
    with pytest.raises(ValueError, match="pos_label"):
        youden_threshold(labels, SCORE, n_bootstraps=50)
    with pytest.raises(ValueError, match="'target' parameter"):
        threshold_for_sensitivity(Y, SCORE, 1.5)
    with pytest.raises(ValueError, match="only one class"):
        youden_threshold(np.ones(5), np.arange(5.0))


def test_threshold_ci_with_infinite_replicates():
    """Replicates that choose 'nobody positive' (inf) give an inf bound, not NaN."""
    y, score = [0, 0, 1, 1], [0.1, 0.9, 0.2, 0.8]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from inf - inf
        result = youden_threshold(y, score, n_bootstraps=300, random_state=0)
    low, high = result.threshold_ci
    assert not np.isnan(low) and high == np.inf
    assert low in {0.1, 0.2, 0.8, 0.9}  # a replicate's threshold, not an interpolation
    assert "threshold=0.2,\n    sensitivity=1.0," in repr(result)
