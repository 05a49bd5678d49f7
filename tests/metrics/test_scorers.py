import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer, precision_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, cross_validate

from skcovid.metrics import (
    get_scorer,
    npv_scorer,
    sensitivity_score,
    sensitivity_scorer,
    specificity_score,
    specificity_scorer,
)

X, Y = make_classification(n_samples=120, weights=[0.6], random_state=0)
CV = StratifiedKFold(3, shuffle=True, random_state=0)


def test_names_resolve_to_skcovid_scorers():
    assert get_scorer("sensitivity") is sensitivity_scorer
    assert get_scorer("specificity") is specificity_scorer
    assert get_scorer("npv") is npv_scorer
    assert get_scorer(sensitivity_scorer) is sensitivity_scorer


def test_falls_back_to_sklearn_and_rejects_unknown_names():
    model = LogisticRegression(solver="liblinear").fit(X, Y)
    assert get_scorer("roc_auc")(model, X, Y) > 0.5
    with pytest.raises(ValueError, match="'sensitivty' is not a known scorer.*'sensitivity'"):
        get_scorer("sensitivty")


def test_grid_search_by_name_via_get_scorer():
    search = GridSearchCV(LogisticRegression(solver="liblinear"), {"C": [0.01, 1.0]}, cv=CV,
                          scoring=get_scorer("specificity")).fit(X, Y)
    manual = []
    for train, test in CV.split(X, Y):
        model = LogisticRegression(C=search.best_params_["C"], solver="liblinear").fit(X[train], Y[train])
        manual.append(recall_score(Y[test], model.predict(X[test]), pos_label=0))
    assert search.best_score_ == pytest.approx(np.mean(manual))


def test_scorer_objects_in_cross_validate():
    scores = cross_validate(LogisticRegression(solver="liblinear"), X, Y, cv=CV,
                            scoring={"sens": sensitivity_scorer, "npv": get_scorer("npv")})
    expected = cross_val_score(LogisticRegression(solver="liblinear"), X, Y, cv=CV, scoring="recall")
    np.testing.assert_allclose(scores["test_sens"], expected)
    assert np.all((scores["test_npv"] >= 0) & (scores["test_npv"] <= 1))


def test_string_labels_with_pos_label():
    y = np.where(Y == 1, "COVID", "Non_COVID")
    scorer = make_scorer(sensitivity_score, pos_label="COVID")
    search = GridSearchCV(LogisticRegression(solver="liblinear"), {"C": [0.1, 1.0]}, cv=CV,
                          scoring=scorer).fit(X, y)
    best = LogisticRegression(C=search.best_params_["C"], solver="liblinear")
    expected = cross_val_score(best, X, Y, cv=CV, scoring="recall")
    assert search.best_score_ == pytest.approx(expected.mean())
    # the default scorer takes 1 as positive and says how to fix it
    search = GridSearchCV(LogisticRegression(solver="liblinear"), {"C": [1.0]}, cv=CV,
                          scoring=make_scorer(specificity_score), error_score="raise")
    with pytest.raises(ValueError, match="pos_label"):
        search.fit(X, y)


def test_scorers_take_covid_as_positive_in_cross_validate():
    y = np.where(Y == 1, "COVID", "Non_COVID")
    scoring = {name: get_scorer(name) for name in ("sensitivity", "specificity", "npv")}
    scores = cross_validate(LogisticRegression(solver="liblinear"), X, y, cv=CV, scoring=scoring,
                            error_score="raise")
    expected = {
        "sensitivity": make_scorer(recall_score, pos_label="COVID"),
        "specificity": make_scorer(recall_score, pos_label="Non_COVID"),
        "npv": make_scorer(precision_score, pos_label="Non_COVID"),
    }
    reference = cross_validate(LogisticRegression(solver="liblinear"), X, y, cv=CV,
                               scoring=expected)
    for name in scoring:
        assert not np.isnan(scores[f"test_{name}"]).any()
        np.testing.assert_allclose(scores[f"test_{name}"], reference[f"test_{name}"])


def test_multiclass_scorer_is_covid_against_the_rest():
    rng = np.random.RandomState(0)
    y = rng.choice(["COVID", "Normal", "Pneumonia"], size=150)
    X3 = rng.normal(size=(150, 4)) + (y == "COVID")[:, None]
    model = LogisticRegression().fit(X3, y)
    assert sensitivity_scorer(model, X3, y) == pytest.approx(
        recall_score(y == "COVID", model.predict(X3) == "COVID"))
    assert specificity_scorer(model, X3, y) == pytest.approx(
        recall_score(y != "COVID", model.predict(X3) != "COVID"))


def test_scorer_without_a_known_positive_class_says_how_to_fix():
    y = np.where(Y == 1, "Pneumonia", "Normal")
    model = LogisticRegression(solver="liblinear").fit(X, y)
    with pytest.raises(ValueError, match=r"make_scorer\(sensitivity_score, pos_label='Normal'\)"):
        sensitivity_scorer(model, X, y)
