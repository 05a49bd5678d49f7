"""Scorers for ``GridSearchCV(scoring=...)`` and ``cross_validate``."""

import numpy as np
from sklearn.metrics import get_scorer as _sklearn_get_scorer

from ._classification import npv_score, sensitivity_score, specificity_score
from ._validation import DEFAULT_POSITIVE_NAME, default_pos_label


class ClinicalScorer:
    """Scorer of a clinical metric for the positive class, found from the labels.

    The positive class is ``"COVID"`` when it is one of the classes (the labels every
    skcovid loader yields, binary or multiclass: the metric is then ``"COVID"`` against
    the rest), else 1 for {0, 1} or {-1, 1} labels and ``True`` for booleans. The classes
    are the estimator's ``classes_`` (or the labels of ``y_true``). For any other
    positive class build the scorer with
    ``sklearn.metrics.make_scorer(sensitivity_score, pos_label=...)``.

    Parameters
    ----------
    score_func : callable
        :func:`sensitivity_score`, :func:`specificity_score` or :func:`npv_score`.
    """

    def __init__(self, score_func):
        self.score_func = score_func

    def __call__(self, estimator, X, y_true, sample_weight=None):
        """Score ``estimator.predict(X)`` against ``y_true`` (greater is better)."""
        classes = getattr(estimator, "classes_", None)
        classes = np.unique(y_true) if classes is None else np.asarray(classes)
        try:
            pos_label = default_pos_label(classes)
        except ValueError:
            raise ValueError(
                f"The {self.score_func.__name__} scorer cannot tell the positive class "
                f"among the labels {classes.tolist()[:6]}: it uses {DEFAULT_POSITIVE_NAME!r}, "
                "1 or True. Build the scorer yourself, e.g. "
                f"make_scorer({self.score_func.__name__}, pos_label={classes.tolist()[0]!r})."
            ) from None
        # labels=[pos_label] with micro averaging is the binary score, and "pos_label
        # against the rest" for a multiclass target
        return self.score_func(y_true, estimator.predict(X), labels=[pos_label],
                               average="micro", sample_weight=sample_weight)

    def __repr__(self):
        return f"ClinicalScorer({self.score_func.__name__})"


#: Scorer for :func:`sensitivity_score` of the positive class (``"COVID"``, 1 or True).
sensitivity_scorer = ClinicalScorer(sensitivity_score)
#: Scorer for :func:`specificity_score` of the positive class (``"COVID"``, 1 or True).
specificity_scorer = ClinicalScorer(specificity_score)
#: Scorer for :func:`npv_score` of the positive class (``"COVID"``, 1 or True).
npv_scorer = ClinicalScorer(npv_score)

_SCORERS = {
    "sensitivity": sensitivity_scorer,
    "specificity": specificity_scorer,
    "npv": npv_scorer,
}


def get_scorer(scoring):
    """Get a scorer from its name, knowing skcovid's clinical metrics.

    ``"sensitivity"``, ``"specificity"`` and ``"npv"`` return skcovid's scorers; any
    other name is looked up with :func:`sklearn.metrics.get_scorer`, and a callable is
    returned unchanged.

    skcovid's scorers take as the positive class ``"COVID"`` when it is one of the
    estimator's classes (binary, or ``"COVID"`` against the rest for a multiclass
    target), else 1 for {0, 1} or {-1, 1} labels and ``True`` for booleans. For another
    positive class build the scorer yourself:
    ``make_scorer(sensitivity_score, pos_label="Pneumonia", labels=["Pneumonia"], average="micro")``.

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
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from skcovid.metrics import get_scorer
    >>> X, y = make_classification(n_samples=100, random_state=0)
    >>> labels = np.where(y == 1, "COVID", "Non_COVID")
    >>> scores = cross_val_score(LogisticRegression(), X, labels, cv=3,
    ...                          scoring=get_scorer("sensitivity"))
    >>> scores.round(3).tolist()
    [1.0, 0.875, 0.647]

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
