"""Whether a fitted estimator, or any estimator inside it, reports an interrupted fit."""

from __future__ import annotations


def _children(obj):
    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    state = getattr(obj, "__dict__", None)
    return list(state.values()) if isinstance(state, dict) else []


def _is_estimator(obj):
    from sklearn.base import BaseEstimator

    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        NeuralNet = BaseEstimator
    return isinstance(obj, (BaseEstimator, NeuralNet))


def is_fit_interrupted(estimator):
    """Whether ``estimator`` or an estimator it holds has ``fit_interrupted_`` set to True.

    skorch stops training quietly on Ctrl-C (``KeyboardInterrupt``) and returns from
    ``fit`` as if it had finished; skcovid's estimators notice the Ctrl-C, set
    ``fit_interrupted_`` and raise, keeping the partly trained network for a caller that
    catches the exception. This looks for it on the estimator, its steps, its fitted sub-estimators and their
    skorch nets, so that a half-trained model is not saved or reported as a complete one.

    Parameters
    ----------
    estimator : object
        A fitted estimator or pipeline.

    Returns
    -------
    bool

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skcovid.persistence import is_fit_interrupted
    >>> pipeline = make_pipeline(LogisticRegression())
    >>> is_fit_interrupted(pipeline)
    False
    >>> pipeline[-1].fit_interrupted_ = True
    >>> is_fit_interrupted(pipeline)
    True
    """
    seen, pending = set(), [estimator]
    while pending:
        obj = pending.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type(None))):
            continue
        seen.add(id(obj))
        is_estimator = _is_estimator(obj)
        if is_estimator and getattr(obj, "fit_interrupted_", False) is True:
            return True
        if is_estimator or isinstance(obj, (dict, list, tuple, set, frozenset)):
            pending.extend(_children(obj))
    return False
