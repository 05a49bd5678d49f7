"""Choosing a decision threshold: Youden's J, or a target sensitivity or specificity."""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from ..utils._param_validation import RANDOM_STATE, Interval, validate_params
from ._format import result_repr
from ._resampling import bootstrap_weights, group_codes, percentile_interval
from ._validation import binary_target, check_labels, check_same_length, check_scores
from ._weighted import ScoreBins, at_or_above, safe_ratio


@dataclass(frozen=True)
class ThresholdResult:
    """An operating point: a threshold and what it achieves, with bootstrap CIs.

    A sample is predicted positive when its score is ``>= threshold``.

    Attributes
    ----------
    threshold : float
        The chosen threshold (``inf`` means "predict nobody positive").
    sensitivity, specificity : float
        Achieved on the data the threshold was chosen on (optimistic for that data).
    sensitivity_ci, specificity_ci : tuple of float
        Percentile bootstrap CIs of the sensitivity and specificity at ``threshold``.
    threshold_ci : tuple of float
        Percentile bootstrap CI of the threshold, re-chosen in every replicate: how
        stable the choice is. Its bounds are replicate thresholds (no interpolation),
        so an upper bound of ``inf`` says some replicates predicted nobody positive.
    criterion : str
        How the threshold was chosen.
    ci : float
        Confidence level of the intervals.
    n_bootstraps : int
        Replicates drawn (those with one class only are dropped).
    """

    threshold: float
    sensitivity: float
    specificity: float
    sensitivity_ci: tuple
    specificity_ci: tuple
    threshold_ci: tuple
    criterion: str
    ci: float
    n_bootstraps: int

    __repr__ = result_repr


def _select(sens, spec, criterion, target):
    """Index of the chosen threshold in each row (thresholds ascending)."""
    n_thresholds = sens.shape[1]
    if criterion == "youden":  # largest threshold among (numerical) ties
        youden = sens + spec
        ties = youden >= youden.max(axis=1, keepdims=True) - 1e-12
        return n_thresholds - 1 - np.argmax(ties[:, ::-1], axis=1)
    if criterion == "sensitivity":  # sensitivity falls with the threshold
        return np.maximum(np.sum(sens >= target, axis=1) - 1, 0)
    return np.minimum(n_thresholds - np.sum(spec >= target, axis=1), n_thresholds - 1)


def _search(y_true, y_score, criterion, target, *, pos_label, groups, ci, n_bootstraps,
            random_state, label):
    y_true = check_labels(y_true, "y_true")
    y_score = check_scores(y_score, "y_score")
    check_same_length(y_true=y_true, y_score=y_score, groups=groups)
    is_pos, _ = binary_target(y_true, pos_label)
    bins = ScoreBins(is_pos, y_score)
    thresholds = np.r_[bins.thresholds, np.inf]

    def operating_points(weights):
        pos, neg = bins.split(weights)
        pad = np.zeros((len(weights), 1))
        tps, fps = at_or_above(np.hstack([pos, pad])), at_or_above(np.hstack([neg, pad]))
        n_pos, n_neg = tps[:, :1], fps[:, :1]
        return safe_ratio(tps, n_pos), 1 - safe_ratio(fps, n_neg)

    sens, spec = operating_points(np.ones((1, len(y_true))))
    best = _select(sens, spec, criterion, target)[0]
    replicates = []
    for weights in bootstrap_weights(group_codes(groups, len(y_true)), n_bootstraps,
                                     check_random_state(random_state)):
        sens_b, spec_b = operating_points(weights)
        chosen = thresholds[_select(np.nan_to_num(sens_b), np.nan_to_num(spec_b), criterion, target)]
        defined = ~np.isnan(sens_b[:, 0] + spec_b[:, -1])
        replicates.append(np.column_stack([
            sens_b[:, best], spec_b[:, best], np.where(defined, chosen, np.nan)
        ]))
    replicates = np.vstack(replicates)
    low, high, _ = percentile_interval(replicates[:, :2], ci)
    # thresholds can be inf ("predict nobody positive"): no interpolation towards inf
    (t_low,), (t_high,), (n_valid,) = percentile_interval(replicates[:, 2:], ci, interpolate=False)
    return ThresholdResult(
        threshold=float(thresholds[best]),
        sensitivity=float(sens[0, best]),
        specificity=float(spec[0, best]),
        sensitivity_ci=(float(low[0]), float(high[0])),
        specificity_ci=(float(low[1]), float(high[1])),
        threshold_ci=(float(t_low), float(t_high)),
        criterion=label,
        ci=ci,
        n_bootstraps=int(n_valid),
    )


_COMMON = {
    "ci": [Interval(Real, 0, 1, closed="neither")],
    "n_bootstraps": [Interval(Integral, 1, None)],
    "random_state": [RANDOM_STATE, None],
}
_TARGET = {"target": [Interval(Real, 0, 1)], **_COMMON}


@validate_params(_COMMON)
def youden_threshold(y_true, y_score, *, pos_label=None, groups=None, ci=0.95,
                     n_bootstraps=2000, random_state=None):
    """Threshold maximising Youden's J = sensitivity + specificity - 1.

    Among thresholds with the same J the largest (most specific) is returned.
    Choose the threshold on validation data, not on the test set you report.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores of the positive class; higher means more likely positive.
    pos_label : int, float, bool or str, default=None
        The positive class; inferred only for {0, 1}, {-1, 1} and booleans.
    groups : array-like of shape (n_samples,), default=None
        Patient ids: the bootstrap then resamples patients (cluster bootstrap).
    ci : float, default=0.95
        Confidence level of the bootstrap intervals.
    n_bootstraps : int, default=2000
        Number of bootstrap replicates.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap.

    Returns
    -------
    result : ThresholdResult
        The threshold, its sensitivity and specificity, and their bootstrap CIs.

    See Also
    --------
    threshold_for_sensitivity, threshold_for_specificity

    Examples
    --------
    >>> from skcovid.metrics import youden_threshold
    >>> y = [0, 0, 0, 1, 1, 1]
    >>> score = [0.1, 0.3, 0.6, 0.4, 0.8, 0.9]
    >>> result = youden_threshold(y, score, n_bootstraps=100, random_state=0)
    >>> result.threshold, round(result.sensitivity, 3), round(result.specificity, 3)
    (0.8, 0.667, 1.0)
    """
    return _search(y_true, y_score, "youden", None, pos_label=pos_label, groups=groups, ci=ci,
                   n_bootstraps=n_bootstraps, random_state=random_state, label="youden")


@validate_params(_TARGET)
def threshold_for_sensitivity(y_true, y_score, target, *, pos_label=None, groups=None,
                              ci=0.95, n_bootstraps=2000, random_state=None):
    """Largest threshold whose sensitivity is at least ``target``.

    This maximises specificity subject to the sensitivity constraint, the usual way
    to fix a screening test's operating point (e.g. ``target=0.95``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores of the positive class.
    target : float in [0, 1]
        Minimum sensitivity.
    pos_label : int, float, bool or str, default=None
        The positive class; inferred only for {0, 1}, {-1, 1} and booleans.
    groups : array-like of shape (n_samples,), default=None
        Patient ids for a cluster bootstrap.
    ci : float, default=0.95
        Confidence level.
    n_bootstraps : int, default=2000
        Number of bootstrap replicates.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap.

    Returns
    -------
    result : ThresholdResult
        ``sensitivity_ci`` shows how often the target would be met on new data.

    Examples
    --------
    >>> from skcovid.metrics import threshold_for_sensitivity
    >>> y = ["COVID", "COVID", "COVID", "Non_COVID", "Non_COVID"]
    >>> score = [0.9, 0.7, 0.4, 0.5, 0.1]
    >>> result = threshold_for_sensitivity(y, score, 0.9, pos_label="COVID",
    ...                                    n_bootstraps=50, random_state=0)
    >>> result.threshold, result.sensitivity, result.specificity
    (0.4, 1.0, 0.5)
    """
    return _search(y_true, y_score, "sensitivity", target, pos_label=pos_label,
                   groups=groups, ci=ci, n_bootstraps=n_bootstraps,
                   random_state=random_state, label=f"sensitivity >= {target}")


@validate_params(_TARGET)
def threshold_for_specificity(y_true, y_score, target, *, pos_label=None, groups=None,
                              ci=0.95, n_bootstraps=2000, random_state=None):
    """Smallest threshold whose specificity is at least ``target``.

    This maximises sensitivity subject to the specificity constraint (a confirmatory
    test). Parameters are those of :func:`threshold_for_sensitivity`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores of the positive class.
    target : float in [0, 1]
        Minimum specificity.
    pos_label : int, float, bool or str, default=None
        The positive class; inferred only for {0, 1}, {-1, 1} and booleans.
    groups : array-like of shape (n_samples,), default=None
        Patient ids for a cluster bootstrap.
    ci : float, default=0.95
        Confidence level.
    n_bootstraps : int, default=2000
        Number of bootstrap replicates.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap.

    Returns
    -------
    result : ThresholdResult

    Examples
    --------
    >>> from skcovid.metrics import threshold_for_specificity
    >>> result = threshold_for_specificity([0, 0, 1, 1], [0.2, 0.6, 0.5, 0.9], 1.0,
    ...                                    n_bootstraps=50, random_state=0)
    >>> result.threshold, result.sensitivity, result.specificity
    (0.9, 0.5, 1.0)
    """
    return _search(y_true, y_score, "specificity", target, pos_label=pos_label,
                   groups=groups, ci=ci, n_bootstraps=n_bootstraps,
                   random_state=random_state, label=f"specificity >= {target}")
