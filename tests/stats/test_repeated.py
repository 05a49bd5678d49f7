import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcovid.stats import repeated_runs

X, Y = make_classification(n_samples=120, random_state=0)
FOREST = RandomForestClassifier(n_estimators=5, max_depth=3)


def test_held_out_scores_per_seed_and_t_interval():
    result = repeated_runs(FOREST, X[:80], Y[:80], seeds=[3, 1, 2], X_test=X[80:], y_test=Y[80:])
    for seed in (3, 1, 2):
        model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=seed)
        assert result.scores[seed] == model.fit(X[:80], Y[:80]).score(X[80:], Y[80:])
    scores = result.scores.to_numpy()
    half = stats.t.ppf(0.975, 2) * scores.std(ddof=1) / np.sqrt(3)
    assert (result.ci_low, result.ci_high) == pytest.approx((scores.mean() - half, scores.mean() + half))


def test_cv_keeps_folds_fixed_and_nested_seed_param():
    pipe = make_pipeline(StandardScaler(), FOREST)
    result = repeated_runs(pipe, X, Y, seeds=[0, 1], cv=3, scoring="roc_auc",
                           seed_param="randomforestclassifier__random_state")
    expected = cross_val_score(pipe.set_params(randomforestclassifier__random_state=1), X, Y,
                               cv=StratifiedKFold(3), scoring="roc_auc").mean()
    assert result.scores[1] == pytest.approx(expected)


def test_docstring_says_it_is_not_a_model_comparison():
    assert "not** a comparison between models" in repeated_runs.__doc__


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seeds": [0]}, "at least two seeds"),
        ({"seeds": [0, 1], "seed_param": "seed"}, "no parameter 'seed'.*random_state"),
        ({"seeds": [0, 1], "X_test": X}, "both X_test and y_test"),
        ({"seeds": [0, 1], "X_test": X, "y_test": Y, "cv": 3}, "not both"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        repeated_runs(FOREST, X, Y, **kwargs)
