"""Scorers for ``GridSearchCV(scoring=...)`` and ``cross_validate``."""

from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import make_scorer

from ._classification import npv_score, sensitivity_score, specificity_score

#: Scorer for :func:`sensitivity_score` with ``pos_label=1``.
sensitivity_scorer = make_scorer(sensitivity_score)
#: Scorer for :func:`specificity_score` with ``pos_label=1``.
specificity_scorer = make_scorer(specificity_score)
#: Scorer for :func:`npv_score` with ``pos_label=1``.
npv_scorer = make_scorer(npv_score)

_SCORERS = {
    "sensitivity": sensitivity_scorer,
    "specificity": specificity_scorer,
    "npv": npv_scorer,
}


def get_scorer(scoring):
    """Get a scorer from its name, knowing skcovid's clinical metrics.

    ``"sensitivity"``, ``"specificity"`` and ``"npv"`` return skcovid's scorers, which
    take 1 as the positive class; any other name is looked up with
    :func:`sklearn.metrics.get_scorer`, and a callable is returned unchanged.

    With string labels such as ``"COVID"``/``"Non_COVID"`` build the scorer yourself
    so that it knows the positive class:
    ``make_scorer(sensitivity_score, pos_label="COVID")``.

    Parameters
    ----------
    scoring : str or callable
        A scorer name, or a scorer.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)`` returns a float, greater is better.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.datasets import make_classification
    >>> from skcovid.metrics import get_scorer
    >>> X, y = make_classification(n_samples=100, random_state=0)
    >>> search = GridSearchCV(LogisticRegression(solver="liblinear"), {"C": [0.1, 1.0]},
    ...                       scoring=get_scorer("sensitivity")).fit(X, y)
    >>> bool(0 <= search.best_score_ <= 1)
    True

    For several metrics at once pass a dict:
    ``scoring={"sens": get_scorer("sensitivity"), "auc": "roc_auc"}``.
    """
    if callable(scoring):
        return scoring
    if isinstance(scoring, str) and scoring in _SCORERS:
        return _SCORERS[scoring]
    try:
        return _sklearn_get_scorer(scoring)
    except ValueError:
        raise ValueError(
            f"{scoring!r} is not a known scorer. Use one of {sorted(_SCORERS)}, a name "
            "from sklearn.metrics.get_scorer_names(), or a scorer object."
        ) from None
