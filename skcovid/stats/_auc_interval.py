"""Confidence intervals of one ROC AUC: DeLong (normal), logit, bootstrap, and a
boundary-respecting score interval for the degenerate cases.

DeLong's normal interval ``auc +/- z * se`` is symmetric, so near AUC = 1 with few
samples its lower bound is too low and its upper bound is clipped; on the logit scale
the interval respects [0, 1] and covers better near the boundary. When the variance
estimate is zero (perfect separation, AUC of 0 or 1, or every score tied) every
plug-in interval -- DeLong, logit, bootstrap -- has zero width, which claims certainty
from a handful of samples; skcovid then warns and returns a score interval from
Hanley & McNeil's (1982) variance formula, ``var(t) = t (1 - t) / (m n) * [1 + (N - 1)
((1 - t) / (2 - t) + t / (1 + t))]`` with ``N = (m + n) / 2`` (Newcombe, 2006,
Statistics in Medicine 25(4)): the values ``t`` with ``(auc - t)^2 <= z^2 var(t)``.
"""

import warnings

import numpy as np
from scipy import optimize, special, stats

from ..metrics._resampling import bootstrap_weights, percentile_interval
from ..metrics._weighted import ScoreBins, roc_auc

AUC_CI_METHODS = ("delong", "logit", "bootstrap")


def _score_variance(theta, n_pos, n_neg):
    n_half = (n_pos + n_neg) / 2
    bracket = 1 + (n_half - 1) * ((1 - theta) / (2 - theta) + theta / (1 + theta))
    return theta * (1 - theta) / (n_pos * n_neg) * bracket


def score_interval(auc, n_pos, n_neg, ci):
    """The Hanley-McNeil score interval of an AUC (positive width even at 0 and 1)."""
    z2 = stats.norm.ppf(0.5 + ci / 2) ** 2

    def gap(theta):
        return (auc - theta) ** 2 - z2 * _score_variance(theta, n_pos, n_neg)

    inner = 1e-12  # the other root when auc sits on a boundary (gap(auc) == 0 there)
    low = 0.0 if auc <= 0 else optimize.brentq(gap, 0.0, min(auc, 1 - inner))
    high = 1.0 if auc >= 1 else optimize.brentq(gap, max(auc, inner), 1.0)
    return float(low), float(high)


def normal_interval(estimate, variance, ci, low=0.0, high=1.0):
    """``estimate +/- z * sqrt(variance)``, clipped to [low, high]."""
    half = stats.norm.ppf(0.5 + ci / 2) * np.sqrt(max(variance, 0.0))
    return (float(max(estimate - half, low)), float(min(estimate + half, high)))


def logit_interval(auc, variance, ci):
    """DeLong's variance carried to the logit scale (delta method) and back."""
    half = stats.norm.ppf(0.5 + ci / 2) * np.sqrt(variance) / (auc * (1 - auc))
    center = special.logit(auc)
    return float(special.expit(center - half)), float(special.expit(center + half))


def bootstrap_interval(is_pos, score, codes, ci, n_bootstraps, random_state):
    """Percentile bootstrap interval (patients resampled when ``codes`` groups rows)."""
    bins = ScoreBins(is_pos, score)
    replicates = np.concatenate([
        roc_auc(*bins.split(weights))
        for weights in bootstrap_weights(codes, n_bootstraps, random_state)
    ])
    low, high, _ = percentile_interval(replicates[:, None], ci)
    return float(low[0]), float(high[0])


def degenerate(auc, variance):
    """Whether the plug-in intervals collapse (zero variance, or AUC on a boundary)."""
    return variance <= 1e-15 or auc <= 0 or auc >= 1


def auc_interval(auc, variance, is_pos, score, codes, *, method, ci, n_bootstraps,
                 random_state, name="the ROC AUC"):
    """Interval of one AUC by ``method``, falling back to the score interval when degenerate."""
    if degenerate(auc, variance):
        n_pos, n_neg = int(is_pos.sum()), int((~is_pos).sum())
        warnings.warn(
            f"The variance estimate of {name} is zero (AUC = {auc:.4g} with {n_pos} positive "
            f"and {n_neg} negative samples: perfectly separated or tied scores), so a "
            f"{method} interval would have zero width. The Hanley-McNeil score interval is "
            "returned instead; more samples give a more informative interval.",
            RuntimeWarning,
            stacklevel=4,
        )
        return score_interval(auc, n_pos, n_neg, ci)
    if method == "delong":
        return normal_interval(auc, variance, ci)
    if method == "logit":
        return logit_interval(auc, variance, ci)
    return bootstrap_interval(is_pos, score, codes, ci, n_bootstraps, random_state)
