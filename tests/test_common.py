"""scikit-learn's estimator checks over every skcovid estimator that takes tabular input, at its defaults.

The image estimators (embedders, nets) read scan tables of images, which the checks cannot
generate; they have their own contract tests. Each expected failure below is named and
explained (pytest reports it as an xfail, or xpass if it starts to pass).
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skcovid.multimodal import (
    ClassifierHead,
    ModalityRouter,
    MultiModalMTLClassifier,
    MultiTaskFeatures,
    SharedFeatureExtractor,
    TaskSpecificExtractor,
)

from .multimodal._helpers import one_torch_thread

ESTIMATORS = [
    TaskSpecificExtractor(),
    ClassifierHead(),
    SharedFeatureExtractor(adversarial=None),
    MultiTaskFeatures(task=TaskSpecificExtractor(), shared=SharedFeatureExtractor(adversarial=None)),
    # these need each row's modality, which the checks' plain arrays do not have
    SharedFeatureExtractor(),
    ModalityRouter({"xray": TaskSpecificExtractor(), "ct": TaskSpecificExtractor()}),
    MultiModalMTLClassifier(embedder=None),
]

NEEDS_MODALITY = (
    "needs a 'modality' column (a DataFrame) to {what}; the check passes a plain array, and the "
    "estimator raises a ValueError that says how to add the column"
)
# checks that fit the estimator on a plain array (so they fail for the estimators that need
# a modality column); the transformer and classifier ones apply to those kinds only
FITTING_CHECKS = [
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_dtype_object",
    "check_estimators_nan_inf", "check_estimators_pickle", "check_f_contiguous_array_estimator",
    "check_fit2d_1feature", "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in", "check_fit2d_predict1d",
]
TRANSFORMER_CHECKS = [
    "check_transformer_data_not_an_array", "check_transformer_general", "check_transformer_preserve_dtypes",
]
ROUTING_CHECKS = [  # the router validates the modality column before anything else
    "check_complex_data", "check_estimators_empty_data_messages", "check_pipeline_consistency",
    "check_estimator_sparse_tag", "check_estimator_sparse_array", "check_estimator_sparse_matrix",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_fit2d_1sample",
]
CLASSIFIER_CHECKS = [
    "check_classifier_data_not_an_array", "check_classifiers_one_label", "check_classifiers_classes",
    "check_classifiers_train", "check_classifiers_regression_target", "check_supervised_y_2d",
    "check_decision_proba_consistency", "check_requires_y_none",
]


def _reasons(checks, what):
    return dict.fromkeys(checks, NEEDS_MODALITY.format(what=what))


OUT_OF_FOLD = (
    "fit_transform returns out-of-fold features (stacking, as StackingClassifier and TargetEncoder "
    "do) and transform the features of the branches fitted on all rows, so they differ by design"
)
EXPECTED_FAILURES = {
    "SharedFeatureExtractor(adversarial='gradient_reversal')": _reasons(
        FITTING_CHECKS + TRANSFORMER_CHECKS, "train its adversary"
    ),
    "ModalityRouter": _reasons(
        FITTING_CHECKS + TRANSFORMER_CHECKS + ROUTING_CHECKS, "route each row to its modality's estimator"
    ),
    "MultiModalMTLClassifier": _reasons(
        FITTING_CHECKS + ROUTING_CHECKS + CLASSIFIER_CHECKS, "route each row to its modality's extractor"
    ),
    "ClassifierHead": {
        "check_class_weight_classifiers": (
            "the check fits 50 rows: with the default batch of 64 that is one Adam step per epoch, "
            "50 steps at lr=1e-3, too few for the extreme weights to move every prediction to class 0 "
            "(68 % of them; with lr=1e-2 all of them). Class weights themselves are tested in "
            "tests/multimodal/test_extractors.py"
        ),
    },
    "MultiTaskFeatures": {
        "check_transformer_general": OUT_OF_FOLD,
        "check_transformer_data_not_an_array": OUT_OF_FOLD,
        "check_methods_subset_invariance": (
            "float32 features of a row differ in the last digits (rtol 1e-4) with the batch "
            "composition of the torch forward pass"
        ),
    },
}


def _key(estimator):
    if isinstance(estimator, SharedFeatureExtractor):
        return f"SharedFeatureExtractor(adversarial={estimator.adversarial!r})"
    return type(estimator).__name__


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(_key(estimator), {})


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    with one_torch_thread():
        yield


@pytest.mark.slow
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
