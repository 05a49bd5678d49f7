"""ModalityRouter: routing, order and index, nested parameters, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skcovid.multimodal import ModalityRouter


class Affine(TransformerMixin, BaseEstimator):
    """``scale * a + offset`` repeated ``width`` times; records the rows and targets it was fitted on."""

    def __init__(self, scale=1.0, offset=0.0, width=1):
        self.scale = scale
        self.offset = offset
        self.width = width

    def fit(self, X, y=None):
        self.rows_ = list(X.index)
        self.y_ = None if y is None else list(y)
        return self

    def transform(self, X):
        values = np.repeat(self.scale * X[["a"]].to_numpy() + self.offset, self.width, axis=1)
        return pd.DataFrame(values, index=X.index, columns=[f"f{i}" for i in range(self.width)])


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "modality": ["xray", "CT", "x-ray", "ct", "ct", "xray"],
            "patient": ["p1", "p1", "p2", "p3", "p4", "p4"],
        },
        index=["s5", "s1", "s4", "s0", "s3", "s2"],
    )


def test_fit_uses_each_modality_rows_and_transform_keeps_order(table):
    y = np.array(["COVID", "Non_COVID", "COVID", "COVID", "Non_COVID", "Non_COVID"])
    router = ModalityRouter({"xray": Affine(scale=1.0), "ct": Affine(scale=-10.0)}).fit(table, y)
    assert router.estimators_["xray"].rows_ == ["s5", "s4", "s2"]
    assert router.estimators_["ct"].rows_ == ["s1", "s0", "s3"]
    assert router.estimators_["ct"].y_ == ["Non_COVID", "COVID", "Non_COVID"]
    out = router.transform(table)
    assert out.index.equals(table.index)
    assert out["f0"].tolist() == [1.0, -20.0, 3.0, -40.0, -50.0, 6.0]
    assert out["modality"].tolist() == ["xray", "ct", "xray", "ct", "ct", "xray"]  # canonical names
    assert out["patient"].tolist() == table["patient"].tolist()
    pd.testing.assert_frame_equal(router.fit_transform(table, y), out)


def test_absent_modality_at_transform_is_fine(table):
    router = ModalityRouter({"xray": Affine(), "ct": Affine()}).fit(table)
    only_ct = table[table["modality"].str.lower() == "ct"]
    assert router.transform(only_ct).index.equals(only_ct.index)


def test_errors_name_the_modality(table):
    router = ModalityRouter({"xray": Affine(), "ct": Affine()}).fit(table)
    with pytest.raises(ValueError, match=r"modality \['mri'\].*knows \['xray', 'ct'\]"):
        router.transform(table.assign(modality=["xray", "mri", "ct", "ct", "ct", "xray"]))
    with pytest.raises(ValueError, match="'modality' column"):
        router.transform(table.drop(columns="modality"))
    with pytest.raises(ValueError, match="has no 'modality'"):
        router.transform(table.assign(modality=["xray", None, "ct", "ct", "ct", "xray"]))
    with pytest.raises(ValueError, match=r"No training rows of modality \['ct'\]"):
        ModalityRouter({"xray": Affine(), "ct": Affine()}).fit(table[table["modality"] == "xray"])
    with pytest.raises(ValueError, match="non-empty dict"):
        ModalityRouter([Affine()]).fit(table)


def test_different_widths_need_padding(table):
    router = ModalityRouter({"xray": Affine(width=3), "ct": Affine(width=2)})
    with pytest.raises(ValueError, match=r"different widths \{'xray': 3, 'ct': 2\}.*pad=True"):
        router.fit_transform(table)
    out = router.set_params(pad=True).fit_transform(table)
    assert list(out.columns) == ["f0", "f1", "f2", "modality", "patient"]
    ct = out["modality"] == "ct"
    assert (out.loc[ct, "f2"] == 0).all() and (out.loc[ct, "f1"] != 0).all()


def test_nested_parameters_and_clone(table):
    estimators = {"xray": Affine(), "ct": Affine()}
    router = ModalityRouter(estimators)
    params = router.get_params(deep=True)
    assert params["xray__scale"] == 1.0 and params["ct"] is estimators["ct"]
    router.set_params(xray__scale=3.0, pad=True)
    assert router.transformers["xray"].scale == 3.0 and router.pad
    replacement = Affine(offset=7.0)
    router.set_params(ct=replacement)
    assert router.transformers["ct"] is replacement and estimators["ct"] is not replacement  # no mutation
    copy = clone(router)
    assert copy.transformers["xray"] is not router.transformers["xray"]
    assert copy.get_params()["xray__scale"] == 3.0
    with pytest.raises(ValueError, match="Invalid parameter"):
        router.set_params(mri__scale=1.0)


def test_routes_classifiers(table):
    y = np.array(["COVID", "Non_COVID", "Non_COVID", "COVID", "Non_COVID", "COVID"])
    logistic = make_pipeline(make_column_transformer(("passthrough", ["a"])), LogisticRegression())
    router = ModalityRouter({"xray": logistic, "ct": logistic}).fit(table, y)
    proba = router.predict_proba(table)
    assert router.classes_.tolist() == ["COVID", "Non_COVID"]
    ct = (table["modality"].str.lower() == "ct").to_numpy()
    np.testing.assert_allclose(proba[ct], router.estimators_["ct"].predict_proba(table[ct]))
    assert router.predict(table).shape == (6,)
