import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone

from skcovid.multimodal import PerModalitySampler, make_mtl_pipeline

from ._helpers import make_embeddings


def _imbalanced_table(random_state=0):
    """xray: 30 COVID / 10 Non_COVID; ct: 8 COVID / 24 Non_COVID; float32 features."""
    rng = np.random.RandomState(random_state)
    counts = {("xray", "COVID"): 30, ("xray", "Non_COVID"): 10, ("ct", "COVID"): 8,
              ("ct", "Non_COVID"): 24}
    modality = np.concatenate([[m] * n for (m, _), n in counts.items()])
    y = np.concatenate([[label] * n for (_, label), n in counts.items()])
    X = pd.DataFrame(rng.randn(len(y), 3).astype(np.float32), columns=["f0", "f1", "f2"])
    X.loc[modality == "ct", "f0"] += 10.0  # the modalities are far apart on f0
    X["modality"] = modality
    X["patient"] = [f"p{i}" for i in range(len(y))]
    order = rng.permutation(len(y))
    return X.iloc[order].set_index(pd.Index(order + 500)), y[order]


def test_smote_balances_each_modality_and_names_synthetic_patients():
    X, y = _imbalanced_table()
    X_res, y_res = PerModalitySampler(SMOTE(random_state=0)).fit_resample(X, y)
    counts = pd.crosstab(X_res["modality"], y_res)
    assert counts.to_dict("index") == {"ct": {"COVID": 24, "Non_COVID": 24},
                                       "xray": {"COVID": 30, "Non_COVID": 30}}
    assert list(X_res.columns) == list(X.columns) and (X_res.dtypes == X.dtypes).all()
    real = X_res["patient"].isin(X["patient"])
    assert real.sum() == len(X)  # every real row kept with its own patient id ...
    merged = X_res[real].merge(X, on="patient", suffixes=("", "_orig"))
    np.testing.assert_array_equal(merged[["f0", "f1", "f2"]], merged[["f0_orig", "f1_orig", "f2_orig"]])
    assert (merged["modality"] == merged["modality_orig"]).all()
    synthetic = X_res[~real]  # ... and each synthetic row has a unique id naming its modality
    assert synthetic["patient"].is_unique and len(synthetic) == 20 + 16
    assert all(p.startswith(f"synthetic-{m}-") for p, m in zip(synthetic["patient"], synthetic["modality"]))
    # interpolated within a modality: synthetic CT rows stay on the CT side of f0
    assert (synthetic.loc[synthetic["modality"] == "ct", "f0"] > 5).all()
    assert (synthetic.loc[synthetic["modality"] == "xray", "f0"] < 5).all()
    assert PerModalitySampler(SMOTE(random_state=0)).fit_resample(X, y)[0].equals(X_res)


def test_synthetic_ids_skip_real_patient_ids_and_series_target():
    X, y = _imbalanced_table()
    X["patient"] = X["patient"].where(X["modality"] != "ct", "synthetic-ct-0")
    sampler = PerModalitySampler(SMOTE(random_state=0))
    X_res, y_res = sampler.fit_resample(X, pd.Series(y, name="label"))
    ct_patients = X_res.loc[X_res["modality"] == "ct", "patient"]
    assert (ct_patients == "synthetic-ct-0").sum() == 32  # only the 32 real CT rows carry that id
    assert ct_patients.str.startswith("synthetic-ct-").sum() == 32 + 16
    assert sampler.n_synthetic_ == {"xray": 20, "ct": 16}
    assert isinstance(y_res, pd.Series) and y_res.name == "label"


def test_under_sampler_keeps_real_rows_only_and_no_patient_column():
    X, y = _imbalanced_table()
    X = X.drop(columns="patient")
    sampler = PerModalitySampler(RandomUnderSampler(random_state=0), patient_column=None)
    X_res, y_res = sampler.fit_resample(X, y)
    assert pd.crosstab(X_res["modality"], y_res).to_dict("index") == {
        "ct": {"COVID": 8, "Non_COVID": 8}, "xray": {"COVID": 10, "Non_COVID": 10}}
    assert sampler.n_synthetic_ == {"xray": 0, "ct": 0}
    assert X_res.merge(X, how="left", indicator=True)["_merge"].eq("both").all()  # real rows only
    assert "patient" not in X_res


def test_default_sampler_is_smote_and_errors_name_the_culprit():
    X, y = _imbalanced_table()
    sampler = PerModalitySampler()
    sampler.fit_resample(X, y)
    assert {type(s).__name__ for s in sampler.samplers_.values()} == {"SMOTE"}
    assert clone(sampler).get_params()["sampler"] is None
    with pytest.raises(ValueError, match="fit_resample"):
        PerModalitySampler("smote").fit_resample(X, y)
    with pytest.raises(ValueError, match="no column 'patient'"):
        PerModalitySampler().fit_resample(X.drop(columns="patient"), y)
    with pytest.raises(ValueError, match="column 'site' is not numeric"):
        PerModalitySampler().fit_resample(X.assign(site="A"), y)
    with pytest.raises(TypeError, match="needs a DataFrame"):
        PerModalitySampler().fit_resample(X[["f0", "f1"]].to_numpy(), y)
    only_covid = np.where(X["modality"] == "ct", "COVID", y)
    with pytest.raises(ValueError, match="modality 'ct' has only class 'COVID'"):
        PerModalitySampler().fit_resample(X, only_covid)


def test_inside_imblearn_pipeline_before_the_head():
    X, y = make_embeddings(n=160, n_features=8, random_state=0)
    # drop most Non_COVID X-ray scans so that the X-ray rows are imbalanced
    xray_non_covid = np.flatnonzero((X["modality"] == "xray").to_numpy() & (y == "Non_COVID"))
    keep = np.setdiff1d(np.arange(len(y)), xray_non_covid[10:])
    X, y = X.iloc[keep], y[keep]
    mtl = make_mtl_pipeline(embedder=None, task_hidden=(4,), shared_hidden=(4,), head_hidden=(4,),
                            max_epochs=2, cv=2, device="cpu", random_state=0)
    pipe = Pipeline([*mtl.steps[:-1], ("resample", PerModalitySampler(SMOTE(random_state=0))),
                     ("head", mtl.steps[-1][1])])
    pipe.fit(X, y)
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(pipe.predict(X)) <= {"COVID", "Non_COVID"}
    # the head was trained on rows balanced within each modality: SMOTE added the gap
    counts = pd.crosstab(X["modality"].to_numpy(), y)
    gap = (counts["COVID"] - counts["Non_COVID"]).abs().to_dict()
    assert gap["xray"] > 20 and pipe.named_steps["resample"].n_synthetic_ == gap
