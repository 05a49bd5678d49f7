"""MultiTaskFeatures: task-specific and shared features side by side (FeatureUnion-like)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..utils import check_labels
from ..utils._param_validation import StrOptions, check_estimator_params
from ._tabular import PASSTHROUGH, FrameOutputMixin, column_of

BRANCHES = ("task", "shared")


def _rows(X, positions):
    return X.iloc[positions] if isinstance(X, pd.DataFrame) else np.asarray(X)[positions]


def _branch_input(X, branch):
    """The columns a branch reads (see the class docstring)."""
    if not isinstance(X, pd.DataFrame):
        return X
    joint = [c for c in X.columns if str(c).startswith(SHARED_INPUT_PREFIX)]
    if not joint:
        return X
    if branch == "shared":
        return X[joint + [c for c in X.columns if c in PASSTHROUGH]]
    return X.drop(columns=joint)


SHARED_INPUT_PREFIX = "shared_emb_"


def _as_input(X):
    """A DataFrame stays one (its columns are routed by name); anything else becomes a 2-D array."""
    if isinstance(X, pd.DataFrame):
        return X
    if hasattr(X, "toarray"):  # scipy.sparse
        raise TypeError(
            "MultiTaskFeatures does not support sparse input: pass a dense array or a DataFrame "
            "(X.toarray())."
        )
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D array or a DataFrame of features, got an array of shape {X.shape}. "
            "Reshape your data: X.reshape(-1, 1) for one feature, X.reshape(1, -1) for one sample."
        )
    return X


def _feature_values(output):
    """A branch output's feature values as a float array (passthrough columns dropped)."""
    if isinstance(output, pd.DataFrame):
        output = output.drop(columns=[c for c in output.columns if c in PASSTHROUGH])
    return np.asarray(output, dtype=np.float32).reshape(len(output), -1)


def _align(fold_train, full_train, fold_test, modalities):
    """Map a fold model's features into the coordinates of the model fitted on all rows.

    Two networks trained on different rows learn the same kind of features in a different
    order, sign and scale (hidden unit 3 of one is not unit 3 of the other). The map is a
    ridge regression from the fold model's features to the full model's, fitted on the
    fold's *training* rows (seen by both models; the held-out rows and their labels are
    not used), one per modality when the rows have one, and applied to the held-out rows.
    """
    from sklearn.linear_model import Ridge

    out = np.empty((len(fold_test), full_train.shape[1]), dtype=np.float32)
    if modalities is None:
        groups = [(slice(None), slice(None))]
    else:
        train_mod, test_mod = modalities
        groups = [(train_mod == m, test_mod == m) for m in np.unique(test_mod)]
    for fit_rows, apply_rows in groups:
        source = fold_train[fit_rows]
        if len(source) == 0:  # a modality only in the held-out fold: nothing to align on
            out[apply_rows] = fold_test[apply_rows]
            continue
        ridge = Ridge(alpha=1.0).fit(source, full_train[fit_rows])
        out[apply_rows] = ridge.predict(fold_test[apply_rows])
    return out


class MultiTaskFeatures(FrameOutputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Concatenate the routed task-specific features and the shared features, out-of-fold in fit.

    Both branches are fitted on the same rows and labels; their outputs (without
    passthrough columns) are put side by side, followed by ``X``'s ``modality`` and
    ``patient`` columns, with ``X``'s index. Nested parameters are reachable as
    ``task__xray__hidden`` or ``shared__adversarial``.

    **Inputs of the branches.** Columns named ``shared_emb_*`` (the joint embedding of
    :class:`MultiModalEmbedder`) are read by the shared branch only, and the other feature
    columns by the task branch only; without ``shared_emb_*`` columns both branches read
    every feature column.

    **Out-of-fold training features (stacking).** A model trained on these features (the
    classifier head) must not see features the branches computed on their own training
    rows: those are over-confident, and the head learns to trust them too much. So, as in
    scikit-learn's ``StackingClassifier`` and ``TargetEncoder``, ``fit_transform`` (what a
    ``Pipeline`` calls while fitting) returns *out-of-fold* features: for each of ``cv``
    folds (grouped by ``patient``, stratified by modality and label) clones of the branches
    are fitted on the other folds and transform this one. The branches kept for
    ``transform`` (``task_``, ``shared_``) are fitted on all rows, with the same random
    state as the fold clones, and each fold's features are mapped into their coordinates
    (``align``). ``fit(X, y).transform(X)`` therefore differs from
    ``fit_transform(X, y)``; ``cv=None`` makes them equal (in-sample features).

    Parameters
    ----------
    task : estimator or None, default=None
        Task-specific branch, typically ``ModalityRouter({"xray": TaskSpecificExtractor(),
        "ct": TaskSpecificExtractor()})``. None leaves it out.
    shared : estimator or None, default=None
        Shared branch, typically :class:`SharedFeatureExtractor`. None leaves it out.
    cv : int, cross-validation splitter or None, default=5
        Folds of the out-of-fold features of ``fit_transform``; None for in-sample ones.
        An int uses ``StratifiedGroupKFold`` (groups: ``patient``) or ``StratifiedKFold``.
    align : {"linear"} or None, default="linear"
        How out-of-fold features are put in the coordinates of the branches kept for
        ``transform``. Networks fitted on different rows learn their hidden units in a
        different order, sign and scale, so a fold model's unit 3 is not the final model's
        unit 3, and a head trained on raw fold outputs would read different features at
        prediction time. ``"linear"`` maps each fold model's features onto the final
        model's with a ridge regression fitted on the fold's training rows (seen by both
        models; never the held-out rows), per modality. None stacks the raw fold outputs.
    random_state : int or None, default=None
        Shuffling of the folds, and the seed of every branch whose own ``random_state`` is
        None (so that a seeded ``MultiTaskFeatures`` fits repeatably).

    Attributes
    ----------
    task_, shared_ : estimator or None
        The fitted clones.
    feature_names_out_ : ndarray of str
        Output feature columns (without passthrough columns).
    n_features_in_ : int
        Number of input columns (passthrough columns included).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skcovid.multimodal import (ModalityRouter, MultiTaskFeatures, SharedFeatureExtractor,
    ...                                 TaskSpecificExtractor)
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame(rng.randn(40, 3), columns=["emb_0", "emb_1", "emb_2"])
    >>> X["modality"] = ["xray", "ct"] * 20
    >>> y = np.where(X["emb_0"] > 0, "COVID", "Non_COVID")
    >>> task = TaskSpecificExtractor(hidden=(2,), max_epochs=1, random_state=0)
    >>> shared = SharedFeatureExtractor(hidden=(3,), max_epochs=1, random_state=0)
    >>> union = MultiTaskFeatures(task=ModalityRouter({"xray": task, "ct": task}, layout="block"),
    ...                           shared=shared, cv=2, random_state=0)
    >>> list(union.fit_transform(X, y).columns)
    ['task_xray_0', 'task_xray_1', 'task_ct_0', 'task_ct_1', 'shared_0', 'shared_1', 'shared_2', 'modality']
    """

    _parameter_constraints = {
        "task": "no_validation",
        "shared": "no_validation",
        "cv": "no_validation",
        "align": [StrOptions({"linear"}), None],
        "random_state": "no_validation",
    }

    def __init__(self, task=None, shared=None, *, cv=5, align="linear", random_state=None):
        self.task = task
        self.shared = shared
        self.cv = cv
        self.align = align
        self.random_state = random_state

    def _branches(self):
        branches = [(name, getattr(self, name)) for name in BRANCHES if getattr(self, name) is not None]
        if not branches:
            raise ValueError("MultiTaskFeatures needs a task or a shared estimator (both are None).")
        return branches

    def _clone(self, estimator):
        """A clone of a branch, seeded with ``random_state`` where the branch has none."""
        fitted = clone(estimator)
        if self.random_state is not None:
            unseeded = {key: self.random_state for key, value in fitted.get_params().items()
                        if (key == "random_state" or key.endswith("__random_state")) and value is None}
            fitted.set_params(**unseeded)
        return fitted

    def fit(self, X, y=None):
        """Fit both branches on ``(X, y)`` (all rows; no out-of-fold features are computed).

        Parameters
        ----------
        X : DataFrame or array-like
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : MultiTaskFeatures
        """
        self._fit(X, y)
        return self

    def _fit(self, X, y):
        """Fit the branches on all rows; return each branch's in-sample feature values."""
        check_estimator_params(self)
        X = _as_input(X)
        y = check_labels(y)  # here, where row positions are the caller's, not a modality's subset
        self.n_features_in_ = X.shape[1]
        self.task_ = self.shared_ = None
        outputs = []
        for name, estimator in self._branches():
            fitted = self._clone(estimator)
            outputs.append((name, fitted.fit_transform(_branch_input(X, name), y)))
            setattr(self, f"{name}_", fitted)
        self._concatenate(X, outputs, reset=True)
        return {name: _feature_values(output) for name, output in outputs}

    def fit_transform(self, X, y=None):
        """Fit both branches on all rows and return *out-of-fold* features of ``X`` (see above).

        Parameters
        ----------
        X : DataFrame or array-like
        y : array-like of shape (n_samples,)

        Returns
        -------
        DataFrame (for a DataFrame ``X``) or ndarray
        """
        X = _as_input(X)
        full = self._fit(X, y)  # the final branches' in-sample features: the targets of `align`
        if self.cv is None:
            return self.transform(X)
        y = check_labels(y)
        modality = column_of(X, "modality")
        oof = {name: np.empty_like(values, dtype=np.float32) for name, values in full.items()}
        for train, test in self._folds(X, y):
            rows_train, rows_test = _rows(X, train), _rows(X, test)
            for name, estimator in self._branches():
                fold_model = self._clone(estimator).fit(_branch_input(rows_train, name), y[train])
                fold_train = _feature_values(fold_model.transform(_branch_input(rows_train, name)))
                fold_test = _feature_values(fold_model.transform(_branch_input(rows_test, name)))
                if self.align == "linear":
                    fold_test = _align(fold_train, full[name][train], fold_test,
                                       None if modality is None else (modality[train], modality[test]))
                oof[name][test] = fold_test
        Z = np.hstack([oof[name] for name, _ in self._branches()]).astype(np.float32, copy=False)
        if not isinstance(X, pd.DataFrame):
            return Z
        frame = pd.DataFrame(Z, index=X.index, columns=self.feature_names_out_)
        for column in PASSTHROUGH:
            if column in X.columns:
                frame[column] = X[column].to_numpy()
        return frame

    def _folds(self, X, y):
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, check_cv

        y = np.asarray(y)
        modality = column_of(X, "modality")
        strata = y.astype(str) if modality is None else np.char.add(modality.astype(str), y.astype(str))
        groups = column_of(X, "patient")
        cv = self.cv
        if isinstance(cv, int):
            splitter = StratifiedGroupKFold if groups is not None else StratifiedKFold
            cv = splitter(cv, shuffle=True, random_state=self.random_state)
        cv = check_cv(cv, strata, classifier=True)
        return list(cv.split(np.zeros((len(y), 1)), strata, groups))

    def transform(self, X):
        """Concatenated branch outputs, then the passthrough columns.

        Parameters
        ----------
        X : DataFrame or array-like

        Returns
        -------
        DataFrame (for a DataFrame ``X``) or ndarray
        """
        check_is_fitted(self, "feature_names_out_")
        X = _as_input(X)
        outputs = [
            (name, getattr(self, f"{name}_").transform(_branch_input(X, name)))
            for name in BRANCHES
            if getattr(self, f"{name}_") is not None
        ]
        return self._concatenate(X, outputs, reset=False)

    def _concatenate(self, X, outputs, *, reset):
        blocks, names = [], []
        for name, output in outputs:
            if isinstance(output, pd.DataFrame):
                features = output.drop(columns=[c for c in output.columns if c in PASSTHROUGH])
                columns = [str(c) for c in features.columns]
                values = features.to_numpy()
            else:
                values = np.asarray(output).reshape(len(X), -1)
                columns = [f"{name}_{i}" for i in range(values.shape[1])]
            blocks.append(values)
            names.append((name, columns))
        flat = [c for _, columns in names for c in columns]
        if len(set(flat)) < len(flat):  # disambiguate clashing names by branch
            flat = [f"{name}__{c}" for name, columns in names for c in columns]
        if reset:
            self.feature_names_out_ = np.asarray(flat, dtype=object)
        Z = np.hstack(blocks)
        if not isinstance(X, pd.DataFrame):
            return Z
        frame = pd.DataFrame(Z, index=X.index, columns=self.feature_names_out_)
        for column in PASSTHROUGH:
            if column in X.columns:
                frame[column] = X[column].to_numpy()
        return frame

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # the branches' networks compute in float32
        return tags

    def get_feature_names_out(self, input_features=None):
        """The concatenated feature names (without passthrough columns)."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_
