"""Resample feature tables that carry ``modality`` and ``patient`` columns, one modality at a time."""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from ..utils._param_validation import check_estimator_params


class PerModalitySampler(BaseEstimator):
    """Run an imbalanced-learn sampler within each modality of a feature table.

    imbalanced-learn's samplers (SMOTE and the others) only accept numeric columns, so
    they fail on the ``modality`` and ``patient`` columns that travel with the features
    of the multi-modal pipeline. This sampler resamples the numeric columns of each
    modality's rows on their own (a synthetic row is interpolated between scans of one
    modality, so the per-modality feature blocks stay meaningful), keeps ``modality`` on
    every output row, keeps the ``patient`` of the real rows, and gives each synthetic
    row a patient id of its own (``"synthetic-<modality>-<i>"``) that matches no real
    patient, so that patient-grouped splits never mix a synthetic row with a real patient.

    It goes in an ``imblearn.pipeline.Pipeline`` right before the classifier head; like
    every sampler it acts during ``fit`` only.

    Parameters
    ----------
    sampler : imbalanced-learn sampler, default=None
        Any object with ``fit_resample(X, y)`` on numeric arrays (cloned for each
        modality); None means ``imblearn.over_sampling.SMOTE()``.
    modality_column : str, default="modality"
        Column that names each row's modality.
    patient_column : str or None, default="patient"
        Column of patient ids, given fresh ids on synthetic rows; None when there is none.

    Attributes
    ----------
    samplers_ : dict
        The fitted sampler of each modality.
    n_synthetic_ : dict
        Number of synthetic rows of each modality.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from imblearn.over_sampling import SMOTE
    >>> from skcovid.multimodal import PerModalitySampler
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame({"shared_0": rng.rand(12), "shared_1": rng.rand(12),
    ...                   "modality": ["xray"] * 6 + ["ct"] * 6,
    ...                   "patient": [f"p{i}" for i in range(12)]})
    >>> y = np.array(["COVID"] * 4 + ["Non_COVID"] * 2 + ["COVID"] * 3 + ["Non_COVID"] * 3)
    >>> sampler = PerModalitySampler(SMOTE(k_neighbors=1, random_state=0))
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> pd.crosstab(X_res["modality"], y_res).to_dict("index")
    {'ct': {'COVID': 3, 'Non_COVID': 3}, 'xray': {'COVID': 4, 'Non_COVID': 4}}
    >>> X_res.loc[~X_res["patient"].isin(X["patient"]), "patient"].tolist()
    ['synthetic-xray-0', 'synthetic-xray-1']

    In the multi-modal pipeline, between the features and the head::

        from imblearn.pipeline import Pipeline
        mtl = make_mtl_pipeline()
        pipe = Pipeline([*mtl.steps[:-1], ("resample", PerModalitySampler(SMOTE())),
                         mtl.steps[-1]])
    """

    _parameter_constraints = {
        "sampler": "no_validation",  # duck-typed: anything with fit_resample, checked in fit
        "modality_column": [str],
        "patient_column": [str, None],
    }

    def __init__(self, sampler=None, *, modality_column="modality", patient_column="patient"):
        self.sampler = sampler
        self.modality_column = modality_column
        self.patient_column = patient_column

    def _validate(self, X):
        if self.sampler is not None and not hasattr(self.sampler, "fit_resample"):
            raise ValueError(
                f"{type(self).__name__}: sampler must have fit_resample (an imbalanced-learn "
                f"sampler such as SMOTE()); got {self.sampler!r}."
            )
        check_estimator_params(self)
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"{type(self).__name__} needs a DataFrame with a {self.modality_column!r} "
                f"column; got {type(X).__name__}. Place it after a step that outputs a "
                "DataFrame (the 'features' step of make_mtl_pipeline does)."
            )
        passthrough = [c for c in (self.modality_column, self.patient_column) if c is not None]
        missing = [c for c in passthrough if c not in X.columns]
        if missing:
            raise ValueError(
                f"{type(self).__name__}: X has no column {missing[0]!r} (columns: "
                f"{list(X.columns)}); set modality_column/patient_column to its name "
                "(patient_column=None when there is none)."
            )
        numeric = [c for c in X.columns if c not in passthrough]
        other = [c for c in numeric if not pd.api.types.is_numeric_dtype(X[c])]
        if other:
            raise ValueError(
                f"{type(self).__name__}: column {other[0]!r} is not numeric "
                f"(dtype {X[other[0]].dtype}); only {passthrough} may hold other values. "
                "Drop or encode it before resampling."
            )
        return numeric

    def fit_resample(self, X, y):
        """Resample the rows of each modality with a clone of ``sampler``.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            Numeric feature columns plus the modality (and patient) columns.
        y : array-like of shape (n_samples,)
            Target.

        Returns
        -------
        X_resampled : DataFrame
            Real rows (with their patient ids) and synthetic ones, grouped by modality,
            with a fresh ``RangeIndex``.
        y_resampled : ndarray or Series
            Target of the output rows (a Series when ``y`` is one).
        """
        numeric = self._validate(X)
        y_values = np.asarray(y)
        if len(y_values) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y_values)}; pass one label per row.")
        modality = X[self.modality_column].to_numpy()
        real_patients = set() if self.patient_column is None else set(X[self.patient_column])
        values = X[numeric].to_numpy(dtype=np.float64)
        frames, targets = [], []
        self.samplers_, self.n_synthetic_ = {}, {}
        for group in pd.unique(modality):
            rows = np.flatnonzero(modality == group)
            labels = np.unique(y_values[rows])
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__}: modality {group!r} has only class {labels[0].item()!r} "
                    f"({len(rows)} rows); a sampler needs two classes in each modality. "
                    "Use a split that keeps both classes in every modality."
                )
            sampler = clone(self.sampler) if self.sampler is not None else _default_sampler()
            X_res, y_res = sampler.fit_resample(values[rows], y_values[rows])
            source = _source_rows(values[rows], np.asarray(X_res, dtype=np.float64))
            frame = pd.DataFrame(np.asarray(X_res), columns=numeric).astype(X[numeric].dtypes)
            frame[self.modality_column] = group
            synthetic = source < 0
            if self.patient_column is not None:
                patients = X[self.patient_column].to_numpy()[rows][np.maximum(source, 0)].astype(object)
                patients[synthetic] = _fresh_ids(f"synthetic-{group}-", synthetic.sum(), real_patients)
                frame[self.patient_column] = patients
            self.samplers_[group], self.n_synthetic_[group] = sampler, int(synthetic.sum())
            frames.append(frame[list(X.columns)])
            targets.append(np.asarray(y_res))
        X_out = pd.concat(frames, ignore_index=True)
        y_out = np.concatenate(targets)
        if isinstance(y, pd.Series):
            y_out = pd.Series(y_out, name=y.name)
        return X_out, y_out


def _default_sampler():
    from imblearn.over_sampling import SMOTE

    return SMOTE()


def _source_rows(original, resampled):
    """Index of the original row each resampled row copies, or -1 for a synthetic row."""
    index = {row.tobytes(): i for i, row in enumerate(original)}
    return np.array([index.get(row.tobytes(), -1) for row in resampled], dtype=int)


def _fresh_ids(prefix, count, taken):
    """``count`` ids ``prefix0, prefix1, ...`` skipping those in ``taken``."""
    ids, i = [], 0
    while len(ids) < count:
        candidate = f"{prefix}{i}"
        if candidate not in taken:
            ids.append(candidate)
        i += 1
    return ids
