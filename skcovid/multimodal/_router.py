"""ModalityRouter: one estimator per modality, rows routed by their ``modality`` column."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._tabular import PASSTHROUGH, FrameOutputMixin, canonical_modalities


def _all_estimators_have(method):
    def check(router):
        estimators = getattr(router, "estimators_", None) or router.transformers
        return all(hasattr(est, method) for est in estimators.values())

    return check


def _feature_block(output, estimator):
    """(values, column names) of an estimator's output, without passthrough columns."""
    if isinstance(output, pd.DataFrame):
        features = output.drop(columns=[c for c in output.columns if c in PASSTHROUGH])
        return features.to_numpy(), [str(c) for c in features.columns]
    values = np.asarray(output)
    values = values.reshape(len(values), -1)
    try:
        names = [str(n) for n in estimator.get_feature_names_out()]
    except (AttributeError, TypeError, ValueError):
        names = []
    if len(names) != values.shape[1]:
        names = [f"feature_{i}" for i in range(values.shape[1])]
    return values, names


def _block_name(name, modality):
    """``task_3`` of modality ``xray`` is ``task_xray_3``; a name without ``_`` gets ``_xray``."""
    head, sep, tail = name.partition("_")
    return f"{head}_{modality}_{tail}" if sep else f"{name}_{modality}"


class ModalityRouter(FrameOutputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Route each row to the estimator of its modality; reassemble the outputs in order.

    A meta-estimator holding one estimator per modality (``{"xray": ..., "ct": ...}``).
    ``fit`` fits a clone of each on the rows of its modality only (with their ``y``);
    ``transform`` sends each row to its modality's fitted estimator and puts the results
    back in the original row order, with the original index. Modality names are
    canonicalised ("X-Ray" is "xray"). The ``modality`` (and ``patient``) columns are passed
    through.

    Nested parameters are reachable as ``<modality>__<parameter>`` (e.g.
    ``router.set_params(xray__max_epochs=5)``, or ``embed__xray__backbone`` inside a
    ``Pipeline``), and a whole estimator is replaced with ``set_params(xray=...)``.

    Parameters
    ----------
    transformers : dict of {str: estimator}
        One estimator per modality.
    modality_column : str, default="modality"
        The column of ``X`` holding each row's modality.
    pad : bool, default=False
        With ``layout="stack"``, when the estimators' outputs have different widths: False
        raises an error naming them; True zero-pads the narrower outputs to the widest
        (whose column names are used).
    layout : {"stack", "block"}, default="stack"
        ``"stack"``: every modality's output in the same columns. ``"block"``: each
        modality's output in its own columns, named with the modality after the first
        ``_`` (``task_3`` of the X-ray estimator becomes ``task_xray_3``), zero for the rows
        of other modalities; a model reading them then knows which modality each value
        comes from. Outputs of any widths are fine.

    Attributes
    ----------
    estimators_ : dict of {str: estimator}
        The fitted clones, by modality.
    classes_ : ndarray
        Sorted union of the estimators' ``classes_`` (when they are classifiers).

    Examples
    --------
    Every column of ``X`` (``modality`` and ``patient`` included) reaches the estimators, as
    skcovid's embedders and extractors expect; wrap a plain scikit-learn transformer in a
    ``ColumnTransformer`` to select its columns.

    >>> import pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skcovid.multimodal import ModalityRouter
    >>> X = pd.DataFrame({"a": [1.0, 10.0, 3.0, 30.0], "modality": ["xray", "ct", "X-Ray", "ct"]},
    ...                  index=[10, 11, 12, 13])
    >>> scale = make_column_transformer((StandardScaler(), ["a"]))
    >>> ModalityRouter({"xray": scale, "ct": scale}).fit_transform(X)
        standardscaler__a modality
    10               -1.0     xray
    11               -1.0       ct
    12                1.0     xray
    13                1.0       ct
    """

    def __init__(self, transformers, *, modality_column="modality", pad=False, layout="stack"):
        self.transformers = transformers
        self.modality_column = modality_column
        self.pad = pad
        self.layout = layout

    # -- parameters ---------------------------------------------------------------------
    def get_params(self, deep=True):
        """Parameters; with ``deep``, also each modality's estimator and its parameters."""
        params = super().get_params(deep=False)
        if deep and isinstance(self.transformers, dict):
            for name, estimator in self.transformers.items():
                params[name] = estimator
                if hasattr(estimator, "get_params"):
                    for key, value in estimator.get_params(deep=True).items():
                        params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters: own ones, ``<modality>=estimator`` or ``<modality>__<param>``."""
        if "transformers" in params:
            self.transformers = params.pop("transformers")
        names = set(self.transformers) if isinstance(self.transformers, dict) else set()
        replaced = {key: params.pop(key) for key in list(params) if key in names}
        if replaced:
            self.transformers = {**self.transformers, **replaced}
        if params:
            super().set_params(**params)
        return self

    # -- validation ---------------------------------------------------------------------
    def _routes(self):
        """{canonical modality: key of transformers}."""
        if not isinstance(self.transformers, dict) or not self.transformers:
            raise ValueError(
                "transformers must be a non-empty dict {modality: estimator}, e.g. "
                f"{{'xray': ..., 'ct': ...}}; got {self.transformers!r}."
            )
        own = set(super().get_params(deep=False))
        bad = [k for k in self.transformers if not isinstance(k, str) or "__" in k or k in own]
        if bad:
            raise ValueError(
                f"Invalid modality names {bad}: use strings without '__' other than {sorted(own)}."
            )
        keys = list(self.transformers)
        canonical = canonical_modalities(keys)
        if len(set(canonical)) < len(keys):
            raise ValueError(f"transformers names the same modality twice: {keys}.")
        return dict(zip(canonical, keys))

    def _modalities(self, X, routes):
        if not isinstance(X, pd.DataFrame) or self.modality_column not in X.columns:
            got = list(X.columns) if isinstance(X, pd.DataFrame) else type(X).__name__
            raise ValueError(
                f"ModalityRouter needs a DataFrame with a {self.modality_column!r} column to route rows "
                f"(got {got}); load scans with skcovid.datasets.load_scan_folder or add the column."
            )
        column = X[self.modality_column]
        if column.isna().any():
            row = X.index[int(np.flatnonzero(column.isna().to_numpy())[0])]
            raise ValueError(
                f"Row {row!r} has no {self.modality_column!r}; every row needs one of {list(routes)}."
            )
        modalities = canonical_modalities(column.to_numpy())
        unknown = sorted(set(modalities) - set(routes))
        if unknown:
            raise ValueError(
                f"X has rows of modality {unknown} but the router only knows {list(routes)}; add an "
                f"estimator for it (transformers={{..., {unknown[0]!r}: ...}}) or drop those rows."
            )
        return modalities

    def _parts(self, X, routes):
        """[(key, positions)] for the modalities present in X."""
        modalities = self._modalities(X, routes)
        parts = [(key, np.flatnonzero(modalities == canonical)) for canonical, key in routes.items()]
        return modalities, [(key, positions) for key, positions in parts if len(positions)]

    # -- fitting and routing ------------------------------------------------------------
    def _fit(self, X, y, method):
        routes = self._routes()
        modalities, parts = self._parts(X, routes)
        present = {key for key, _ in parts}
        missing = [key for key in routes.values() if key not in present]
        if missing:
            raise ValueError(
                f"No training rows of modality {missing} (X has {sorted(set(modalities))}); an estimator "
                "cannot be fitted without rows: remove it from transformers or add rows."
            )
        y = None if y is None else np.asarray(y)
        if y is not None and len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} entries.")
        self.estimators_, outputs = {}, []
        if hasattr(self, "block_widths_"):
            del self.block_widths_
        for key, positions in parts:
            estimator = clone(self.transformers[key])
            rows, target = X.iloc[positions], None if y is None else y[positions]
            if method == "fit":
                estimator.fit(rows, target)
            else:
                outputs.append((key, positions, estimator.fit_transform(rows, target)))
            self.estimators_[key] = estimator
        classes = [getattr(est, "classes_", None) for est in self.estimators_.values()]
        if all(c is not None for c in classes):
            self.classes_ = np.unique(np.concatenate(classes))
        return outputs

    def fit(self, X, y=None):
        """Fit a clone of each modality's estimator on that modality's rows.

        Parameters
        ----------
        X : DataFrame
            Rows with a modality column; every modality of ``transformers`` must be present.
        y : array-like of shape (n_samples,), optional
            Targets; each estimator gets those of its rows.

        Returns
        -------
        self : ModalityRouter
        """
        if self.layout == "block":  # the block layout is learnt from the outputs' widths
            self.fit_transform(X, y)
        else:
            self._fit(X, y, "fit")
        return self

    def fit_transform(self, X, y=None):
        """Fit, and transform the training rows (each estimator's ``fit_transform``)."""
        return self._assemble(X, self._fit(X, y, "fit_transform"))

    def transform(self, X):
        """Transform each row with its modality's estimator, in the original order.

        A modality absent from ``X`` is fine; one without an estimator is an error.

        Parameters
        ----------
        X : DataFrame

        Returns
        -------
        DataFrame
            The estimators' output columns, then ``modality`` (canonical) and ``patient``
            when ``X`` has them, with ``X``'s index.
        """
        check_is_fitted(self, "estimators_")
        _, parts = self._parts(X, self._routes())
        outputs = [(key, pos, self.estimators_[key].transform(X.iloc[pos])) for key, pos in parts]
        return self._assemble(X, outputs)

    def _assemble(self, X, outputs):
        blocks = {
            key: (positions, *_feature_block(out, self.estimators_[key])) for key, positions, out in outputs
        }
        if self.layout == "block":
            return self._assemble_blocks(X, blocks)
        if self.layout != "stack":
            raise ValueError(f"layout must be 'stack' or 'block'; got {self.layout!r}.")
        widths = {key: values.shape[1] for key, (_, values, _) in blocks.items()}
        if len(set(widths.values())) > 1 and not self.pad:
            raise ValueError(
                f"The modalities' outputs have different widths {widths}; use estimators with equal output "
                "widths, or ModalityRouter(..., pad=True) to zero-pad the narrower ones."
            )
        widest = max(blocks, key=lambda key: widths[key])
        dtype = np.result_type(*[values.dtype for _, values, _ in blocks.values()])
        Z = np.zeros((len(X), widths[widest]), dtype=dtype)
        for positions, values, _ in blocks.values():
            Z[positions, : values.shape[1]] = values
        return self._frame(X, Z, blocks[widest][2])

    def _assemble_blocks(self, X, blocks):
        """One block of columns per fitted modality (in ``transformers`` order), zero elsewhere."""
        if not hasattr(self, "block_widths_"):  # fitting: remember the blocks for transform
            self.block_widths_ = {key: (values.shape[1], names) for key, (_, values, names) in blocks.items()}
        dtype = np.result_type(np.float32, *[values.dtype for _, values, _ in blocks.values()])
        columns, offsets, start = [], {}, 0
        for key, (width, names) in self.block_widths_.items():
            offsets[key] = start
            columns += [_block_name(name, canonical_modalities([key])[0]) for name in names]
            start += width
        Z = np.zeros((len(X), start), dtype=dtype)
        for key, (positions, values, _) in blocks.items():
            Z[positions, offsets[key] : offsets[key] + values.shape[1]] = values
        return self._frame(X, Z, columns)

    def _frame(self, X, Z, columns):
        frame = pd.DataFrame(Z, index=X.index, columns=columns)
        for column in PASSTHROUGH:
            if column in X.columns:
                frame[column] = X[column].to_numpy()
        if self.modality_column in X.columns:
            frame["modality"] = canonical_modalities(X[self.modality_column].to_numpy())
        return frame

    # -- classifiers ------------------------------------------------------------------------
    @available_if(_all_estimators_have("predict_proba"))
    def predict_proba(self, X):
        """Each row's class probabilities from its modality's classifier (columns: ``classes_``)."""
        check_is_fitted(self, "estimators_")
        _, parts = self._parts(X, self._routes())
        proba = np.zeros((len(X), len(self.classes_)))
        for key, positions in parts:
            estimator = self.estimators_[key]
            columns = np.searchsorted(self.classes_, estimator.classes_)
            proba[np.ix_(positions, columns)] = estimator.predict_proba(X.iloc[positions])
        return proba

    @available_if(_all_estimators_have("predict"))
    def predict(self, X):
        """Each row's prediction from its modality's estimator."""
        check_is_fitted(self, "estimators_")
        _, parts = self._parts(X, self._routes())
        out = np.empty(len(X), dtype=object)
        for key, positions in parts:
            out[positions] = self.estimators_[key].predict(X.iloc[positions])
        return np.asarray(out.tolist())
