"""Significance tests and estimator comparison.

Paired tests on predictions of two models on the same samples
(:func:`mcnemar_test`, :func:`delong_test` with optional patient clustering,
:func:`paired_permutation_test` for any metric), the ROC AUC interval
(:func:`auc_ci`: DeLong, logit or bootstrap), tests of two learning algorithms by
resampling (:func:`paired_ttest_5x2cv`, :func:`combined_ftest_5x2cv`,
:func:`corrected_resampled_ttest`), several models (:func:`cochrans_q`,
:func:`friedman_test`, :func:`compare_estimators`, :func:`adjust_pvalues`) and
variability of one model across random initialisations (:func:`repeated_runs`, which
is not a model comparison).
"""

from ._cochran import CochransQResult, cochrans_q
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
from ._permutation import PermutationTestResult, paired_permutation_test
from ._repeated import RepeatedRunsResult, repeated_runs

__all__ = [
    "CochransQResult",
    "ComparisonResult",
    "CorrectedTTestResult",
    "DeLongResult",
    "FiveByTwoResult",
    "FriedmanResult",
    "McNemarResult",
    "PermutationTestResult",
    "RepeatedRunsResult",
    "adjust_pvalues",
    "auc_ci",
    "cochrans_q",
    "combined_ftest_5x2cv",
    "compare_estimators",
    "corrected_resampled_ttest",
    "delong_roc_variance",
    "delong_test",
    "friedman_test",
    "mcnemar_test",
    "paired_permutation_test",
    "paired_ttest_5x2cv",
    "repeated_runs",
]
