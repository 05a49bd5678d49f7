import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.datasets import make_classification
from sklearn.metrics import brier_score_loss
from sklearn.naive_bayes import GaussianNB
from sklearn.svm import LinearSVC

from skcovid.plotting import CalibrationDisplay

from ._layout import assert_axes_labelled, assert_legend_off_the_data, assert_readable

RNG = np.random.RandomState(0)
PROBA = RNG.rand(400)
Y = (RNG.rand(400) < PROBA ** 1.5).astype(int)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_bins_equal_sklearn_calibration_curve(strategy):
    display = CalibrationDisplay.from_predictions(Y, PROBA, n_bins=8, strategy=strategy)
    prob_true, prob_pred = calibration_curve(Y, PROBA, n_bins=8, strategy=strategy)
    np.testing.assert_allclose(display.prob_true, prob_true)
    np.testing.assert_allclose(display.prob_pred, prob_pred)
    assert display.counts.sum() == 400
    assert np.all(display.ci_low <= display.prob_true) and np.all(display.prob_true <= display.ci_high)


def test_legend_and_lines():
    display = CalibrationDisplay.from_predictions(Y, PROBA, name="MTL")
    brier = brier_score_loss(Y, PROBA)
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert sorted(legend) == [f"MTL (Brier = {brier:.3f})", "Perfectly calibrated"]
    assert display.brier == pytest.approx(brier)
    np.testing.assert_allclose(display.line_.get_ydata(), display.prob_true)
    no_ci = CalibrationDisplay.from_predictions(Y, PROBA, ci=None, ref_line=False, ax=display.ax_)
    assert no_ci.ci_low is None and no_ci.ax_ is display.ax_


def test_wilson_interval_covers_a_known_case():
    # one bin holding 10 samples with 5 positives: Wilson 95 % interval (0.237, 0.763)
    y = np.r_[np.ones(5), np.zeros(5)].astype(int)
    display = CalibrationDisplay.from_predictions(y, np.full(10, 0.5), n_bins=1)
    assert display.ci_low[0] == pytest.approx(0.2366, abs=1e-4)
    assert display.ci_high[0] == pytest.approx(0.7634, abs=1e-4)


def test_from_estimator_and_errors():
    X, y = make_classification(n_samples=150, random_state=0)
    model = GaussianNB().fit(X, y)
    display = CalibrationDisplay.from_estimator(model, X, y, n_bins=5)
    expected, _ = calibration_curve(y, model.predict_proba(X)[:, 1], n_bins=5)
    np.testing.assert_allclose(display.prob_true, expected)
    with pytest.raises(ValueError, match="predict_proba"):
        CalibrationDisplay.from_estimator(LinearSVC().fit(X, y), X, y)
    with pytest.raises(ValueError, match="within \\[0, 1\\]"):
        CalibrationDisplay.from_predictions(y, X[:, 0])
    with pytest.raises(ValueError, match="'strategy' parameter"):
        CalibrationDisplay.from_predictions(y, np.full(150, 0.5), strategy="kmeans")


def test_default_figure_reads_well():
    display = CalibrationDisplay.from_predictions(Y, PROBA, name="MTL (adversarial)")
    assert_axes_labelled(display.ax_)
    assert_legend_off_the_data(display.ax_)
    assert_readable(display.figure_)
