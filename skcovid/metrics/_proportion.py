"""Wilson and Clopper-Pearson intervals for the clinical metrics that are proportions."""

import numpy as np
from scipy import stats

#: Metrics that are a count over a count of samples, and which samples they count over.
PROPORTIONS = ("accuracy", "sensitivity", "specificity", "ppv", "npv")
CI_METHODS = {"bootstrap": None, "wilson": "wilson", "clopper_pearson": "exact"}


def denominators(is_pos, pred_pos):
    """Number of samples each proportion is taken over (all rows weighted 1)."""
    return {
        "accuracy": len(is_pos),
        "sensitivity": int(is_pos.sum()),
        "specificity": int((~is_pos).sum()),
        "ppv": int(pred_pos.sum()),
        "npv": int((~pred_pos).sum()),
    }


def proportion_interval(value, n, ci, method):
    """Interval of the proportion ``value`` of ``n`` samples (NaN when ``n`` is 0)."""
    if n == 0 or np.isnan(value):
        return np.nan, np.nan
    successes = int(round(value * n))
    interval = stats.binomtest(successes, n).proportion_ci(ci, method=CI_METHODS[method])
    return float(interval.low), float(interval.high)
