"""The vectorised metrics equal scikit-learn's with ``sample_weight`` = bootstrap counts."""

import numpy as np
import pytest
from sklearn import metrics

from skcovid.metrics._weighted import BINARY_METRICS, ScoreBins, binary_metrics

SKLEARN = {
    "accuracy": lambda y, p, s, w: metrics.accuracy_score(y, p, sample_weight=w),
    "balanced_accuracy": lambda y, p, s, w: metrics.balanced_accuracy_score(y, p, sample_weight=w),
    "sensitivity": lambda y, p, s, w: metrics.recall_score(y, p, sample_weight=w),
    "specificity": lambda y, p, s, w: metrics.recall_score(y, p, pos_label=0, sample_weight=w),
    "ppv": lambda y, p, s, w: metrics.precision_score(y, p, sample_weight=w),
    "npv": lambda y, p, s, w: metrics.precision_score(y, p, pos_label=0, sample_weight=w),
    "f1": lambda y, p, s, w: metrics.f1_score(y, p, sample_weight=w),
    "mcc": lambda y, p, s, w: metrics.matthews_corrcoef(y, p, sample_weight=w),
    "roc_auc": lambda y, p, s, w: metrics.roc_auc_score(y, s, sample_weight=w),
    "pr_auc": lambda y, p, s, w: metrics.average_precision_score(y, s, sample_weight=w),
    "brier": lambda y, p, s, w: metrics.brier_score_loss(y, s, sample_weight=w),
}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_replicate_equals_sklearn_with_sample_weight(seed):
    rng = np.random.RandomState(seed)
    n = 60
    y = rng.randint(2, size=n)
    score = np.round(np.clip(0.35 * y + 0.65 * rng.rand(n), 0, 1), 1)  # many ties
    pred = score >= 0.5
    weights = np.stack([np.bincount(rng.randint(n, size=n), minlength=n) for _ in range(5)])
    values = binary_metrics(weights.astype(float), y == 1, pred, bins=ScoreBins(y == 1, score),
                            squared_error=(score - y) ** 2)
    assert tuple(values) == BINARY_METRICS
    for name, expected in SKLEARN.items():
        for row, w in enumerate(weights):
            assert values[name][row] == pytest.approx(expected(y, pred, score, w)), name


def test_one_class_replicates_are_nan_for_class_metrics():
    y = np.array([1, 0, 1, 0])
    score = np.array([0.9, 0.2, 0.6, 0.4])
    weights = np.array([[1.0, 0.0, 3.0, 0.0]])  # positives only
    values = binary_metrics(weights, y == 1, score >= 0.5, bins=ScoreBins(y == 1, score),
                            squared_error=(score - y) ** 2)
    for name in ("specificity", "balanced_accuracy", "f1", "mcc", "roc_auc", "pr_auc", "npv"):
        assert np.isnan(values[name][0]), name
    assert values["accuracy"][0] == 1.0
    assert values["sensitivity"][0] == 1.0
