"""Significance tests and estimator comparison.

Paired tests on predictions of two models on the same samples
(:func:`mcnemar_test`, :func:`delong_test`), tests of two learning algorithms by
resampling (:func:`paired_ttest_5x2cv`, :func:`combined_ftest_5x2cv`,
:func:`corrected_resampled_ttest`), several models (:func:`friedman_test`,
:func:`compare_estimators`, :func:`adjust_pvalues`) and seed-to-seed variability of one
model (:func:`repeated_runs`, which is not a model comparison).
"""

from ._compare import ComparisonResult, compare_estimators
from ._cv_tests import (
    CorrectedTTestResult,
    FiveByTwoResult,
    combined_ftest_5x2cv,
    corrected_resampled_ttest,
    paired_ttest_5x2cv,
)
from ._delong import DeLongResult, auc_ci, delong_roc_variance, delong_test
from ._friedman import FriedmanResult, friedman_test
from ._mcnemar import McNemarResult, mcnemar_test
from ._multitest import adjust_pvalues
from ._repeated import RepeatedRunsResult, repeated_runs

__all__ = [
    "ComparisonResult",
    "CorrectedTTestResult",
    "DeLongResult",
    "FiveByTwoResult",
    "FriedmanResult",
    "McNemarResult",
    "RepeatedRunsResult",
    "adjust_pvalues",
    "auc_ci",
    "combined_ftest_5x2cv",
    "compare_estimators",
    "corrected_resampled_ttest",
    "delong_roc_variance",
    "delong_test",
    "friedman_test",
    "mcnemar_test",
    "paired_ttest_5x2cv",
    "repeated_runs",
]
