"""audit_shortcuts on synthetic scans with planted shortcuts, and on the real covid-scans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcovid.audit import ShortcutAuditResult, audit_scan_folder, audit_shortcuts
from skcovid.datasets import make_synthetic_scans
from skcovid.embedders import TextureEmbedder


def _rows(result, check, **where):
    report = result.report[result.report["check"] == check]
    for column, value in where.items():
        report = report[report[column] == value]
    return report


def _with_source(n=200, *, share_b_covid=0.85, share_b_other=0.15, random_state=0):
    """Synthetic scans with a patient-level ``source``: B holds most COVID patients."""
    data = make_synthetic_scans(n, image_size=48, random_state=random_state)
    X, y = data.data.copy(), np.asarray(data.target)
    rng = np.random.RandomState(random_state)
    covid = pd.Series(y == "COVID", index=X.patient).groupby(level=0).first()
    in_b = {p: rng.rand() < (share_b_covid if c else share_b_other) for p, c in covid.items()}
    X["source"] = ["B" if in_b[p] else "A" for p in X.patient]
    return X, y


def _marked(X):
    """Source B stamps a white square in the corner, outside the lungs (a scanner's marker)."""
    images = []
    for image, source in zip(X["image"], X["source"]):
        image = image.copy()
        if source == "B":
            image[1:8, 1:8] = 255
        images.append(image)
    return X.assign(image=pd.Series(images, index=X.index, dtype=object))


def _embedder():
    return TextureEmbedder(image_size=48, cache=True)


@pytest.fixture(scope="module")
def clean_and_marked():
    X, y = _with_source()
    options = dict(embedder=_embedder(), n_bootstraps=200, random_state=0)
    return audit_shortcuts(X, y, **options), audit_shortcuts(_marked(X), y, **options), (X, y)


# ------------------------------------------------------------------ the label check


def test_an_attribute_aligned_with_the_label_in_one_modality_is_flagged_there_only():
    X, y = _with_source(160)
    xray = (X.modality == "xray").to_numpy()
    X.loc[xray, "source"] = np.where(y[xray] == "COVID", "adults", "children")
    X.loc[~xray, "source"] = "one_hospital"
    result = audit_shortcuts(X, y, checks=["label"], random_state=0)
    assert result.shortcut_attributes() == [("source", "xray")]
    row = _rows(result, "attribute_predicts_label", modality="xray").iloc[0]
    assert row.auc == 1.0 and row.ci_low > 0.95
    ct = _rows(result, "attribute_predicts_label", modality="ct").iloc[0]
    assert (ct.auc, ct.flagged) == (0.5, False) and "single value" in ct.note


def test_an_unrelated_attribute_is_not_flagged_and_its_ci_covers_chance():
    X, y = _with_source(200)
    X["source"] = np.random.RandomState(1).choice(["A", "B", "C"], len(X))
    result = audit_shortcuts(X, y, checks=["label"], random_state=0)
    rows = _rows(result, "attribute_predicts_label")
    assert not rows.flagged.any()
    assert (rows.ci_low < 0.5).all() and (rows.ci_high > 0.5).all()


def test_a_numeric_attribute_with_missing_values_is_binned():
    X, y = _with_source(200)
    rng = np.random.RandomState(0)
    X["age"] = np.where(y == "COVID", 60, 8) + rng.normal(0, 5, len(X))
    X.loc[X.index[::7], "age"] = np.nan
    result = audit_shortcuts(X, y, attributes="age", checks=["label"], random_state=0)
    assert result.shortcut_attributes() == [("age", "ct"), ("age", "xray")]


def test_the_label_check_groups_folds_by_patient():
    """A per-patient id predicts the label only if a patient's scans sit on both sides of a fold."""
    X, y = _with_source(200)
    X["patient_id"] = X["patient"]
    grouped = audit_shortcuts(X, y, attributes="patient_id", checks=["label"], random_state=0)
    per_scan = audit_shortcuts(X, y, attributes="patient_id", checks=["label"], groups=np.arange(len(X)),
                               random_state=0)
    assert not grouped.report.flagged.any()
    assert per_scan.report.auc.min() > grouped.report.auc.max() + 0.1


# ------------------------------------------------- embeddings, estimator and lung-mask checks


def test_a_marker_outside_the_lungs_survives_blanking_and_is_flagged(clean_and_marked):
    clean, marked, _ = clean_and_marked
    for modality in ("xray", "ct"):
        blanked = _rows(marked, "lungs_blanked", modality=modality, subset="lungs blanked").iloc[0]
        assert blanked.flagged and blanked.ci_low > 0.6
        clean_blanked = _rows(clean, "lungs_blanked", modality=modality, subset="lungs blanked").iloc[0]
        assert not clean_blanked.flagged and clean_blanked.ci_low < 0.6
        assert "own masks" in blanked.note


def test_embeddings_see_the_marked_source_within_each_class(clean_and_marked):
    clean, marked, _ = clean_and_marked
    within = _rows(marked, "embeddings_predict_attribute").query("subset != 'all' and auc == auc")
    assert len(within) >= 3 and within.flagged.all() and (within.auc > 0.95).all()
    assert not _rows(clean, "embeddings_predict_attribute").query("subset != 'all'").flagged.any()
    assert not _rows(marked, "embeddings_predict_attribute", subset="all").flagged.any()


def test_the_marked_model_is_worse_within_each_source(clean_and_marked):
    clean, marked, _ = clean_and_marked
    marked_source = _rows(marked, "estimator_by_value", attribute="source", subset="B")
    assert marked_source.flagged.all() and len(marked_source) == 2
    assert not _rows(clean, "estimator_by_value").flagged.any()


def test_scores_and_stratified_report(clean_and_marked):
    _, marked, (X, y) = clean_and_marked
    scores = marked.scores
    assert scores.index.equals(X.index)
    assert scores["score"].notna().all() and scores["score_lungs_blanked"].notna().all()
    groups = set(marked.stratified["group"])
    assert {"xray/source=A", "xray/source=B", "ct/source=A", "ct/source=B"} == groups


def test_a_scan_table_estimator_gives_the_default_models_scores(clean_and_marked):
    clean, _, (X, y) = clean_and_marked
    estimator = make_pipeline(_embedder().set_output(transform="default"), StandardScaler(),
                              LogisticRegression(C=0.1, max_iter=500))
    result = audit_shortcuts(X, y, estimator=estimator, embedder=_embedder(), checks=["estimator", "lungs"],
                             n_bootstraps=200, random_state=0)
    # the same folds and model; only float32 (in the pipeline) against float64 features differ
    np.testing.assert_allclose(result.scores["score"], clean.scores["score"], atol=1e-4)
    np.testing.assert_allclose(result.scores["score_lungs_blanked"], clean.scores["score_lungs_blanked"],
                               atol=1e-4)


def test_lung_mask_mean_when_only_one_class_has_masks():
    X, y = _with_source(120)
    X["mask"] = [m if label == "COVID" else None for m, label in zip(X["mask"], y)]
    result = audit_shortcuts(X, y, embedder=_embedder(), checks=["lungs"], n_bootstraps=100, random_state=0)
    blanked = _rows(result, "lungs_blanked", subset="lungs blanked")
    assert blanked.note.str.contains("mean of its").all()
    assert (blanked.n_scans == X.modality.value_counts().sort_index().to_numpy()).all()
    own = audit_shortcuts(X, y, embedder=_embedder(), checks=["lungs"], lung_mask="own", n_bootstraps=100,
                          random_state=0)
    assert _rows(own, "lungs_blanked").note.str.startswith("skipped").all()


# ------------------------------------------------------------------- the result object


def test_printout_and_plot(clean_and_marked):
    _, marked, _ = clean_and_marked
    text = str(marked)
    assert "Shortcut risk: 'source' predicts the label of xray scans on its own." in text
    assert text.count("FLAG") == marked.report.flagged.sum()
    ax = marked.plot()
    finite = marked.report.auc.notna()
    assert len(ax.get_yticklabels()) == finite.sum()
    red = [line for line in ax.lines if line.get_color() == "tab:red" and line.get_marker() == "o"]
    assert len(red) == (marked.report.flagged & finite).sum()


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"attributes": ("hospital",)}, r"attributes \['hospital'\] are not columns of X"),
        ({"checks": ["lungs", "gradcam"]}, "checks must be some of"),
        ({"groups": np.arange(3)}, "groups has 3 entries but X has"),
        ({"pos_label": "positive"}, "pos_label='positive' is not a label"),
        ({"flag_auc": 0.3}, "'flag_auc' parameter"),
    ],
)
def test_errors_name_the_culprit(kwargs, message):
    X, y = _with_source(40)
    with pytest.raises(ValueError, match=message):
        audit_shortcuts(X, y, **{"checks": ["label"], **kwargs})


def test_a_non_binary_target_is_refused():
    X, y = _with_source(40)
    with pytest.raises(ValueError, match="binary target; y has 3 classes"):
        audit_shortcuts(X, np.resize(["a", "b", "c"], len(X)), checks=["label"])


# ------------------------------------------------------------------------ the real data


@pytest.mark.real_data
def test_real_data_flags_the_xray_source_and_not_ct(real_data_dir):
    result = audit_scan_folder(real_data_dir, checks=["label"], random_state=0)
    assert isinstance(result, ShortcutAuditResult)
    assert result.shortcut_attributes() == [("source", "xray")]
    xray = _rows(result, "attribute_predicts_label", modality="xray").iloc[0]
    ct = _rows(result, "attribute_predicts_label", modality="ct").iloc[0]
    assert xray.ci_low > 0.8 and xray.n_scans == 715
    assert ct.ci_low < 0.5 < ct.ci_high and not ct.flagged


@pytest.mark.real_data
@pytest.mark.slow
def test_real_xrays_keep_their_auc_with_the_lungs_blanked(real_data_dir, request, tmp_path):
    # pytest's cache folder keeps the texture features between runs (a fresh folder without it)
    store = getattr(request.config, "cache", None)
    cache = store.mkdir("skcovid-texture") if store is not None else tmp_path
    result = audit_scan_folder(real_data_dir, modalities="xray",
                               embedder=TextureEmbedder(n_jobs=2, cache=cache),
                               checks=["label", "embeddings", "lungs"], random_state=0)
    within = _rows(result, "embeddings_predict_attribute").query("subset != 'all'")
    assert within.flagged.all() and (within.ci_low > 0.85).all()
    lungs = _rows(result, "lungs_blanked").set_index("subset")
    intact, blanked = lungs.loc["intact"], lungs.loc["lungs blanked"]
    retrained = lungs.loc["lungs blanked, retrained"]
    assert intact.n_scans == blanked.n_scans == retrained.n_scans == 715
    assert "mean of its 329 masks" in blanked.note
    # outside the lungs, the X-rays still give their label away
    assert retrained.flagged and retrained.ci_low > 0.8
