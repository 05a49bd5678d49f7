import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.svm import LinearSVC

from skcovid.plotting import RocCurveDisplay
from skcovid.stats import auc_ci

from ._layout import assert_axes_labelled, assert_legend_off_the_data, assert_readable

RNG = np.random.RandomState(0)
Y = RNG.randint(2, size=200)
SCORE = Y * 0.8 + RNG.normal(size=200)


def test_from_predictions_puts_delong_ci_in_legend():
    display = RocCurveDisplay.from_predictions(Y, SCORE, name="MTL", plot_chance_level=True)
    low, high = auc_ci(Y, SCORE)
    auc = roc_auc_score(Y, SCORE)
    label = f"MTL (AUC = {auc:.3f}, 95% CI {low:.3f}-{high:.3f})"
    assert display.line_.get_label() == label
    legend = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert legend == [label, "Chance level (AUC = 0.5)"]
    assert len(display.ax_.lines) == 2 and display.figure_ is display.ax_.figure
    fpr, tpr, _ = roc_curve(Y, SCORE)
    np.testing.assert_allclose(display.line_.get_xdata(), fpr)
    np.testing.assert_allclose(display.line_.get_ydata(), tpr)
    assert display.roc_auc == pytest.approx(auc) and display.auc_ci == pytest.approx((low, high))


def test_overlaying_curves_and_no_ci():
    first = RocCurveDisplay.from_predictions(Y, SCORE, name="a")
    second = RocCurveDisplay.from_predictions(Y, -SCORE, name="b", ci=None, ax=first.ax_)
    assert second.ax_ is first.ax_ and len(first.ax_.lines) == 2
    assert "CI" not in second.line_.get_label()
    assert len(first.ax_.get_legend().get_texts()) == 2


def test_from_estimator_with_string_labels():
    X, y = make_classification(n_samples=120, random_state=0)
    labels = np.where(y == 1, "COVID", "Non_COVID")
    model = LogisticRegression(solver="liblinear").fit(X, labels)
    display = RocCurveDisplay.from_estimator(model, X, labels, pos_label="COVID")
    expected = roc_auc_score(y, model.predict_proba(X)[:, 0])
    assert display.roc_auc == pytest.approx(expected)
    assert display.line_.get_label().startswith("LogisticRegression (AUC")
    svc = LinearSVC().fit(X, labels)  # decision_function, positive class first
    display = RocCurveDisplay.from_estimator(svc, X, labels, pos_label="COVID")
    assert display.roc_auc == pytest.approx(roc_auc_score(y, -svc.decision_function(X)))
    with pytest.raises(ValueError, match="pos_label"):
        RocCurveDisplay.from_estimator(model, X, labels)


def test_errors():
    with pytest.raises(ValueError, match="only one class"):
        RocCurveDisplay.from_predictions(np.ones(5), np.arange(5.0))
    with pytest.raises(ValueError, match="binary classifier"):
        RocCurveDisplay.from_estimator(LogisticRegression(), np.ones((3, 2)), [0, 1, 0])


def _three_modality_curves(ax=None):
    rng = np.random.RandomState(0)
    y = np.where(rng.rand(300) < 0.5, "COVID", "Non_COVID")
    for name, shift in [("MTL (adversarial)", 1.5), ("task-specific only", 1.0), ("shared only", 0.6)]:
        display = RocCurveDisplay.from_predictions(
            y, (y == "COVID") * shift + rng.normal(size=300), pos_label="COVID", name=name, ax=ax)
        ax = display.ax_
    return display


def test_default_figure_reads_well_with_three_curves_and_cis():
    display = _three_modality_curves()
    assert len(display.ax_.get_legend().get_texts()) == 3
    assert_axes_labelled(display.ax_)
    assert_legend_off_the_data(display.ax_)
    assert_readable(display.figure_)


def test_side_by_side_panels_saved_tight_do_not_overlap(tmp_path):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 5))  # as the demo's roc.png
    for ax in axes:
        _three_modality_curves(ax)
        ax.set_title("ROC, xray (n = 300)")
    assert_readable(figure, inside=False)
    for ax in axes:
        assert_legend_off_the_data(ax)
    figure.savefig(tmp_path / "roc.png", bbox_inches="tight")  # the legends are kept
    assert plt.imread(tmp_path / "roc.png").shape[0] > figure.get_figheight() * figure.dpi
